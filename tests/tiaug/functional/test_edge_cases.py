"""Decided edge cases and refused inputs of the functional core."""

from __future__ import annotations

import numpy as np
import pytest

from tests.helpers.strategies import thermal_face
from tiaug.functional import OcclusionConfig, occlude, occluded_pixels, sample_occlusion, thermal_noise


def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def test_constant_image_gets_visible_occluders_within_min_span() -> None:
    image = np.full((64, 80), 30.0, np.float32)
    config = OcclusionConfig(temperature_relation="any", texture_std=0.0)
    out, _, params = occlude(image, None, rng=rng(1), config=config)
    assert params["face_area_source"] == "whole_image"
    assert params["temperature_band"] == [29.0, 31.0]  # Tmin/Tmax -+ min_temperature_span (1 C)
    plan = sample_occlusion(image, None, rng(1), config)
    covered = occluded_pixels(plan, image.shape)
    assert covered.any()
    assert np.all((out[covered] >= 29.0) & (out[covered] <= 31.0))
    assert np.any(out[covered] != 30.0)


def test_mask_without_foreground_falls_back_to_warm_pixel_estimate() -> None:
    image, mask = thermal_face(64, 80, seed=3)
    _, new_mask, params = occlude(image, np.zeros_like(mask), rng=rng())
    assert params["face_area_source"] == "warm_pixels"
    assert 0 < params["face_area_px"] < image.size
    assert not new_mask.any()


def test_no_mask_estimates_face_as_warm_half_of_range() -> None:
    image, mask = thermal_face(96, 128, seed=4)
    _, new_mask, params = occlude(image, None, rng=rng())
    assert new_mask is None
    assert params["face_area_source"] == "warm_pixels"
    # the warm-pixel estimate of this synthetic face is close to the true face area
    assert params["face_area_px"] == pytest.approx(mask.sum(), rel=0.1)


@pytest.mark.parametrize("shape", [(1, 1), (2, 3), (5, 4)])
def test_tiny_images(shape: tuple[int, int]) -> None:
    image = np.linspace(20, 35, shape[0] * shape[1], dtype=np.float32).reshape(shape)
    out, _, params = occlude(image, None, rng=rng())
    assert out.shape == shape and np.isfinite(out).all()
    assert params["occluders"]


def test_channel_last_and_float64_preserved() -> None:
    image, mask = thermal_face(40, 50, seed=5, dtype=np.float64)
    out, new_mask, _ = occlude(image[:, :, None], mask[:, :, None], rng=rng(), mask_policy="ignore")
    assert out.shape == (40, 50, 1) and out.dtype == np.float64
    assert new_mask.shape == (40, 50, 1) and new_mask.dtype == np.uint8
    noisy, _, _ = thermal_noise(image[:, :, None], rng=rng())
    assert noisy.shape == (40, 50, 1) and noisy.dtype == np.float64


@pytest.mark.parametrize(
    ("image", "message"),
    [
        (np.full((8, 8), np.nan, np.float32), "NaN or infinite"),
        (np.where(np.eye(8) > 0, np.inf, 25.0).astype(np.float32), "NaN or infinite"),
        (np.full((8, 8, 3), 25.0, np.float32), "RGB"),
        (np.full((8, 8), 3000, np.uint16), "integer"),
        (np.full((2, 8, 8), 25.0, np.float32), "shape"),
        (np.zeros((0, 8), np.float32), "empty"),
    ],
)
def test_bad_images_are_refused(image: np.ndarray, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        occlude(image, None, rng=rng())
    with pytest.raises(ValueError, match=message):
        thermal_noise(image, rng=rng())


def test_integer_image_error_says_how_to_convert() -> None:
    with pytest.raises(ValueError, match=r"astype\(np.float32\) \* 0.01 - 273.15"):
        occlude(np.full((8, 8), 30000, np.uint16), None, rng=rng())


def test_mask_shape_mismatch_refused() -> None:
    image, mask = thermal_face(32, 32, seed=1)
    with pytest.raises(ValueError, match="does not match the image shape"):
        occlude(image, mask[:31], rng=rng())


def test_unknown_mask_policy_refused() -> None:
    image, mask = thermal_face(32, 32, seed=1)
    with pytest.raises(ValueError, match="mask policy"):
        occlude(image, mask, rng=rng(), mask_policy="erase")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"size_range": (0.0, 0.5)}, "size_range"),
        ({"size_range": (0.1, 1.5)}, "size_range"),
        ({"vertices_range": (1, 5)}, "vertices_range"),
        ({"irregularity_range": (0.2, 0.1)}, "irregularity_range"),
        ({"temperature_relation": "colder"}, "temperature_relation"),
        ({"configuration_weights": (0.0, 0.0, 0.0)}, "configuration_weights"),
        ({"texture_std": -1.0}, "texture_std"),
    ],
)
def test_invalid_config_refused(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        OcclusionConfig(**kwargs)


def test_images_larger_than_the_noise_texture_still_respect_the_relation() -> None:
    """Beyond 1024 * 1024 pixels the texture is a fresh draw with no known range: occluder pixels are clipped anyway."""
    image, mask = thermal_face(1100, 960, seed=9)
    config = OcclusionConfig(temperature_relation="lower", texture_std=2.0, size_range=(0.3, 0.4))
    for seed in range(5):
        plan = sample_occlusion(image, mask, rng(seed), config)
        assert plan.texture_window["exact"]
        out = occlude(image, mask, rng=rng(seed), config=config)[0]
        covered = occluded_pixels(plan, image.shape)
        assert covered.any() and np.all(out[covered] < plan.params["face_temperature"] + 1e-4)
