"""Scene steps in the presets: absent (and drawing no random numbers) when off, in the documented order when on."""

from __future__ import annotations

import albumentations as A
import numpy as np
import pytest

from tests.helpers.strategies import thermal_face
from tiaug.presets import SCENE_P, Step, paper_training_pipeline, tiaug_pipeline, training_steps
from tiaug.provenance import applied_params
from tiaug.seeding import seed_pipeline
from tiaug.transforms import AmbientTemperature, CameraDrift, FixedPatternNoise

SCENE_NAMES = ("AmbientTemperature", "CameraDrift", "FixedPatternNoise")
PAPER_ORDER = [
    "HorizontalFlip",
    "VerticalFlip",
    "Affine",
    "RandomCrop",
    "AmbientTemperature",
    "TiAugOcclusion",
    "TemperatureSafe",
    "CameraDrift",
    "FixedPatternNoise",
    "ThermalNoise",
]
SIZE = (48, 64)  # small crops keep the preset tests fast


def _names(pipeline: A.Compose) -> list[str]:
    return [type(t).__name__ for t in pipeline.transforms]


def _outputs(pipeline: A.Compose, n: int = 4) -> list[tuple[bytes, bytes]]:
    image, mask = thermal_face(56, 72, seed=2)
    results = [pipeline(image=image, mask=mask) for _ in range(n)]
    return [(r["image"].tobytes(), r["mask"].tobytes()) for r in results]


def test_scene_off_is_the_paper_pipeline_byte_for_byte() -> None:
    default = paper_training_pipeline(*SIZE, seed=5)
    args = {"ambient": {"ambient_range": (40.0, 45.0)}, "drift": {"offset_range": (-1.0, 1.0)}}
    off = paper_training_pipeline(*SIZE, seed=5, steps=training_steps(p_scene=0.0, args=args))
    assert _names(off) == _names(default) == [n for n in PAPER_ORDER if n not in SCENE_NAMES]
    # the paper's steps taken out of a pipeline with the scene on: a p=0 step would still draw a random number
    on = paper_training_pipeline(*SIZE, steps=training_steps(p_scene=1.0))
    without = seed_pipeline(A.Compose([t for t in on.transforms if type(t).__name__ not in SCENE_NAMES]), 5)
    assert _outputs(off) == _outputs(default) == _outputs(without)


def test_scene_on_steps_in_documented_order_with_their_arguments() -> None:
    steps = [
        Step("noise", 1.0),
        Step("fixed_pattern", 0.3, {"row_std_range": (0.0, 0.0)}),
        Step("drift", 0.7, {"gain_range": (1.0, 1.0)}),
        Step("occlusion", 1.0),
        Step("ambient", 1.0, {"ambient_range": (40.0, 45.0)}),
    ]
    pipeline = paper_training_pipeline(*SIZE, steps=steps, p_blur=1.0, seed=1, save_applied_params=True)
    swapped = [*PAPER_ORDER[:7], "FixedPatternNoise", "CameraDrift", "ThermalNoise"]
    assert _names(pipeline) == swapped  # by stage; steps of one stage (the camera's) in the order given
    steps[1], steps[2] = steps[2], steps[1]
    pipeline = paper_training_pipeline(*SIZE, steps=steps, p_blur=1.0, seed=1, save_applied_params=True)
    assert _names(pipeline) == PAPER_ORDER
    ambient, drift, pattern = (pipeline.transforms[PAPER_ORDER.index(n)] for n in SCENE_NAMES)
    assert (ambient.p, drift.p, pattern.p) == (1.0, 0.7, 0.3)
    assert ambient.ambient_range == (40.0, 45.0) and drift.gain_range == (1.0, 1.0)
    assert pattern.row_std_range == (0.0, 0.0)
    image, mask = thermal_face(56, 72, seed=3)
    seen: set[str] = set()
    for _ in range(6):
        records = applied_params(pipeline(image=image, mask=mask))
        names = [r["transform"] for r in records if r["transform"] in PAPER_ORDER]  # blur is inside TemperatureSafe
        assert names == [n for n in PAPER_ORDER if n in names]  # applied in the documented order
        assert "AmbientTemperature" in names
        room = next(r["params"]["room_after"] for r in records if r["transform"] == "AmbientTemperature")
        assert 40.0 <= room <= 45.0
        seen |= set(names)
    assert set(SCENE_NAMES) <= seen


@pytest.mark.parametrize("scene", [False, True])
def test_tiaug_pipeline_scene_option(scene: bool) -> None:
    pipeline = tiaug_pipeline(seed=0, scene=scene)
    expected = ["AmbientTemperature", "TiAugOcclusion", "CameraDrift", "FixedPatternNoise", "ThermalNoise"]
    assert _names(pipeline) == (expected if scene else ["TiAugOcclusion", "ThermalNoise"])
    for step in pipeline.transforms:
        if isinstance(step, AmbientTemperature):
            assert step.p == 1.0  # every augmented copy gets a new room
        elif isinstance(step, CameraDrift | FixedPatternNoise):
            assert step.p == SCENE_P
    image, mask = thermal_face(32, 40, seed=4)
    result = pipeline(image=image, mask=mask)
    np.testing.assert_array_equal(result["mask"], mask)
    assert np.isfinite(result["image"]).all()
