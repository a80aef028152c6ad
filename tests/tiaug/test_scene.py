"""Scene-level augmentation (room, camera drift, fixed-pattern stripes): bands, masks, seeding, serialisation."""

from __future__ import annotations

import json
from collections.abc import Callable

import albumentations as A
import cv2
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tiaug.functional.face import upper_median
from tiaug.functional.scene import (
    MAX_STRIPE_SIGMAS,
    AmbientConfig,
    AmbientPlan,
    DriftConfig,
    FixedPatternConfig,
    ambient_temperature,
    apply_ambient,
    apply_drift,
    apply_fixed_pattern,
    camera_drift,
    fixed_pattern_noise,
    sample_ambient,
    stripe_offsets,
)
from tiaug.provenance import applied_params
from tiaug.transforms import AmbientTemperature, CameraDrift, FixedPatternNoise

from .strategies import assert_same_outputs, thermal_cases, thermal_face


def _ambient(image: np.ndarray, mask: np.ndarray | None, rng: np.random.Generator, **config: object) -> tuple:
    """(image, params) of the one-call function with these config fields."""
    out, _, params = ambient_temperature(image, mask, rng=rng, config=AmbientConfig(**config))
    return out, params


def _drift(image: np.ndarray, rng: np.random.Generator, **config: object) -> tuple:
    out, _, params = camera_drift(image, rng=rng, config=DriftConfig(**config))
    return out, params


def _pattern(image: np.ndarray, rng: np.random.Generator, **config: object) -> tuple:
    out, _, params = fixed_pattern_noise(image, rng=rng, config=FixedPatternConfig(**config))
    return out, params


SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SCENE = (AmbientTemperature, CameraDrift, FixedPatternNoise)


def _pair(draw: st.DrawFn, low: float, high: float) -> tuple[float, float]:
    a, b = draw(st.floats(low, high)), draw(st.floats(low, high))
    return (min(a, b), max(a, b))


@st.composite
def ambient_configs(draw: st.DrawFn) -> dict:
    return {
        "ambient_range": _pair(draw, -20.0, 60.0),
        "skin_coupling_range": _pair(draw, 0.0, 1.0),
        "max_skin_temperature": draw(st.floats(30.0, 40.0)),
        "min_contrast": draw(st.floats(0.5, 3.0)),
        "edge_sigma": draw(st.sampled_from([0.0, 1.5, 3.0])),
    }


@st.composite
def drift_configs(draw: st.DrawFn) -> dict:
    return {"offset_range": _pair(draw, -10.0, 10.0), "gain_range": _pair(draw, 0.5, 1.5)}


@st.composite
def pattern_configs(draw: st.DrawFn) -> dict:
    return {"column_std_range": _pair(draw, 0.0, 1.0), "row_std_range": _pair(draw, 0.0, 1.0)}


def _tol(*values: float) -> float:
    """Float32 rounding slack for sums of temperatures of these magnitudes (degrees Celsius)."""
    return 1e-5 * (1.0 + sum(abs(v) for v in values))


def _delta(out: np.ndarray, image: np.ndarray) -> np.ndarray:
    return out.astype(np.float64).reshape(image.shape[:2]) - image.astype(np.float64).reshape(image.shape[:2])


def _face(case: dict) -> np.ndarray | None:
    return None if case["mask"] is None else case["mask"].reshape(case["image"].shape[:2]) > 0


# -- ambient temperature ------------------------------------------------------------------------------------
@SETTINGS
@given(case=thermal_cases(max_side=40), config=ambient_configs())
def test_ambient_moves_each_pixel_between_room_and_skin_change(case: dict, config: dict) -> None:
    image = case["image"]
    out, params = _ambient(image, case["mask"], np.random.default_rng(case["seed"]), **config)
    assert np.isfinite(out).all()
    lo, hi = config["ambient_range"]
    assert lo - 1e-4 <= params["room_after"] <= hi + 1e-4
    c_lo, c_hi = config["skin_coupling_range"]
    assert c_lo - 1e-4 <= params["coupling"] <= c_hi + 1e-4
    room_change = params["room_after"] - params["room_before"]
    skin_change = params["skin_after"] - params["skin_before"]
    delta = _delta(out, image)
    tol = _tol(float(np.abs(image).max()), room_change, skin_change)
    assert delta.min() >= min(room_change, skin_change) - tol
    assert delta.max() <= max(room_change, skin_change) + tol
    if params["weighting"] == "relative_warmth":  # the room moves with the room, the skin with the skin
        view = image.reshape(delta.shape)
        np.testing.assert_allclose(delta[view <= params["room_before"]], room_change, atol=tol)
        np.testing.assert_allclose(delta[view >= params["skin_before"]], skin_change, atol=tol)


@SETTINGS
@given(case=thermal_cases(max_side=40), config=ambient_configs())
def test_ambient_skin_capped_and_face_median_bounded(case: dict, config: dict) -> None:
    image = case["image"]
    out, params = _ambient(image, case["mask"], np.random.default_rng(case["seed"]), **config)
    skin_before, skin_after, room_after = params["skin_before"], params["skin_after"], params["room_after"]
    room_change = room_after - params["room_before"]
    coupled = skin_before + params["coupling"] * room_change
    rounding = 2e-4 + 5e-5 * abs(room_change)  # the parameters are rounded to 4 decimals
    assert skin_after == pytest.approx(min(coupled, max(config["max_skin_temperature"], skin_before)), abs=rounding)
    if params["weighting"] != "relative_warmth" or params["face_source"] != "mask":
        return
    face = _face(case)
    median = upper_median(out.reshape(face.shape)[face])
    tol = _tol(skin_after, room_after)
    assert skin_after - tol <= median <= max(skin_after, room_after) + tol
    if room_after <= skin_after:  # the room does not end warmer than the skin: the face's median is the skin's
        assert median == pytest.approx(skin_after, abs=tol)


@SETTINGS
@given(seed=st.integers(0, 2**32 - 1), image_seed=st.integers(0, 1000), max_skin=st.floats(34.0, 38.0))
def test_skin_never_rises_above_max_skin_through_the_transform(seed: int, image_seed: int, max_skin: float) -> None:
    image, mask = thermal_face(24, 32, image_seed)
    image = np.minimum(image, np.float32(max_skin - 0.5))  # a face below the cap, warm or cool rooms
    transform = AmbientTemperature(p=1, ambient_range=(0.0, max_skin), max_skin_temperature=max_skin)
    result = A.Compose([transform], seed=seed, save_applied_params=True)(image=image, mask=mask)
    params = applied_params(result)[0]["params"]
    assert params["skin_after"] <= max_skin + 5e-5  # rounded to 4 decimals
    if params["weighting"] == "relative_warmth":
        assert upper_median(result["image"][mask > 0]) <= max_skin + 1e-4


@pytest.mark.parametrize("seed", range(4))
def test_room_warmer_than_the_skin_leaves_the_face_colder_than_the_room(seed: int) -> None:
    image, mask = thermal_face(32, 40, seed)
    pipeline = A.Compose([AmbientTemperature(p=1, ambient_range=(40.0, 45.0), skin_coupling_range=(0.0, 0.0))])
    out = pipeline(image=image, mask=mask)["image"]
    face, room = mask > 0, mask == 0
    assert np.median(image[face]) > np.median(image[room]) + 3.0  # it was warmer before
    assert np.median(out[face]) < np.median(out[room]) - 3.0  # the face is 32-37 C, the room 40-45 C
    skin = image >= upper_median(image[face])
    np.testing.assert_allclose(out[skin], image[skin], atol=1e-3)  # coupling 0: the skin keeps its temperature


@pytest.mark.parametrize("seed", range(4))
def test_cold_room_ends_colder_and_the_skin_follows_partially(seed: int) -> None:
    image, mask = thermal_face(32, 40, seed)
    transform = AmbientTemperature(p=1, ambient_range=(-5.0, 5.0), skin_coupling_range=(0.2, 0.3))
    result = A.Compose([transform], seed=seed, save_applied_params=True)(image=image, mask=mask)
    out, params = result["image"], applied_params(result)[0]["params"]
    face, room = mask > 0, mask == 0
    room_drop = np.median(image[room]) - np.median(out[room])
    skin_drop = np.median(image[face]) - np.median(out[face])
    assert -5.3 <= np.median(out[room]) <= 5.3
    assert room_drop > 10.0  # the rooms of thermal_face are 18-28 C
    assert 0.2 * room_drop - 0.3 <= skin_drop <= 0.3 * room_drop + 0.3
    assert np.median(out[face]) > np.median(out[room]) + 10.0
    assert params["weighting"] == "relative_warmth"


def _flat(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A scene without face-room contrast (25 C +- 0.05) and an elliptic face mask."""
    _, mask = thermal_face(40, 48, seed)
    image = np.float32(25.0) + np.random.default_rng(seed).normal(0, 0.05, mask.shape).astype(np.float32)
    return image, mask


def test_without_contrast_a_mask_carries_the_weight() -> None:
    image, mask = _flat()
    out, params = _ambient(image, mask, np.random.default_rng(1), ambient_range=(5.0, 10.0), edge_sigma=1.0)
    assert params["weighting"] == "mask" and params["face_source"] == "mask"
    room_change = params["room_after"] - params["room_before"]
    skin_change = params["skin_after"] - params["skin_before"]
    assert abs(room_change - skin_change) > 1.0
    delta, tol = _delta(out, image), _tol(25.0, room_change)
    inner = cv2.erode(mask, np.ones((9, 9), np.uint8)) > 0  # 4 px from the outline = 4 sigma of softening
    outer = cv2.dilate(mask, np.ones((9, 9), np.uint8)) == 0
    assert inner.any() and outer.any()
    np.testing.assert_allclose(delta[inner], skin_change, atol=tol)
    np.testing.assert_allclose(delta[outer], room_change, atol=tol)


def test_without_contrast_or_mask_the_whole_frame_moves_with_the_room() -> None:
    image, _ = _flat()
    out, params = _ambient(image, None, np.random.default_rng(2), ambient_range=(5.0, 10.0))
    assert params["weighting"] == "all_room"
    np.testing.assert_allclose(_delta(out, image), params["room_after"] - params["room_before"], atol=_tol(25.0, 20))


@pytest.mark.parametrize("kind", ["all_face_mask", "constant_without_mask"])
def test_without_a_room_the_whole_frame_moves_with_the_skin(kind: str) -> None:
    image, mask = _flat()
    if kind == "all_face_mask":
        mask = np.ones_like(mask)
    else:
        image, mask = np.full_like(image, 30.0), None
    out, params = _ambient(image, mask, np.random.default_rng(3), ambient_range=(40.0, 45.0))
    assert params["weighting"] == "all_face"
    assert params["room_before"] == params["skin_before"]
    skin_change = params["skin_after"] - params["skin_before"]
    assert skin_change > 0  # the room warmed, the skin followed partially
    np.testing.assert_allclose(_delta(out, image), skin_change, atol=_tol(30.0, 15))


# -- camera drift -------------------------------------------------------------------------------------------
@SETTINGS
@given(case=thermal_cases(max_side=40), config=drift_configs())
def test_drift_is_exactly_an_offset_and_gain_about_the_median(case: dict, config: dict) -> None:
    image = case["image"]
    out, params = _drift(image, np.random.default_rng(case["seed"]), **config)
    assert np.isfinite(out).all()
    assert config["offset_range"][0] - 1e-4 <= params["offset"] <= config["offset_range"][1] + 1e-4
    assert config["gain_range"][0] - 1e-5 <= params["gain"] <= config["gain_range"][1] + 1e-5
    reference, gain, offset = params["reference"], params["gain"], params["offset"]
    assert reference == pytest.approx(upper_median(image.ravel()), abs=1e-4)  # small images: every pixel
    expected = reference + gain * (image.astype(np.float64) - reference) + offset
    atol = 1e-12 if image.dtype == np.float64 else 1e-5
    np.testing.assert_allclose(out.astype(np.float64), expected, rtol=1e-6 if atol > 1e-12 else 1e-12, atol=atol)


# -- fixed-pattern noise ------------------------------------------------------------------------------------
@SETTINGS
@given(case=thermal_cases(max_side=40), config=pattern_configs())
def test_stripes_are_row_plus_column_offsets_within_four_sigmas(case: dict, config: dict) -> None:
    image = case["image"]
    out, params = _pattern(image, np.random.default_rng(case["seed"]), **config)
    assert np.isfinite(out).all()
    for key, name in (("column_std", "column_std_range"), ("row_std", "row_std_range")):
        assert config[name][0] - 1e-5 <= params[key] <= config[name][1] + 1e-5
    delta = _delta(out, image)
    tol = _tol(float(np.abs(image).max()))
    assert np.abs(delta).max() <= MAX_STRIPE_SIGMAS * (params["row_std"] + params["column_std"]) + tol
    rank_one = delta - delta[:, :1] - delta[:1, :] + delta[0, 0]  # r_i + c_j leaves nothing
    assert np.abs(rank_one).max() <= 4 * tol
    if params["column_std"] > 0.01:  # the columns really differ
        assert np.ptp(delta[0]) > 0


def test_stripe_offsets_are_clipped_at_four_sigmas_and_keep_their_spread() -> None:
    clipped = 0
    for seed in range(50):  # 100,000 draws: some lie beyond 4 sigmas before clipping
        rows, columns = stripe_offsets({"seed": seed, "row_std": 0.5, "column_std": 2.0}, 1000, 1000)
        assert rows.dtype == columns.dtype == np.float32
        for offsets, std in ((rows, 0.5), (columns, 2.0)):
            largest = np.abs(offsets).max()
            assert largest <= MAX_STRIPE_SIGMAS * std and 0.9 * std <= offsets.std() <= 1.1 * std
            clipped += int(largest == MAX_STRIPE_SIGMAS * std)
    assert clipped > 0


# -- shared contract of the three transforms ----------------------------------------------------------------
FUNCTIONS: dict[type, Callable] = {
    AmbientTemperature: lambda image, mask, rng: _ambient(image, mask, rng),
    CameraDrift: lambda image, mask, rng: _drift(image, rng),
    FixedPatternNoise: lambda image, mask, rng: _pattern(image, rng),
}


@SETTINGS
@given(case=thermal_cases(max_side=40), which=st.sampled_from(SCENE))
def test_inputs_and_masks_untouched_dtype_and_shape_kept(case: dict, which: type) -> None:
    image, mask = case["image"], case["mask"]
    image_before = image.copy()
    mask_before = None if mask is None else mask.copy()
    out, params = FUNCTIONS[which](image, mask, np.random.default_rng(case["seed"]))
    assert out.dtype == image.dtype and out.shape == image.shape
    assert json.loads(json.dumps(params)) == params
    data = {"image": image} if mask is None else {"image": image, "mask": mask}
    result = A.Compose([which(p=1)], seed=case["seed"])(**data)
    assert result["image"].dtype == image.dtype and result["image"].shape == image.shape
    assert np.isfinite(result["image"]).all()
    np.testing.assert_array_equal(image, image_before)
    if mask is not None:
        np.testing.assert_array_equal(mask, mask_before)
        np.testing.assert_array_equal(result["mask"], mask_before)
        assert result["mask"].dtype == mask.dtype


@pytest.mark.parametrize("which", SCENE)
def test_compose_seed_reproducible_and_seeds_differ(which: type) -> None:
    image, mask = thermal_face(24, 32, seed=5)

    def run(seed: int) -> list[np.ndarray]:
        pipeline = A.Compose([which(p=1)], seed=seed)
        return [pipeline(image=image, mask=mask)["image"] for _ in range(3)]

    first, again, other = run(7), run(7), run(8)
    for a, b, c in zip(first, again, other, strict=True):
        np.testing.assert_array_equal(a, b)
        assert not np.array_equal(a, c)
    assert not np.array_equal(first[0], first[1])  # successive calls draw anew


@pytest.mark.parametrize("which", SCENE)
def test_functional_seed_reproducible_and_seeds_differ(which: type) -> None:
    image, mask = thermal_face(24, 32, seed=6)
    function = FUNCTIONS[which]
    a_image, a_params = function(image, mask, np.random.default_rng(11))
    b_image, b_params = function(image, mask, np.random.default_rng(11))
    c_image, c_params = function(image, mask, np.random.default_rng(12))
    np.testing.assert_array_equal(a_image, b_image)
    assert a_params == b_params and c_params != a_params
    assert not np.array_equal(a_image, c_image)


def _scene_pipeline(seed: int) -> A.Compose:
    return A.Compose(
        [
            AmbientTemperature(p=1, ambient_range=(30.0, 42.0), skin_coupling_range=(0.2, 0.3), edge_sigma=2.0),
            CameraDrift(p=1, offset_range=(-2.0, 1.0), gain_range=(0.95, 1.05)),
            FixedPatternNoise(p=1, column_std_range=(0.05, 0.3), row_std_range=(0.0, 0.1)),
        ],
        seed=seed,
        save_applied_params=True,
    )


@pytest.mark.parametrize("fmt", ["json", "yaml"])
def test_serialisation_round_trips_give_identical_outputs(tmp_path, fmt: str) -> None:
    image, mask = thermal_face(24, 32, seed=9)
    pipeline = _scene_pipeline(seed=3)
    path = tmp_path / f"scene.{fmt}"
    A.save(pipeline, str(path), data_format=fmt)
    saved = A.to_dict(pipeline)["transform"]["transforms"]
    assert saved[0]["ambient_range"] in ((30.0, 42.0), [30.0, 42.0]) and saved[1]["gain_range"]
    for other in (A.from_dict(A.to_dict(pipeline)), A.load(str(path), data_format=fmt)):
        assert A.to_dict(other) == A.to_dict(pipeline)
        assert other.transforms[0].config == pipeline.transforms[0].config  # lists from YAML are tuples again
        assert_same_outputs(pipeline, other, image, mask)


def test_provenance_records_reproduce_the_output() -> None:
    image, mask = thermal_face(24, 32, seed=10)
    result = _scene_pipeline(seed=4)(image=image, mask=mask)
    records = applied_params(result)
    assert [r["transform"] for r in records] == ["AmbientTemperature", "CameraDrift", "FixedPatternNoise"]
    assert json.loads(json.dumps(records)) == records
    ambient, drift, pattern = (r["params"] for r in records)
    assert set(ambient) == {
        "room_before",
        "room_after",
        "skin_before",
        "skin_after",
        "coupling",
        "weighting",
        "face_source",
    }
    assert set(drift) == {"offset", "gain", "reference"} and set(pattern) == {"column_std", "row_std", "seed"}
    face = mask > 0 if ambient["weighting"] == "mask" else None
    again = apply_ambient(image, AmbientPlan(ambient, face), edge_sigma=2.0)
    again = apply_fixed_pattern(apply_drift(again, drift), pattern)
    np.testing.assert_array_equal(again, result["image"])


def test_plan_matches_the_functional_call() -> None:
    image, mask = thermal_face(24, 32, seed=12)
    config = AmbientConfig(ambient_range=(10.0, 12.0))
    plan = sample_ambient(image, mask, np.random.default_rng(5), config)
    out, params = _ambient(image, mask, np.random.default_rng(5), ambient_range=(10.0, 12.0))
    assert plan.params == params
    np.testing.assert_array_equal(apply_ambient(image, plan, config.edge_sigma), out)


# -- refusals -----------------------------------------------------------------------------------------------
BAD_ARGUMENTS = [
    (AmbientTemperature, {"ambient_range": (30.0, 10.0)}, ValueError, "ambient_range"),
    (AmbientTemperature, {"ambient_range": (float("nan"), 10.0)}, ValueError, "ambient_range"),
    (AmbientTemperature, {"ambient_range": (0.0, float("inf"))}, ValueError, "ambient_range"),
    (AmbientTemperature, {"ambient_range": 25.0}, ValueError, "ambient_range"),
    (AmbientTemperature, {"skin_coupling_range": (0.2, 1.5)}, ValueError, "skin_coupling_range"),
    (AmbientTemperature, {"max_skin_temperature": float("nan")}, ValueError, "max_skin_temperature"),
    (AmbientTemperature, {"min_contrast": 0.0}, ValueError, "min_contrast"),
    (AmbientTemperature, {"edge_sigma": -1.0}, ValueError, "edge_sigma"),
    (AmbientTemperature, {"p": 1.5}, ValueError, "less than or equal to 1"),
    (CameraDrift, {"offset_range": (2.0, -2.0)}, ValueError, "offset_range"),
    (CameraDrift, {"gain_range": (0.0, 1.1)}, ValueError, "gain_range"),
    (CameraDrift, {"gain_range": (0.9, float("nan"))}, ValueError, "gain_range"),
    (CameraDrift, {"gain_range": "0.9,1.1"}, ValueError, "gain_range"),
    (FixedPatternNoise, {"column_std_range": (-0.1, 0.2)}, ValueError, "column_std_range"),
    (FixedPatternNoise, {"row_std_range": (0.2, 0.1)}, ValueError, "row_std_range"),
]
UNKNOWN_ARGUMENTS = [(AmbientTemperature, "ambient"), (CameraDrift, "offset"), (FixedPatternNoise, "column_std")]
CONFIGS = {AmbientTemperature: AmbientConfig, CameraDrift: DriftConfig, FixedPatternNoise: FixedPatternConfig}


@pytest.mark.parametrize(("which", "name"), UNKNOWN_ARGUMENTS)
def test_unknown_arguments_named(which: type, name: str) -> None:
    """As every Albumentations transform: a warning naming the argument, an error with strict=True; the
    functional API refuses it."""
    with pytest.warns(UserWarning, match=name):
        which(**{name: 1.0})
    with pytest.raises(ValueError, match=name):
        which(**{name: 1.0}, strict=True)
    image, mask = thermal_face(16, 16, seed=0)
    with pytest.raises(TypeError, match=name):
        FUNCTIONS_WITH_CONFIG[which](image, mask, np.random.default_rng(0), **{name: 1.0})


@pytest.mark.parametrize(("which", "kwargs", "error", "words"), BAD_ARGUMENTS)
def test_bad_arguments_refused_with_their_name(which: type, kwargs: dict, error: type, words: str) -> None:
    with pytest.raises(error, match=words):
        which(**kwargs)
    if "p" not in kwargs:  # the functional API refuses the same
        image, mask = thermal_face(16, 16, seed=0)
        with pytest.raises(error, match=words):
            FUNCTIONS_WITH_CONFIG[which](image, mask, np.random.default_rng(0), **kwargs)


FUNCTIONS_WITH_CONFIG: dict[type, Callable] = {
    AmbientTemperature: lambda image, mask, rng, **kw: _ambient(image, mask, rng, **kw),
    CameraDrift: lambda image, mask, rng, **kw: _drift(image, rng, **kw),
    FixedPatternNoise: lambda image, mask, rng, **kw: _pattern(image, rng, **kw),
}


def _bad_image(kind: str) -> np.ndarray:
    image, _ = thermal_face(16, 20, seed=1)
    if kind == "rgb":
        return np.repeat(image[:, :, None], 3, axis=2)
    if kind == "integer":
        return (image * 100).astype(np.uint16)
    image[3, 4] = np.nan
    return image


@pytest.mark.parametrize("which", SCENE)
@pytest.mark.parametrize(("kind", "words"), [("rgb", "RGB"), ("integer", "integer"), ("nan", "NaN")])
def test_bad_images_refused(which: type, kind: str, words: str) -> None:
    image = _bad_image(kind)
    before = image.copy()
    with pytest.raises(ValueError, match=words):
        A.Compose([which(p=1)], seed=0)(image=image)
    with pytest.raises(ValueError, match=words):
        FUNCTIONS[which](image, None, np.random.default_rng(0))
    np.testing.assert_array_equal(image, before)
