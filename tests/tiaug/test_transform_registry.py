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
