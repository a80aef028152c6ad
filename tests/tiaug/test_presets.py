"""The paper's training pipeline keeps temperatures, step by step and as a whole."""

from __future__ import annotations

import albumentations as A
import numpy as np
import pytest

from tests.helpers.strategies import thermal_face
from tiaug.functional import occluded_pixels
from tiaug.presets import Step, paper_training_pipeline, tiaug_pipeline, training_steps
from tiaug.seeding import seed_pipeline
from tiaug.transforms import ThermalNoise, TiAugOcclusion


def _steps() -> list:
    return list(paper_training_pipeline(steps=training_steps(p_tiaug=1), p_blur=1).transforms)


@pytest.mark.parametrize("index", range(len(_steps())))
@pytest.mark.parametrize("shape", [(256, 320), (200, 240)])
def test_every_preset_step_keeps_temperature_range(index: int, shape: tuple[int, int]) -> None:
    image, mask = thermal_face(*shape, seed=index)
    step = _steps()[index]
    for seed in range(4):
        result = A.Compose([step], seed=seed)(image=image, mask=mask)
        out = result["image"]
        assert out.dtype == np.float32
        low, high = image.min(), image.max()
        if isinstance(step, TiAugOcclusion):
            covered = occluded_pixels(step.params["plan"], out.shape)
            out = out[~covered]
        slack = 6 * 0.1 if isinstance(step, ThermalNoise) else 1e-3
        assert out.min() >= low - slack and out.max() <= high + slack, type(step).__name__


def test_whole_preset_output_size_and_finite() -> None:
    image, mask = thermal_face(200, 240, seed=0)
    pipeline = paper_training_pipeline(seed=0)
    for _ in range(10):
        out = pipeline(image=image, mask=mask)
        assert out["image"].shape == (256, 320) and out["mask"].shape == (256, 320)
        assert np.isfinite(out["image"]).all()
        assert set(np.unique(out["mask"])) <= {0, 1}
        assert out["image"].min() > 0.0  # no 0 C fill anywhere


def test_preset_is_reproducible_and_serialisable() -> None:
    image, mask = thermal_face(256, 320, seed=1)
    a = paper_training_pipeline(seed=4)
    b = A.from_dict(A.to_dict(a))
    seed_pipeline(b, 4)
    for _ in range(3):
        np.testing.assert_array_equal(a(image=image, mask=mask)["image"], b(image=image, mask=mask)["image"])


def test_tiaug_pipeline_applies_both() -> None:
    image, mask = thermal_face(64, 64, seed=2)
    result = tiaug_pipeline(seed=0)(image=image, mask=mask)
    assert [name for name, _ in result["applied_transforms"]] == ["TiAugOcclusion", "ThermalNoise"]


def test_steps_are_placed_by_stage_and_unknown_names_refused() -> None:
    steps = [Step("noise", 1.0), Step("drift", 0.3, {"gain_range": (1.0, 1.0)}), Step("occlusion", 1.0)]
    names = [type(t).__name__ for t in tiaug_pipeline(steps=steps).transforms]
    assert names == ["TiAugOcclusion", "CameraDrift", "ThermalNoise"]
    with pytest.raises(ValueError, match=r"unknown TiAug step 'haze'.*occlusion, ambient"):
        tiaug_pipeline(steps=[Step("haze")])
