"""Albumentations transforms over the TiAug functional core.

``TiAugOcclusion`` (image + mask) and ``ThermalNoise`` (image only) are thin wrappers: they validate their
arguments at construction (pydantic ``InitSchema``), draw every random choice from Albumentations' own
``self.random_generator`` (so ``A.Compose([...], seed=S)`` is reproducible), and serialise with
``A.to_dict`` / ``A.from_dict`` / ``A.save`` / ``A.load`` once ``tiaug.transforms`` is imported.

``TemperatureSafe`` runs Albumentations transforms that assume float images in [0, 1] (blur, brightness,
Gaussian noise...) on images in degrees Celsius: it maps the image's temperature range to [0, 1], runs them
and maps the result back.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import typing
from typing import Annotated, Any

import numpy as np
from albumentations.core.composition import Sequential
from albumentations.core.transforms_interface import (
    BaseTransformInitSchema,
    BasicTransform,
    DualTransform,
    ImageOnlyTransform,
)
from pydantic import BaseModel, Field, create_model, model_validator

from tiaug.functional.noise import NoiseConfig, apply_thermal_noise, sample_thermal_noise
from tiaug.functional.occlusion import (
    CONFIGURATIONS,
    DEFAULT_MASK_POLICY,
    Configuration,
    MaskPolicy,
    OcclusionConfig,
    OcclusionPlan,
    apply_mask_policy,
    render_occlusion,
    sample_occlusion,
)
from tiaug.functional.scene import (
    AmbientConfig,
    AmbientPlan,
    DriftConfig,
    FixedPatternConfig,
    apply_ambient,
    apply_drift,
    apply_fixed_pattern,
    sample_ambient,
    sample_drift,
    sample_fixed_pattern,
)
from tiaug.labels import IGNORE_INDEX
from tiaug.validation import as_2d_view, check_thermal_image

#: Weights of the configurations when ``configurations`` is None: OcclusionConfig's defaults, by name.
DEFAULT_CONFIGURATIONS = dict(zip(CONFIGURATIONS, OcclusionConfig.configuration_weights, strict=True))
DEFAULT_P = 0.5

Arguments = dict[str, tuple[Any, Any]]  # argument name -> (type, default), in signature order


def config_arguments(config: type, replace: dict[str, Arguments] | None = None, **extra: tuple[Any, Any]) -> Arguments:
    """A transform's arguments from a functional config dataclass: its fields (types and defaults), in order.

    ``replace`` maps a field to the argument(s) standing in its place; ``extra`` are appended after the fields.
    """
    hints = typing.get_type_hints(config, include_extras=True)
    arguments: Arguments = {}
    for f in dataclasses.fields(config):
        arguments.update((replace or {}).get(f.name, {f.name: (hints[f.name], f.default)}))
    return {**arguments, **extra}


def init_schema(arguments: Arguments, check: typing.Callable[[BaseModel], object]) -> type[BaseTransformInitSchema]:
    """The pydantic ``InitSchema`` of a transform with these arguments; ``check(schema)`` validates them together."""

    def _check(self: BaseModel) -> BaseModel:
        check(self)  # raises ValueError naming the bad argument
        return self

    fields = {name: (kind, ...) for name, (kind, _) in arguments.items()}
    validators = {"_check_together": model_validator(mode="after")(_check)}
    return create_model("InitSchema", __base__=BaseTransformInitSchema, __validators__=validators, **fields)


def init_signature(arguments: Arguments) -> inspect.Signature:
    """``__init__(self, <arguments>..., p=0.5)``: what Albumentations validates and serialises."""
    kind = inspect.Parameter.POSITIONAL_OR_KEYWORD
    parameters = [inspect.Parameter("self", kind)]
    parameters += [inspect.Parameter(n, kind, default=d, annotation=t) for n, (t, d) in arguments.items()]
    return inspect.Signature([*parameters, inspect.Parameter("p", kind, default=DEFAULT_P, annotation=float)])


def config_init(arguments: Arguments, config: type | None = None) -> typing.Callable[..., None]:
    """An ``__init__`` with ``init_signature(arguments)`` that stores every argument as an attribute and, given a
    functional ``config`` dataclass, builds ``self.config`` from the attributes of the same names."""

    def __init__(self: BasicTransform, **kwargs: Any) -> None:
        BasicTransform.__init__(self, p=kwargs.pop("p"))
        for name, value in kwargs.items():
            setattr(self, name, value)
        if config is not None:
            self.config = config_from(config, self)

    __init__.__signature__ = init_signature(arguments)  # type: ignore[attr-defined]
    return __init__


def config_from(config: type, args: Any) -> Any:
    """``config(**fields)`` from the attributes of ``args`` named like the config's fields (lists become tuples)."""
    fields = {f.name: getattr(args, f.name) for f in dataclasses.fields(config)}
    return config(**{k: tuple(v) if isinstance(v, list) else v for k, v in fields.items()})


_OCCLUSION_ARGUMENTS = config_arguments(
    OcclusionConfig,
    replace={"configuration_weights": {"configurations": (dict[Configuration, float] | None, None)}},
    mask_policy=(MaskPolicy, DEFAULT_MASK_POLICY),
    ignore_index=(Annotated[int, Field(ge=0)], IGNORE_INDEX),
)
_NOISE_ARGUMENTS = config_arguments(NoiseConfig)
_AMBIENT_ARGUMENTS = config_arguments(AmbientConfig)
_DRIFT_ARGUMENTS = config_arguments(DriftConfig)
_FIXED_PATTERN_ARGUMENTS = config_arguments(FixedPatternConfig)


def _occlusion_config(args: Any) -> OcclusionConfig:
    """The functional :class:`OcclusionConfig` for transform/schema arguments (validates every range)."""
    weights = args.configurations if args.configurations is not None else DEFAULT_CONFIGURATIONS
    unknown = set(weights) - set(CONFIGURATIONS)
    if unknown:
        raise ValueError(f"unknown configuration(s) {sorted(unknown)}; choose from {CONFIGURATIONS}")
    fields = {f.name: getattr(args, f.name) for f in dataclasses.fields(OcclusionConfig) if hasattr(args, f.name)}
    fields = {k: tuple(v) if isinstance(v, list | tuple) else v for k, v in fields.items()}
    weights = tuple(float(weights.get(name, 0.0)) for name in CONFIGURATIONS)
    return OcclusionConfig(**{**fields, "configuration_weights": weights})


class TiAugOcclusion(DualTransform):
    """Synthesised thermal occluders (the poster's TiAug): polygons or strokes at chosen temperatures.

    Args: the fields of :class:`~tiaug.functional.occlusion.OcclusionConfig` (same names, same defaults: the
    poster's ranges), except that ``configuration_weights`` is given by name, plus the labels and ``p``:

        size_range: occluded area as a fraction of the face area (mask > 0; without a mask, the pixels warmer
            than the middle of the image's range), in (0, 1]. For two occluders: their total.
        vertices_range: polygon vertices (inclusive), >= 2; 2 draws a thick stroke (cable, glasses arm).
        irregularity_range, spikiness_range, temperature_extension, min_temperature_span,
        temperature_relation, texture_std, min_dual_difference, stroke_aspect_range, bar_thickness_range,
        min_area_px: see ``OcclusionConfig``.
        configurations: relative weights of "single", "dual" and "connected" (missing names weigh 0;
            None: all equal).
        mask_policy: labels under occluders: "keep" (the paper's), "background" (0) or "ignore".
        ignore_index: label written by the "ignore" policy (``tiaug.labels.IGNORE_INDEX``).
        p: probability of applying the transform.

    Targets: image ((H, W) or (H, W, 1) float32/float64 degrees Celsius), mask (class indices).
    The sampled parameters of the last call are in ``self.params["tiaug"]`` (JSON-serialisable), and in
    ``A.Compose(..., save_applied_params=True)`` results (see :func:`tiaug.provenance.applied_params`).
    """

    InitSchema = init_schema(_OCCLUSION_ARGUMENTS, _occlusion_config)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(p=kwargs.pop("p"))
        for name, value in kwargs.items():
            setattr(self, name, value)
        self.configurations = dict(DEFAULT_CONFIGURATIONS if self.configurations is None else self.configurations)
        self.config = _occlusion_config(self)

    __init__.__signature__ = init_signature(_OCCLUSION_ARGUMENTS)

    def get_transform_init_args_names(self) -> tuple[str, ...]:
        return tuple(_OCCLUSION_ARGUMENTS)

    def get_params_dependent_on_data(self, params: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
        image = data["image"] if "image" in data else data["images"][0]
        plan = sample_occlusion(image, data.get("mask"), self.random_generator, self.config)
        return {"plan": plan, "tiaug": plan.params}

    def apply(self, img: np.ndarray, plan: OcclusionPlan, **params: Any) -> np.ndarray:
        return render_occlusion(img, plan)

    def apply_to_mask(self, mask: np.ndarray, plan: OcclusionPlan, **params: Any) -> np.ndarray:
        if self.mask_policy == "keep":
            return mask
        return apply_mask_policy(mask, plan, self.mask_policy, self.ignore_index)


class ThermalNoise(ImageOnlyTransform):
    """Per-pixel white Gaussian sensor noise whose standard deviation (NETD) is drawn in [min_netd, max_netd].

    Args: the fields of :class:`~tiaug.functional.noise.NoiseConfig` (same names and defaults) and ``p``:
        min_netd: smallest noise standard deviation, degrees Celsius (>= 0).
        max_netd: largest noise standard deviation, degrees Celsius (poster: 0.1).
        exact: draw a fresh field per image instead of a window of a constant N(0, 1) texture (slower; see
            :mod:`tiaug.functional.noise`).
        p: probability of applying the transform.

    Targets: image ((H, W) or (H, W, 1) float32/float64 degrees Celsius).
    """

    InitSchema = init_schema(_NOISE_ARGUMENTS, functools.partial(config_from, NoiseConfig))
    __init__ = config_init(_NOISE_ARGUMENTS)

    def get_transform_init_args_names(self) -> tuple[str, ...]:
        return tuple(_NOISE_ARGUMENTS)

    def get_params_dependent_on_data(self, params: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
        height, width = params["shape"][:2]
        return {
            "noise": sample_thermal_noise(
                self.random_generator, height, width, self.min_netd, self.max_netd, self.exact
            )
        }

    def apply(self, img: np.ndarray, noise: dict[str, Any], **params: Any) -> np.ndarray:
        view = as_2d_view(img)
        if view.dtype.kind != "f":
            check_thermal_image(img)  # raises the explanatory error for integer images
        return apply_thermal_noise(img, noise)


class TemperatureSafe(Sequential):
    """Run [0, 1]-assuming Albumentations transforms on an image in degrees Celsius, keeping temperatures.

    Albumentations 2 treats float images as values in [0, 1]: ``GaussianBlur``, ``GaussNoise``,
    ``MotionBlur``, ``Sharpen``, ``Downscale`` and ``RandomBrightnessContrast`` clip every pixel to 1.0.
    This wrapper maps the image linearly from [Tmin, Tmax] to [0, 1], applies ``transforms`` in order with
    probability ``p``, and maps the result back, so a blur of a 20-35 C face stays a 20-35 C face. Masks pass
    through the wrapped transforms untouched by the mapping. Geometric transforms that fill borders (Rotate,
    Affine, PadIfNeeded) do not need it: give them ``border_mode=cv2.BORDER_REFLECT_101`` instead, since a
    constant fill would be a temperature.
    """

    def __call__(self, *args: Any, force_apply: bool = False, **data: Any) -> dict[str, Any]:
        if not (force_apply or self.py_random.random() < self.p):
            return data
        image = data["image"]
        _, t_min, t_max = check_thermal_image(image)
        span = max(t_max - t_min, 1e-6)
        data["image"] = ((image - t_min) / span).astype(np.float32)
        data = super().__call__(*args, force_apply=True, **data)
        restored = data["image"].astype(image.dtype) * image.dtype.type(span) + image.dtype.type(t_min)
        if image.ndim == 2 and restored.ndim == 3:
            restored = restored[:, :, 0]
        data["image"] = restored
        return data


class AmbientTemperature(ImageOnlyTransform):
    """A new room temperature, the skin following partially (:func:`tiaug.functional.scene.ambient_temperature`).

    Arguments: the fields of :class:`~tiaug.functional.scene.AmbientConfig` (``ambient_range`` in degrees
    Celsius, ``skin_coupling_range``, ``max_skin_temperature``, ``min_contrast``, ``edge_sigma``) and ``p``.
    Reads the mask (face = class > 0) when one is given and never changes it. Provenance under "ambient".
    """

    InitSchema = init_schema(_AMBIENT_ARGUMENTS, functools.partial(config_from, AmbientConfig))
    __init__ = config_init(_AMBIENT_ARGUMENTS, AmbientConfig)

    def get_transform_init_args_names(self) -> tuple[str, ...]:
        return tuple(_AMBIENT_ARGUMENTS)

    def get_params_dependent_on_data(self, params: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
        plan = sample_ambient(data["image"], data.get("mask"), self.random_generator, self.config)
        return {"plan": plan, "ambient": plan.params}

    def apply(self, img: np.ndarray, plan: AmbientPlan, **params: Any) -> np.ndarray:
        return apply_ambient(img, plan, self.config.edge_sigma)


class CameraDrift(ImageOnlyTransform):
    """Global offset and gain of the frame (:func:`tiaug.functional.scene.camera_drift`).

    Arguments: the fields of :class:`~tiaug.functional.scene.DriftConfig` (``offset_range`` in degrees Celsius,
    ``gain_range`` about the frame's median) and ``p``. Provenance under "drift".
    """

    InitSchema = init_schema(_DRIFT_ARGUMENTS, functools.partial(config_from, DriftConfig))
    __init__ = config_init(_DRIFT_ARGUMENTS, DriftConfig)

    def get_transform_init_args_names(self) -> tuple[str, ...]:
        return tuple(_DRIFT_ARGUMENTS)

    def get_params_dependent_on_data(self, params: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
        return {"drift": sample_drift(data["image"], self.random_generator, self.config)}

    def apply(self, img: np.ndarray, drift: dict[str, float], **params: Any) -> np.ndarray:
        return apply_drift(img, drift)


class FixedPatternNoise(ImageOnlyTransform):
    """Column and row stripes of a microbolometer (:func:`tiaug.functional.scene.fixed_pattern_noise`).

    Arguments: the fields of :class:`~tiaug.functional.scene.FixedPatternConfig` (``column_std_range``,
    ``row_std_range`` in degrees Celsius) and ``p``. Provenance under "fixed_pattern".
    """

    InitSchema = init_schema(_FIXED_PATTERN_ARGUMENTS, functools.partial(config_from, FixedPatternConfig))
    __init__ = config_init(_FIXED_PATTERN_ARGUMENTS, FixedPatternConfig)

    def get_transform_init_args_names(self) -> tuple[str, ...]:
        return tuple(_FIXED_PATTERN_ARGUMENTS)

    def get_params_dependent_on_data(self, params: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
        check_thermal_image(data["image"])
        return {"fixed_pattern": sample_fixed_pattern(self.random_generator, self.config)}

    def apply(self, img: np.ndarray, fixed_pattern: dict[str, Any], **params: Any) -> np.ndarray:
        return apply_fixed_pattern(img, fixed_pattern)
