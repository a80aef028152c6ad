"""Albumentations transforms over the TiAug functional core, and the registry of TiAug steps.

Every TiAug transform is a thin wrapper over :mod:`tiaug.functional`: it validates its arguments at construction
(pydantic ``InitSchema`` built from the functional config dataclass, whose defaults its explicit ``__init__``
repeats by reference), draws every random choice from Albumentations' own ``self.random_generator`` (so
``A.Compose([...], seed=S)`` is reproducible), states the temperatures it can produce
(:meth:`ThermalTransform.temperature_bounds`, what :mod:`tiaug.safety` checks each output row against), and is
registered by its step ``name`` in :data:`TRANSFORMS` (what :mod:`tiaug.presets` builds pipelines from) with the
``stage`` of the imaging chain it belongs to (:data:`STAGES`).

Targets: ``image`` or ``images`` (a recording as a (T, H, W) stack: the same scene and occluders on every frame,
sensor noise drawn fresh per frame), ``mask``/``masks`` (read for the face, relabelled only by
``TiAugOcclusion``'s mask policy), ``keypoints`` and ``bboxes`` (passed through unchanged).

Adding a transform: its config dataclass, ``sample_*``/``apply_*`` and ``*_bounds`` in a module of
:mod:`tiaug.functional`, and a :class:`ThermalTransform` subclass here (``name``, ``stage``, ``config_class``,
``bounds``, an explicit ``__init__``). The presets (a "scene" or "camera" stage joins the scene steps), the row
check of :mod:`tiaug.safety`, the provenance and ``samcl-train`` (arguments from the training option of the same
name, when there is one) pick it up from :data:`TRANSFORMS`.

``TemperatureSafe`` runs Albumentations transforms that assume float images in [0, 1] (blur, brightness,
Gaussian noise...) on images in degrees Celsius: it maps the image's temperature range to [0, 1], runs them
and maps the result back.
"""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any

import numpy as np
from albumentations.core.composition import Sequential
from albumentations.core.transforms_interface import DualTransform, ImageOnlyTransform
from pydantic import Field

from tiaug.functional.noise import NoiseConfig, apply_thermal_noise, noise_bounds, sample_thermal_noise
from tiaug.functional.occluded import DEFAULT_MASK_POLICY, MaskPolicy, apply_mask_policy, occluded_keypoints
from tiaug.functional.occlusion import (
    CONFIGURATIONS,
    Configuration,
    OcclusionConfig,
    OcclusionPlan,
    occlusion_bounds,
    render_occlusion,
    sample_occlusion,
)
from tiaug.functional.scene import (
    AmbientConfig,
    AmbientPlan,
    DriftConfig,
    FixedPatternConfig,
    ambient_bounds,
    apply_ambient,
    apply_drift,
    apply_fixed_pattern,
    drift_bounds,
    fixed_pattern_bounds,
    sample_ambient,
    sample_drift,
    sample_fixed_pattern,
)
from tiaug.labels import IGNORE_INDEX
from tiaug.thermal_transform import (
    DEFAULT_P,
    STAGES,
    TRANSFORMS,
    Stage,
    ThermalTransform,
    config_arguments,
    config_from,
    config_schema,
    init_schema,
)
from tiaug.validation import as_2d_view, check_thermal_image, warn_if_not_celsius

__all__ = [
    "STAGES",
    "TRANSFORMS",
    "AmbientTemperature",
    "CameraDrift",
    "FixedPatternNoise",
    "Stage",
    "TemperatureSafe",
    "ThermalNoise",
    "ThermalTransform",
    "TiAugOcclusion",
    "config_from",
]
#: Weights of the configurations when ``configurations`` is None: OcclusionConfig's defaults, by name.
DEFAULT_CONFIGURATIONS = dict(zip(CONFIGURATIONS, OcclusionConfig.configuration_weights, strict=True))


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


_OCCLUSION_ARGUMENTS = config_arguments(
    OcclusionConfig,
    replace={"configuration_weights": {"configurations": (dict[Configuration, float] | None, None)}},
    mask_policy=(MaskPolicy, DEFAULT_MASK_POLICY),
    ignore_index=(Annotated[int, Field(ge=0)], IGNORE_INDEX),
)
_C = OcclusionConfig  # the defaults of TiAugOcclusion's arguments


class TiAugOcclusion(ThermalTransform, DualTransform):
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

    Targets: image ((H, W) or (H, W, 1) float32/float64 degrees Celsius) or images (the same occluders on every
    frame), mask/masks (class indices), keypoints and bboxes (unchanged; the indices of keypoints under an occluder
    are recorded as "occluded_keypoints"). The sampled parameters of the last call
    are in ``self.params["occlusion"]`` (JSON-serialisable), and in ``A.Compose(..., save_applied_params=True)``
    results (see :func:`tiaug.provenance.applied_params`).
    """

    name = "occlusion"
    stage = "occluder"
    config_class = OcclusionConfig
    bounds = staticmethod(occlusion_bounds)
    InitSchema = init_schema(_OCCLUSION_ARGUMENTS, _occlusion_config)

    def __init__(
        self,
        size_range: tuple[float, float] = _C.size_range,
        vertices_range: tuple[int, int] = _C.vertices_range,
        irregularity_range: tuple[float, float] = _C.irregularity_range,
        spikiness_range: tuple[float, float] = _C.spikiness_range,
        temperature_extension: float = _C.temperature_extension,
        min_temperature_span: float = _C.min_temperature_span,
        temperature_relation: str = _C.temperature_relation,
        configurations: dict[str, float] | None = None,
        texture_std: float = _C.texture_std,
        min_dual_difference: float = _C.min_dual_difference,
        stroke_aspect_range: tuple[float, float] = _C.stroke_aspect_range,
        bar_thickness_range: tuple[float, float] = _C.bar_thickness_range,
        min_area_px: float = _C.min_area_px,
        mask_policy: MaskPolicy = DEFAULT_MASK_POLICY,
        ignore_index: int = IGNORE_INDEX,
        p: float = DEFAULT_P,
    ) -> None:
        super().__init__(p=p)
        self._configure(
            size_range=size_range,
            vertices_range=vertices_range,
            irregularity_range=irregularity_range,
            spikiness_range=spikiness_range,
            temperature_extension=temperature_extension,
            min_temperature_span=min_temperature_span,
            temperature_relation=temperature_relation,
            configurations=dict(DEFAULT_CONFIGURATIONS if configurations is None else configurations),
            texture_std=texture_std,
            min_dual_difference=min_dual_difference,
            stroke_aspect_range=stroke_aspect_range,
            bar_thickness_range=bar_thickness_range,
            min_area_px=min_area_px,
            mask_policy=mask_policy,
            ignore_index=ignore_index,
        )

    def _make_config(self) -> OcclusionConfig:
        return _occlusion_config(self)

    def get_params_dependent_on_data(self, params: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
        image, mask = self.plan_image(data)
        plan = sample_occlusion(image, mask, self.random_generator, self.config)
        if data.get("keypoints") is not None and len(data["keypoints"]):
            plan.params["occluded_keypoints"] = occluded_keypoints(plan, data["keypoints"], image.shape)
        return {"plan": plan, "occlusion": plan.params}

    def apply(self, img: np.ndarray, plan: OcclusionPlan, **params: Any) -> np.ndarray:
        return render_occlusion(img, plan)

    def apply_to_mask(self, mask: np.ndarray, plan: OcclusionPlan, **params: Any) -> np.ndarray:
        if self.mask_policy == "keep":
            return mask
        return apply_mask_policy(mask, plan, self.mask_policy, self.ignore_index)


class AmbientTemperature(ThermalTransform, ImageOnlyTransform):
    """A new room temperature, the skin following partially (:func:`tiaug.functional.scene.ambient_temperature`).

    Arguments: the fields of :class:`~tiaug.functional.scene.AmbientConfig` (``ambient_range`` in degrees
    Celsius, ``skin_coupling_range``, ``max_skin_temperature``, ``min_contrast``, ``edge_sigma``) and ``p``.
    Reads the mask (face = class > 0) when one is given and never changes it. Provenance under "ambient".
    """

    name = "ambient"
    stage = "scene"
    config_class = AmbientConfig
    bounds = staticmethod(ambient_bounds)
    InitSchema = config_schema(config_class)

    def __init__(
        self,
        ambient_range: tuple[float, float] = AmbientConfig.ambient_range,
        skin_coupling_range: tuple[float, float] = AmbientConfig.skin_coupling_range,
        max_skin_temperature: float = AmbientConfig.max_skin_temperature,
        min_contrast: float = AmbientConfig.min_contrast,
        edge_sigma: float = AmbientConfig.edge_sigma,
        p: float = DEFAULT_P,
    ) -> None:
        super().__init__(p=p)
        self._configure(
            ambient_range=ambient_range,
            skin_coupling_range=skin_coupling_range,
            max_skin_temperature=max_skin_temperature,
            min_contrast=min_contrast,
            edge_sigma=edge_sigma,
        )

    def get_params_dependent_on_data(self, params: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
        plan = sample_ambient(*self.plan_image(data), self.random_generator, self.config)
        return {"plan": plan, "ambient": plan.params}

    def apply(self, img: np.ndarray, plan: AmbientPlan, **params: Any) -> np.ndarray:
        return apply_ambient(img, plan, self.config.edge_sigma)


class CameraDrift(ThermalTransform, ImageOnlyTransform):
    """Global offset and gain of the frame (:func:`tiaug.functional.scene.camera_drift`).

    Arguments: the fields of :class:`~tiaug.functional.scene.DriftConfig` (``offset_range`` in degrees Celsius,
    ``gain_range`` about the frame's median) and ``p``. Provenance under "drift".
    """

    name = "drift"
    stage = "camera"
    config_class = DriftConfig
    bounds = staticmethod(drift_bounds)
    InitSchema = config_schema(config_class)

    def __init__(
        self,
        offset_range: tuple[float, float] = DriftConfig.offset_range,
        gain_range: tuple[float, float] = DriftConfig.gain_range,
        p: float = DEFAULT_P,
    ) -> None:
        super().__init__(p=p)
        self._configure(offset_range=offset_range, gain_range=gain_range)

    def get_params_dependent_on_data(self, params: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
        return {"drift": sample_drift(self.plan_image(data)[0], self.random_generator, self.config)}

    def apply(self, img: np.ndarray, drift: dict[str, float], **params: Any) -> np.ndarray:
        return apply_drift(img, drift)


class FixedPatternNoise(ThermalTransform, ImageOnlyTransform):
    """Column and row stripes of a microbolometer (:func:`tiaug.functional.scene.fixed_pattern_noise`), the same
    on every frame of a recording.

    Arguments: the fields of :class:`~tiaug.functional.scene.FixedPatternConfig` (``column_std_range``,
    ``row_std_range`` in degrees Celsius) and ``p``. Provenance under "fixed_pattern".
    """

    name = "fixed_pattern"
    stage = "camera"
    config_class = FixedPatternConfig
    bounds = staticmethod(fixed_pattern_bounds)
    InitSchema = config_schema(config_class)

    def __init__(
        self,
        column_std_range: tuple[float, float] = FixedPatternConfig.column_std_range,
        row_std_range: tuple[float, float] = FixedPatternConfig.row_std_range,
        p: float = DEFAULT_P,
    ) -> None:
        super().__init__(p=p)
        self._configure(column_std_range=column_std_range, row_std_range=row_std_range)

    def get_params_dependent_on_data(self, params: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
        check_thermal_image(self.plan_image(data)[0])
        return {"fixed_pattern": sample_fixed_pattern(self.random_generator, self.config)}

    def apply(self, img: np.ndarray, fixed_pattern: dict[str, Any], **params: Any) -> np.ndarray:
        return apply_fixed_pattern(img, fixed_pattern)


class ThermalNoise(ThermalTransform, ImageOnlyTransform):
    """Per-pixel white Gaussian sensor noise whose standard deviation (NETD) is drawn in [min_netd, max_netd].

    Args: the fields of :class:`~tiaug.functional.noise.NoiseConfig` (same names and defaults) and ``p``:
        min_netd: smallest noise standard deviation, degrees Celsius (>= 0).
        max_netd: largest noise standard deviation, degrees Celsius (poster: 0.1).
        exact: draw a fresh field per image instead of a window of a constant N(0, 1) texture (slower; see
            :mod:`tiaug.functional.noise`).
        p: probability of applying the transform.

    Targets: image ((H, W) or (H, W, 1) float32/float64 degrees Celsius), or images: a noise field (and NETD)
    drawn for every frame, as a sensor's noise differs from frame to frame (provenance: the first frame's).
    """

    name = "noise"
    stage = "sensor"
    config_class = NoiseConfig
    bounds = staticmethod(noise_bounds)
    InitSchema = config_schema(config_class)

    def __init__(
        self,
        min_netd: float = NoiseConfig.min_netd,
        max_netd: float = NoiseConfig.max_netd,
        exact: bool = NoiseConfig.exact,
        p: float = DEFAULT_P,
    ) -> None:
        super().__init__(p=p)
        self._configure(min_netd=min_netd, max_netd=max_netd, exact=exact)

    def get_params_dependent_on_data(self, params: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
        self.plan_image(data)
        height, width = params["shape"][:2]
        frames = len(data["images"]) if "image" not in data else 1
        c = self.config
        draws = [
            sample_thermal_noise(self.random_generator, height, width, c.min_netd, c.max_netd, c.exact)
            for _ in range(frames)
        ]
        return {"noise": draws[0], **({"frames": [{"noise": d} for d in draws]} if frames > 1 else {})}

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
    constant fill would be a temperature. Warns once when the image does not look like degrees Celsius.
    """

    def __call__(self, *args: Any, force_apply: bool = False, **data: Any) -> dict[str, Any]:
        if not (force_apply or self.py_random.random() < self.p):
            return data
        image = data["image"]
        _, t_min, t_max = check_thermal_image(image)
        warn_if_not_celsius(image, "TemperatureSafe")
        span = max(t_max - t_min, 1e-6)
        data["image"] = ((image - t_min) / span).astype(np.float32)
        data = super().__call__(*args, force_apply=True, **data)
        restored = data["image"].astype(image.dtype) * image.dtype.type(span) + image.dtype.type(t_min)
        if image.ndim == 2 and restored.ndim == 3:
            restored = restored[:, :, 0]
        data["image"] = restored
        return data

    def temperature_bounds(self, low: float, high: float) -> tuple[float, float]:
        """The wrapped transforms' range on [0, 1] (they may clip to it), mapped back onto [low, high]."""
        from tiaug.safety import pipeline_bounds  # the rules for Albumentations' own transforms

        inner_low, inner_high = pipeline_bounds(self.transforms, 0.0, 1.0)
        span = max(high - low, 1e-6)
        return low + inner_low * span, low + inner_high * span
