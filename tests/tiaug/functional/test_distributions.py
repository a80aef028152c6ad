"""Distributions of the sampled occluder and noise parameters over a few hundred seeded draws.

The property tests check every single draw against its bounds; these check that the draws are spread as the
parameters say (uniform over their ranges, the configured weights, the NETD as the noise's standard deviation),
so that a change of the sampling (e.g. drawing several numbers in one call, fitting the area from a different
first scale, cutting noise windows differently) that got a parameter wrong would fail here. Seeds are fixed, so
the statistical thresholds (p > 1e-3 for Kolmogorov-Smirnov tests) cannot flake.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from tests.helpers.strategies import thermal_face
from tiaug.functional import (
    CONFIGURATIONS,
    NoiseConfig,
    OcclusionConfig,
    area_tolerance,
    occluded_pixels,
    render_occlusion,
    sample_occlusion,
    thermal_noise,
)
from tiaug.functional.noise import TEXTURE_PIXELS, sample_thermal_noise

N_DRAWS = 400
P_MIN = 1e-3


@pytest.fixture(scope="module")
def face() -> tuple[np.ndarray, np.ndarray]:
    return thermal_face(96, 128, seed=3)


def _plans(face: tuple[np.ndarray, np.ndarray], config: OcclusionConfig, n: int = N_DRAWS) -> list:
    image, mask = face
    return [sample_occlusion(image, mask, np.random.default_rng(seed), config) for seed in range(n)]


def _uniform(values: list[float], low: float, high: float) -> None:
    assert min(values) >= low and max(values) <= high
    result = stats.kstest(values, stats.uniform(low, high - low).cdf)
    assert result.pvalue > P_MIN, (low, high, result)


def test_occluded_area_fraction_follows_the_size_range(face: tuple[np.ndarray, np.ndarray]) -> None:
    config = OcclusionConfig(size_range=(0.05, 0.30))
    fractions, realised = [], []
    for plan in _plans(face, config):
        params = plan.params
        fractions.append(params["size_fraction"])
        occluders = params["occluders"]
        for occluder in occluders:
            assert abs(occluder["area_px"] - occluder["target_area_px"]) <= area_tolerance(occluder["target_area_px"])
        realised.append(sum(o["area_px"] for o in occluders) / params["face_area_px"])
    _uniform(fractions, 0.05, 0.30)
    # the pixels really drawn (the connecting bar aside) cover the sampled fraction of the face within the tolerance
    realised, fractions = np.array(realised), np.array(fractions)
    assert np.all(np.abs(realised - fractions) <= 0.05 * fractions + 8.0 / face[1].sum())
    assert abs(np.mean(realised) - 0.175) < 0.02


def test_configuration_weights_respected(face: tuple[np.ndarray, np.ndarray]) -> None:
    config = OcclusionConfig(configuration_weights=(1.0, 2.0, 3.0), size_range=(0.01, 0.05))
    counts = {name: 0 for name in CONFIGURATIONS}
    for plan in _plans(face, config, 600):
        counts[plan.params["configuration"]] += 1
    observed = [counts[name] for name in CONFIGURATIONS]
    assert stats.chisquare(observed, [100.0, 200.0, 300.0]).pvalue > P_MIN, observed


def test_shape_parameters_uniform_and_realised(face: tuple[np.ndarray, np.ndarray]) -> None:
    config = OcclusionConfig(
        vertices_range=(3, 12), irregularity_range=(0.0, 0.3), spikiness_range=(0.05, 0.25), size_range=(0.2, 0.3)
    )
    vertices, irregularities, spikinesses, measured_spikiness, measured_irregularity = [], [], [], [], []
    for plan in _plans(face, config):
        for occluder in plan.params["occluders"]:
            n = occluder["vertices"]
            vertices.append(n)
            irregularities.append(occluder["irregularity"])
            spikinesses.append(occluder["spikiness"])
            assert len(occluder["polygon"]) == n
            offsets = np.array(occluder["polygon"]) - np.array(occluder["centre"])
            radii = np.hypot(offsets[:, 0], offsets[:, 1])
            measured_spikiness.append((radii.std(ddof=1) / radii.mean(), occluder["spikiness"]))
            angles = np.sort(np.arctan2(offsets[:, 1], offsets[:, 0]))
            steps = np.diff(np.append(angles, angles[0] + 2 * math.pi)) / (2 * math.pi / n)
            measured_irregularity.append((steps.std(ddof=1), occluder["irregularity"]))
    counts = np.bincount(vertices, minlength=13)[3:]
    assert stats.chisquare(counts).pvalue > P_MIN, counts
    _uniform(irregularities, 0.0, 0.3)
    _uniform(spikinesses, 0.05, 0.25)
    # the drawn polygons have the sampled spread: radius std / mean ~ spikiness (N(1, s) radii, rarely clipped
    # here), angular step std ~ irregularity / sqrt(3) (U(1 - i, 1 + i) steps); fitted slope through the origin
    for pairs, expected in ((measured_spikiness, 1.0), (measured_irregularity, 1 / math.sqrt(3))):
        measured, asked = np.array(pairs).T
        slope = float(measured @ asked / (asked @ asked))
        assert slope == pytest.approx(expected, rel=0.15), slope


def test_temperatures_uniform_over_their_band(face: tuple[np.ndarray, np.ndarray]) -> None:
    image = face[0]
    config = OcclusionConfig(configuration_weights=(1.0, 1.0, 1.0), size_range=(0.05, 0.1))
    positions, gaps, pairs = [], [], []
    for seed, plan in enumerate(_plans(face, config)):
        params = plan.params
        low, high = params["temperature_band"]
        temperatures = [o["temperature"] for o in params["occluders"]]
        assert all(low <= t <= high for t in temperatures)
        positions.append((temperatures[0] - low) / (high - low))
        if params["configuration"] == "dual" and high - low > 2 * config.min_dual_difference:
            gaps.append(abs(temperatures[0] - temperatures[1]))
            pairs.append([(t - low) / (high - low) for t in temperatures])
        if seed < 50:  # painted pixels: base temperature plus texture of texture_std, clipped into the band
            out = render_occlusion(image, plan)
            covered = occluded_pixels(plan, image.shape)
            values = out[covered].astype(np.float64)
            assert np.all((values >= low - 1e-4) & (values <= high + 1e-4))
    _uniform(positions, 0.0, 1.0)
    assert gaps and min(gaps) >= config.min_dual_difference - 1e-9
    # the second dual temperature is drawn independently of the first (but for the gap): uniform, uncorrelated
    first, second = np.array(pairs).T
    _uniform(list(second), 0.0, 1.0)
    assert abs(np.corrcoef(first, second)[0, 1]) < 0.3


def test_occluder_texture_std_matches() -> None:
    image = np.full((96, 128), 30.0, np.float32)
    config = OcclusionConfig(
        texture_std=0.2, temperature_relation="any", size_range=(0.3, 0.4), min_temperature_span=50
    )
    stds = []
    for seed in range(100):
        plan = sample_occlusion(image, None, np.random.default_rng(seed), config)
        out = render_occlusion(image, plan)
        base = {paint.temperature for paint in plan.paints}
        if len(base) == 1:
            stds.append(float((out[occluded_pixels(plan, image.shape)] - base.pop()).std()))
    assert np.median(stds) == pytest.approx(0.2, rel=0.05)


def test_noise_std_matches_netd_over_many_draws() -> None:
    image = np.full((64, 80), 25.0, np.float32)
    ratios, netds, offsets = [], [], []
    for seed in range(N_DRAWS):
        out, _, params = thermal_noise(image, rng=np.random.default_rng(seed), config=NoiseConfig(0.02, 0.1))
        netds.append(params["netd"])
        offsets.append(params["window"]["offset"])
        ratios.append(float((out - image).astype(np.float64).std()) / params["netd"])
    _uniform(netds, 0.02, 0.1)
    _uniform(offsets, 0, TEXTURE_PIXELS - image.size)
    assert np.mean(ratios) == pytest.approx(1.0, abs=0.01)
    assert np.std(ratios) < 0.03  # 5,120 pixels per image: ~1 % sampling error of a std


def test_noise_windows_cover_the_texture_and_both_signs() -> None:
    windows = [sample_thermal_noise(np.random.default_rng(seed), 256, 320, 0.0, 0.1)["window"] for seed in range(200)]
    signs = [w["sign"] for w in windows]
    assert 70 < signs.count(1.0) < 130
    assert all(0 <= w["offset"] <= TEXTURE_PIXELS - 256 * 320 for w in windows)
