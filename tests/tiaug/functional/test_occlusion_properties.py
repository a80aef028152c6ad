"""Property tests of the functional occlusion core over random images, masks and parameters."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers.strategies import thermal_cases
from tiaug.functional import (
    CONFIGURATIONS,
    OcclusionConfig,
    apply_mask_policy,
    area_tolerance,
    occlude,
    occluded_pixels,
    render_occlusion,
    sample_occlusion,
)

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def configs(draw: st.DrawFn) -> OcclusionConfig:
    lo = draw(st.floats(0.01, 0.5))
    hi = draw(st.floats(lo, 1.0))
    v_lo = draw(st.integers(2, 30))
    v_hi = draw(st.integers(v_lo, 30))
    weights = draw(st.lists(st.floats(0, 1), min_size=3, max_size=3).filter(lambda w: sum(w) > 0.05))
    return OcclusionConfig(
        size_range=(lo, hi),
        vertices_range=(v_lo, v_hi),
        irregularity_range=(0.0, draw(st.floats(0, 1))),
        spikiness_range=(0.0, draw(st.floats(0, 1))),
        temperature_relation=draw(st.sampled_from(["poster", "any", "lower", "higher"])),
        configuration_weights=tuple(weights),
        texture_std=draw(st.sampled_from([0.0, 0.1, 0.5])),
    )


def _plan(case: dict, config: OcclusionConfig):
    return sample_occlusion(case["image"], case["mask"], np.random.default_rng(case["seed"]), config)


@SETTINGS
@given(case=thermal_cases(), config=configs())
def test_pixels_outside_occluders_unchanged_and_input_untouched(case: dict, config: OcclusionConfig) -> None:
    image = case["image"]
    before = image.copy()
    plan = _plan(case, config)
    out = render_occlusion(image, plan)
    np.testing.assert_array_equal(image, before)  # input never modified
    assert out.dtype == image.dtype and out.shape == image.shape
    covered = occluded_pixels(plan, image.shape)
    np.testing.assert_array_equal(out.reshape(covered.shape)[~covered], image.reshape(covered.shape)[~covered])


@SETTINGS
@given(case=thermal_cases(min_side=16, max_side=128), config=configs())
def test_occluder_area_within_stated_tolerance(case: dict, config: OcclusionConfig) -> None:
    plan = _plan(case, config)
    params = plan.params
    for occluder in params["occluders"]:
        target = occluder["target_area_px"]
        assert abs(occluder["area_px"] - target) <= area_tolerance(target), occluder
        assert occluder["visible_area_px"] <= occluder["area_px"]
    expected_total = max(params["size_fraction"] * params["face_area_px"], config.min_area_px)
    targets = [o["target_area_px"] for o in params["occluders"]]
    assert sum(targets) == pytest.approx(expected_total, rel=1e-9) or min(targets) == config.min_area_px


@SETTINGS
@given(case=thermal_cases(), config=configs())
def test_occluder_temperatures_within_range_and_relation(case: dict, config: OcclusionConfig) -> None:
    plan = _plan(case, config)
    params = plan.params
    t_min, t_max = params["t_min"], params["t_max"]
    span = max(t_max - t_min, config.min_temperature_span) * config.temperature_extension
    out = render_occlusion(case["image"], plan).reshape(case["image"].shape[:2])
    covered = occluded_pixels(plan, out.shape)
    values = out[covered].astype(np.float64)
    tol = 1e-4 * max(1.0, abs(t_max))
    assert np.all(values >= t_min - span - tol) and np.all(values <= t_max + span + tol)
    face = params["face_temperature"]
    relation = params["relation"]
    if relation == "lower":
        assert np.all(values < face + tol)
        assert all(o["temperature"] < face for o in params["occluders"])
    elif relation == "higher":
        assert np.all(values > face - tol)
    if config.temperature_relation == "poster":
        expected = {"single": {"any"}, "dual": {"lower"}, "connected": {"lower", "higher"}}
        assert relation in expected[params["configuration"]]
    else:
        assert relation == config.temperature_relation


@SETTINGS
@given(case=thermal_cases(), configuration=st.sampled_from(CONFIGURATIONS))
def test_configuration_structure(case: dict, configuration: str) -> None:
    weights = tuple(1.0 if name == configuration else 0.0 for name in CONFIGURATIONS)
    plan = _plan(case, OcclusionConfig(configuration_weights=weights))
    params = plan.params
    assert params["configuration"] == configuration
    occluders = params["occluders"]
    assert len(occluders) == (1 if configuration == "single" else 2)
    assert (params["bar"] is not None) == (configuration == "connected")
    if configuration == "dual":
        first, second = occluders
        # separate: the two stencils never share a pixel
        a, b = plan.regions
        canvas = np.zeros((4000, 4000), np.uint8)
        for region in (a, b):
            h, w = region.stencil.shape
            canvas[region.y0 + 2000 : region.y0 + 2000 + h, region.x0 + 2000 : region.x0 + 2000 + w] += region.stencil
        assert canvas.max() <= 1
        assert first["temperature"] != second["temperature"]
    if configuration == "connected":
        temperatures = {o["temperature"] for o in occluders} | {params["bar"]["temperature"]}
        assert len(temperatures) == 1


@SETTINGS
@given(case=thermal_cases(), policy=st.sampled_from(["keep", "background", "ignore"]), ignore=st.integers(6, 255))
def test_mask_policy_applied_exactly_on_occluders(case: dict, policy: str, ignore: int) -> None:
    if case["mask"] is None:
        return
    mask = case["mask"]
    before = mask.copy()
    plan = _plan(case, OcclusionConfig())
    new = apply_mask_policy(mask, plan, policy, ignore)
    np.testing.assert_array_equal(mask, before)
    covered = occluded_pixels(plan, mask.shape).reshape(mask.shape)
    if policy == "keep":
        np.testing.assert_array_equal(new, mask)
    else:
        value = 0 if policy == "background" else ignore
        np.testing.assert_array_equal(new, np.where(covered, value, mask).astype(mask.dtype))


@SETTINGS
@given(case=thermal_cases(), other_seed=st.integers(0, 2**32 - 1))
def test_same_seed_same_output_different_seed_differs(case: dict, other_seed: int) -> None:
    def run(seed: int):
        return occlude(case["image"], case["mask"], rng=np.random.default_rng(seed))

    image_a, mask_a, params_a = run(case["seed"])
    image_b, mask_b, params_b = run(case["seed"])
    np.testing.assert_array_equal(image_a, image_b)
    if mask_a is not None:
        np.testing.assert_array_equal(mask_a, mask_b)
    assert params_a == params_b
    if other_seed != case["seed"]:
        image_c, _, params_c = run(other_seed)
        assert params_c != params_a
        assert not np.array_equal(image_c, image_a)


@SETTINGS
@given(case=thermal_cases())
def test_params_are_plain_json(case: dict) -> None:
    _, _, params = occlude(case["image"], case["mask"], rng=np.random.default_rng(case["seed"]))
    assert json.loads(json.dumps(params)) == params
    for occluder in params["occluders"]:
        assert len(occluder["polygon"]) == (4 if occluder["vertices"] == 2 else occluder["vertices"])
