"""Thermal noise: amplitude, independence of the field, determinism."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tiaug.functional import NoiseConfig
from tiaug.functional import thermal_noise as _thermal_noise
from tiaug.functional.noise import TEXTURE_PIXELS, TEXTURE_SIZE


def thermal_noise(image: np.ndarray, rng: np.random.Generator, *netd: float, exact: bool = False) -> tuple:
    """(image, params) of the one-call function with a NETD range (min, max) when given."""
    config = NoiseConfig(*netd, exact=exact) if netd else NoiseConfig(exact=exact)
    out, mask, params = _thermal_noise(image, rng=rng, config=config)
    assert mask is None
    return out, params


@settings(max_examples=30, deadline=None)
@given(netd=st.floats(0.01, 0.2), seed=st.integers(0, 2**32 - 1), exact=st.booleans())
def test_noise_std_matches_netd(netd: float, seed: int, exact: bool) -> None:
    image = np.full((128, 160), 30.0, np.float32)
    out, params = thermal_noise(image, np.random.default_rng(seed), netd, netd, exact=exact)
    residual = (out - image).astype(np.float64)
    assert params["netd"] == pytest.approx(netd)
    assert residual.std() == pytest.approx(netd, rel=0.05)
    # unbiased: within 5 standard errors (4 was exceeded by one of the texture's windows, seed 880, netd 0.125)
    assert abs(residual.mean()) < 5 * netd / np.sqrt(residual.size)
    # white: neighbouring pixels uncorrelated
    correlation = np.corrcoef(residual[:, :-1].ravel(), residual[:, 1:].ravel())[0, 1]
    assert abs(correlation) < 0.03


def test_netd_drawn_within_range_and_seeded() -> None:
    image = np.full((32, 32), 25.0)
    draws = [thermal_noise(image, np.random.default_rng(s), 0.02, 0.08)[1]["netd"] for s in range(200)]
    assert min(draws) >= 0.02 and max(draws) <= 0.08 and np.std(draws) > 0.01
    a, _ = thermal_noise(image, np.random.default_rng(7))
    b, _ = thermal_noise(image, np.random.default_rng(7))
    c, _ = thermal_noise(image, np.random.default_rng(8))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_images_larger_than_texture_use_a_fresh_field() -> None:
    image = np.zeros((TEXTURE_SIZE + 1, TEXTURE_SIZE), np.float32)
    assert image.size > TEXTURE_PIXELS
    out, params = thermal_noise(image, np.random.default_rng(0), 0.1, 0.1)
    assert params["window"]["exact"] is True
    assert out.std() == pytest.approx(0.1, rel=0.1)


def test_input_not_modified() -> None:
    image = np.full((16, 16), 30.0, np.float32)
    thermal_noise(image, np.random.default_rng(0))
    assert np.all(image == 30.0)
