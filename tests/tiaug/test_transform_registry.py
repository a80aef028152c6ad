"""Every registered TiAug transform: explicit ``__init__`` defaults equal to its config's, arguments in its schema,
outputs within its stated ``temperature_bounds``."""

from __future__ import annotations

import dataclasses
import inspect

import albumentations as A
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

from tiaug.transforms import STAGES, TRANSFORMS, TiAugOcclusion

from .strategies import thermal_cases

#: Arguments of the transforms that stand in for a config field of another name, and those beyond the config.
STAND_INS = {"configurations": "configuration_weights"}
LABEL_ARGUMENTS = {"mask_policy", "ignore_index"}


@pytest.mark.parametrize("name", list(TRANSFORMS))
def test_init_defaults_are_the_config_defaults(name: str) -> None:
    cls = TRANSFORMS[name]
    parameters = dict(inspect.signature(cls.__init__).parameters)
    assert list(parameters)[:: len(parameters) - 1] == ["self", "p"]
    arguments = {n: p.default for n, p in parameters.items() if n not in ("self", "p")}
    fields = {f.name: f.default for f in dataclasses.fields(cls.config_class)}
    for argument, default in arguments.items():
        if argument in LABEL_ARGUMENTS:
            continue
        field = STAND_INS.get(argument, argument)
        assert field in fields, f"{name}.{argument} is not a field of {cls.config_class.__name__}"
        if argument in STAND_INS:
            assert default is None  # None: the config's default weights
        else:
            assert default == fields[field], f"{name}.{argument}: {default!r} != {fields[field]!r}"
    assert {STAND_INS.get(a, a) for a in arguments} - LABEL_ARGUMENTS == set(fields)
    assert set(arguments) == set(cls.InitSchema.model_fields) - {"p", "strict"}
    assert cls().get_transform_init_args_names() == tuple(arguments)
    assert cls.stage in STAGES


def test_occlusion_default_configuration_weights_are_the_configs() -> None:
    assert TiAugOcclusion().config == TiAugOcclusion.config_class()


EXTREME = {
    "occlusion": {"temperature_extension": 3.0, "texture_std": 1.0},
    "noise": {"min_netd": 0.5, "max_netd": 1.0},
    "ambient": {"ambient_range": (-40.0, 90.0), "skin_coupling_range": (0.0, 1.0)},
    "drift": {"offset_range": (-20.0, 20.0), "gain_range": (0.2, 2.0)},
    "fixed_pattern": {"column_std_range": (1.0, 2.0), "row_std_range": (0.5, 1.0)},
}


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=thermal_cases(max_side=40))
def test_outputs_stay_within_the_stated_bounds(case: dict) -> None:
    image = case["image"]
    low, high = float(image.min()), float(image.max())
    for name, cls in TRANSFORMS.items():
        transform = cls(p=1.0, **EXTREME.get(name, {}))
        data = {"image": image} if case["mask"] is None else {"image": image, "mask": case["mask"]}
        out = A.Compose([transform], seed=case["seed"])(**data)["image"]
        bound_low, bound_high = transform.temperature_bounds(low, high)
        tolerance = 1e-3 * (1 + abs(low) + abs(high))
        assert bound_low - tolerance <= float(out.min()) and float(out.max()) <= bound_high + tolerance, name
        assert np.isfinite(out).all()


@dataclasses.dataclass(frozen=True)
class HazeConfig:
    amount: float = 1.0  # degrees Celsius added to every pixel


def test_a_new_scene_transform_needs_no_other_file() -> None:
    """A transform defined as in tiaug/transforms.py (with its config and bounds) joins the presets' scene steps,
    the row check's bounds and the provenance without any other change."""
    from albumentations.core.transforms_interface import ImageOnlyTransform

    from tiaug.presets import tiaug_pipeline, training_steps
    from tiaug.provenance import applied_params
    from tiaug.safety import pipeline_bounds
    from tiaug.thermal_transform import ThermalTransform, config_arguments, config_checker, init_schema

    class Haze(ThermalTransform, ImageOnlyTransform):
        name = "haze"
        stage = "camera"
        config_class = HazeConfig
        bounds = staticmethod(lambda config, low, high: (low, high + config.amount))
        InitSchema = init_schema(config_arguments(HazeConfig), config_checker(HazeConfig))

        def __init__(self, amount: float = HazeConfig.amount, p: float = 0.5) -> None:
            super().__init__(p=p)
            self._configure(amount=amount)

        def get_params_dependent_on_data(self, params: dict, data: dict) -> dict:
            return {"haze": {"amount": self.amount}}

        def apply(self, img: np.ndarray, haze: dict, **params: object) -> np.ndarray:
            return img + img.dtype.type(haze["amount"])

    try:
        assert "haze" in [step.name for step in training_steps(p_scene=0.5)]
        pipeline = tiaug_pipeline(scene=True, seed=0)
        assert [type(t).__name__ for t in pipeline.transforms][-2:] == ["Haze", "ThermalNoise"]
        haze = A.Compose([Haze(amount=2.0, p=1.0)], save_applied_params=True)
        assert pipeline_bounds(haze, 20.0, 30.0) == (20.0, 32.0)
        image = np.full((8, 8), 25.0, np.float32)
        assert applied_params(haze(image=image)) == [{"transform": "Haze", "params": {"amount": 2.0}}]
    finally:
        TRANSFORMS.pop("haze")
