"""Every TiAug transform with every Albumentations target (keypoints and boxes untouched, recordings as
``images=``), and the warnings for images that are not degrees Celsius."""

from __future__ import annotations

import warnings

import albumentations as A
import numpy as np
import pytest

from tiaug.errors import UserError
from tiaug.safety import check_pipeline
from tiaug.transforms import TRANSFORMS, TemperatureSafe
from tiaug.validation import NotCelsiusWarning

from .strategies import thermal_face

NAMES = list(TRANSFORMS)
FRAMES = 3


def _pipeline(name: str) -> A.Compose:
    return A.Compose(
        [TRANSFORMS[name](p=1.0)],
        keypoint_params=A.KeypointParams(format="xy", remove_invisible=False),
        bbox_params=A.BboxParams(format="pascal_voc", label_fields=["labels"]),
        seed=3,
    )


@pytest.mark.filterwarnings("error:Got processor")  # every TiAug transform takes keypoints and boxes
@pytest.mark.parametrize("name", NAMES)
def test_every_target_image_mask_keypoints_bboxes(name: str) -> None:
    image, mask = thermal_face(40, 48, seed=1)
    keypoints = np.array([[5.0, 6.0], [20.5, 30.25], [47.0, 39.0]], np.float32)
    bboxes = np.array([[2.0, 3.0, 30.0, 35.0]], np.float32)
    result = _pipeline(name)(image=image, mask=mask, masks=[mask, mask], keypoints=keypoints, bboxes=bboxes, labels=[1])
    np.testing.assert_array_equal(result["keypoints"], keypoints)
    np.testing.assert_allclose(result["bboxes"], bboxes, atol=1e-5)  # Albumentations normalises boxes and back
    assert result["image"].shape == image.shape and np.isfinite(result["image"]).all()
    np.testing.assert_array_equal(result["masks"][0], result["mask"])  # both relabelled alike (or kept)


def test_keypoints_under_occluders_are_reported() -> None:
    from tiaug.functional import occluded_pixels
    from tiaug.provenance import applied_params

    image, mask = thermal_face(40, 48, seed=6)
    rows, columns = np.mgrid[0:40:3, 0:48:3]
    keypoints = np.stack([columns.ravel() + 0.5, rows.ravel() + 0.5], axis=1).astype(np.float32)
    pipeline = A.Compose(
        [TRANSFORMS["occlusion"](p=1.0)],
        keypoint_params=A.KeypointParams(format="xy"),
        seed=0,
        save_applied_params=True,
    )
    reported = set()
    for _ in range(5):
        result = pipeline(image=image, mask=mask, keypoints=keypoints)
        covered = occluded_pixels(pipeline.transforms[0].params["plan"], image.shape)
        expected = {k for k, (x, y) in enumerate(keypoints) if covered[int(y), int(x)]}
        occluded = applied_params(result)[0]["params"]["occluded_keypoints"]
        assert set(occluded) == expected
        reported |= expected
    assert reported  # some keypoints were under an occluder


@pytest.mark.parametrize("name", NAMES)
def test_recordings_same_scene_every_frame_noise_fresh_per_frame(name: str) -> None:
    image, mask = thermal_face(40, 48, seed=2)
    frames = np.stack([image] * FRAMES)
    result = _pipeline(name)(
        images=frames, masks=np.stack([mask] * FRAMES), keypoints=np.zeros((0, 2)), bboxes=np.zeros((0, 4)), labels=[]
    )
    out = result["images"]
    assert out.shape == frames.shape and out.dtype == frames.dtype
    assert not np.array_equal(out[0], frames[0])  # the transform did something
    identical = [np.array_equal(out[0], out[k]) for k in range(1, FRAMES)]
    if TRANSFORMS[name].stage == "sensor":
        assert not any(identical)  # a sensor's noise differs from frame to frame
    else:
        assert all(identical)  # the same room, occluders, drift and stripes on every frame
    single = _pipeline(name)(image=image, mask=mask, keypoints=np.zeros((0, 2)), bboxes=np.zeros((0, 4)), labels=[])
    np.testing.assert_array_equal(out[0], single["image"])  # frame 0 is what the image alone would get


def _unit_cases() -> dict[str, np.ndarray]:
    image, _ = thermal_face(32, 40, seed=4)
    low, high = image.min(), image.max()
    return {"normalised": (image - low) / (high - low), "kelvin": image + np.float32(273.15)}


CAUSES = {"normalised": r"within \[0, 1\].*TemperatureSafe", "kelvin": "297 K"}


@pytest.mark.parametrize("kind", list(CAUSES))
@pytest.mark.parametrize("name", [*NAMES, "TemperatureSafe"])
def test_not_celsius_warned_with_its_likely_cause(name: str, kind: str) -> None:
    image = _unit_cases()[kind].astype(np.float32)
    step = TemperatureSafe([A.HorizontalFlip(p=1.0)], p=1.0) if name == "TemperatureSafe" else TRANSFORMS[name](p=1)
    with pytest.warns(NotCelsiusWarning, match=CAUSES[kind]):
        A.Compose([step], seed=0)(image=image)


@pytest.mark.parametrize("name", [*NAMES, "TemperatureSafe"])
def test_celsius_images_raise_no_warning(name: str) -> None:
    image, mask = thermal_face(32, 40, seed=5)
    step = TemperatureSafe([A.HorizontalFlip(p=1.0)], p=1.0) if name == "TemperatureSafe" else TRANSFORMS[name](p=1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        A.Compose([step], seed=0)(image=image, mask=mask)


def test_check_pipeline_speaks_python() -> None:
    with pytest.raises(UserError, match=r"GaussianBlur.*TemperatureSafe.*allow_unsafe=True") as caught:
        check_pipeline(A.Compose([A.HorizontalFlip(), A.GaussianBlur()]))
    assert "--allow-unsafe" not in str(caught.value)
    assert check_pipeline(A.Compose([TemperatureSafe([A.GaussianBlur()])])) == []
