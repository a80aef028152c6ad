"""Albumentations face of TiAug: reproducibility, serialisation, argument validation, provenance."""

from __future__ import annotations

import json

import albumentations as A
import numpy as np
import pytest

from tiaug.provenance import applied_params, applied_params_json
from tiaug.transforms import TemperatureSafe, ThermalNoise, TiAugOcclusion

from .strategies import assert_same_outputs, thermal_face


@pytest.fixture
def face() -> tuple[np.ndarray, np.ndarray]:
    return thermal_face(64, 80, seed=11)


def _pipeline(seed: int | None = 0) -> A.Compose:
    return A.Compose([TiAugOcclusion(p=1), ThermalNoise(p=1)], seed=seed)


def _run_many(pipeline: A.Compose, image: np.ndarray, mask: np.ndarray, n: int = 5) -> list[np.ndarray]:
    return [pipeline(image=image, mask=mask)["image"] for _ in range(n)]


def test_compose_seed_reproducible_and_seeds_differ(face) -> None:
    image, mask = face
    first = _run_many(_pipeline(0), image, mask)
    second = _run_many(_pipeline(0), image, mask)
    other = _run_many(_pipeline(1), image, mask)
    for a, b, c in zip(first, second, other, strict=True):
        np.testing.assert_array_equal(a, b)
        assert not np.array_equal(a, c)
    assert not np.array_equal(first[0], first[1])  # successive calls draw new occluders


@pytest.mark.parametrize("fmt", ["json", "yaml"])
def test_serialisation_round_trips(face, tmp_path, fmt: str) -> None:
    image, mask = face
    pipeline = A.Compose(
        [
            TiAugOcclusion(
                p=1,
                size_range=(0.05, 0.2),
                configurations={"dual": 2.0, "connected": 1.0},
                mask_policy="ignore",
                ignore_index=250,
            ),
            TemperatureSafe([A.GaussianBlur(blur_limit=0, sigma_limit=(0.5, 1.0), p=1)], p=0.7),
            ThermalNoise(p=1, min_netd=0.02, max_netd=0.05),
        ],
        seed=3,
    )
    restored = A.from_dict(A.to_dict(pipeline))
    path = tmp_path / f"pipeline.{fmt}"
    A.save(pipeline, str(path), data_format=fmt)
    loaded = A.load(str(path), data_format=fmt)
    for other in (restored, loaded):
        assert A.to_dict(other) == A.to_dict(pipeline)
        assert_same_outputs(pipeline, other, image, mask)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"size_range": (0.1, 1.5)},
        {"size_range": (0.0, 0.5)},
        {"size_range": (0.5, 0.1)},
        {"vertices_range": (1, 10)},
        {"irregularity_range": (0.0, 1.5)},
        {"spikiness_range": (-0.1, 0.5)},
        {"temperature_relation": "colder"},
        {"configurations": {"triple": 1.0}},
        {"configurations": {"single": 0.0}},
        {"mask_policy": "erase"},
        {"texture_std": -0.1},
        {"p": 1.5},
    ],
)
def test_invalid_occlusion_arguments_raise_at_construction(kwargs: dict) -> None:
    with pytest.raises(ValueError):
        TiAugOcclusion(**kwargs)


@pytest.mark.parametrize("kwargs", [{"max_netd": -0.1}, {"min_netd": 0.2, "max_netd": 0.1}])
def test_invalid_noise_arguments_raise_at_construction(kwargs: dict) -> None:
    with pytest.raises(ValueError):
        ThermalNoise(**kwargs)


def test_mask_policy_through_transform(face) -> None:
    image, mask = face
    out = A.Compose([TiAugOcclusion(p=1, mask_policy="ignore", ignore_index=255)], seed=5)(image=image, mask=mask)
    occluded = out["image"] != image
    assert occluded.any()
    assert np.all(out["mask"][occluded] == 255)
    # texture-free pixels equal to the original by chance are still relabelled; nothing else is
    assert np.all((out["mask"] == mask) | (out["mask"] == 255))


def test_provenance_is_json_with_polygons(face) -> None:
    image, mask = face
    pipeline = A.Compose(
        [A.HorizontalFlip(p=1), TiAugOcclusion(p=1), ThermalNoise(p=1)], seed=0, save_applied_params=True
    )
    result = pipeline(image=image, mask=mask)
    records = applied_params(result)
    assert [r["transform"] for r in records] == ["HorizontalFlip", "TiAugOcclusion", "ThermalNoise"]
    occlusion = records[1]["params"]
    assert occlusion["occluders"][0]["polygon"]
    assert 0.0 <= records[2]["params"]["netd"] <= 0.1
    assert json.loads(applied_params_json(result)) == records


def test_provenance_needs_saved_params(face) -> None:
    image, mask = face
    with pytest.raises(KeyError, match="save_applied_params"):
        applied_params(_pipeline()(image=image, mask=mask))


def test_noise_transform_refuses_integer_images() -> None:
    with pytest.raises(ValueError, match="integer"):
        A.Compose([ThermalNoise(p=1)])(image=np.full((8, 8), 300, np.uint16))


def test_occlusion_transform_refuses_nan(face) -> None:
    image, mask = face
    image = image.copy()
    image[3, 3] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        _pipeline()(image=image, mask=mask)


def test_temperature_safe_keeps_degrees_where_albumentations_clips(face) -> None:
    image, mask = face
    blur = A.GaussianBlur(blur_limit=0, sigma_limit=(1.0, 1.0), p=1)
    clipped = A.Compose([blur])(image=image, mask=mask)["image"]
    assert clipped.max() <= 1.0  # the trap: Albumentations clips float images to [0, 1]
    safe = A.Compose([TemperatureSafe([blur], p=1)])(image=image, mask=mask)
    assert safe["image"].dtype == image.dtype and safe["image"].shape == image.shape
    assert image.min() - 1e-4 <= safe["image"].min() and safe["image"].max() <= image.max() + 1e-4
    assert safe["image"].std() < image.std()  # it did blur
    np.testing.assert_array_equal(safe["mask"], mask)
