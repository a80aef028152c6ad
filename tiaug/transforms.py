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

from typing import Annotated, Any, Literal

import numpy as np
from albumentations.core.composition import Sequential
from albumentations.core.pydantic import check_range_bounds, nondecreasing
from albumentations.core.transforms_interface import (
    BaseTransformInitSchema,
    DualTransform,
    ImageOnlyTransform,
)
from pydantic import AfterValidator, Field, model_validator

from tiaug.config_init import init_from_config
from tiaug.functional.noise import apply_thermal_noise, sample_thermal_noise
from tiaug.functional.occlusion import (
    CONFIGURATIONS,
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
from tiaug.validation import as_2d_view, check_thermal_image

DEFAULT_CONFIGURATIONS = {"single": 1.0, "dual": 1.0, "connected": 1.0}

Fraction = Annotated[tuple[float, float], AfterValidator(check_range_bounds(0, 1)), AfterValidator(nondecreasing)]


class TiAugOcclusion(DualTransform):
    """Synthesised thermal occluders (the poster's TiAug): polygons or strokes at chosen temperatures.

    Args:
        size_range: occluded area as a fraction of the face area (mask > 0; without a mask, the pixels warmer
            than the middle of the image's range), in (0, 1]. For two occluders: their total.
        vertices_range: polygon vertices (inclusive), >= 2; 2 draws a thick stroke (cable, glasses arm).
        irregularity_range: spread of the angular spacing, fraction of 2*pi/n, in [0, 1] (poster: 0..0.1).
        spikiness_range: spread of the vertex radius, fraction of the mean radius, in [0, 1] (poster: 0..0.5).
        temperature_extension: occluder temperatures lie in [Tmin - e*span, Tmax + e*span] degrees Celsius,
            span = Tmax - Tmin of the image (poster: e = 1).
        min_temperature_span: span (degrees Celsius) used for near-constant images.
        temperature_relation: "poster" (single: any; dual: both colder than the face; connected: both colder or
            both warmer), or "any", "lower", "higher" for every configuration.
        configurations: relative weights of "single", "dual" and "connected" (missing names weigh 0).
        texture_std: per-pixel texture inside occluders, degrees Celsius.
        min_dual_difference: smallest difference between the two dual temperatures, degrees Celsius.
        stroke_aspect_range: length / thickness of 2-vertex strokes.
        bar_thickness_range: connecting bar thickness, fraction of the smaller occluder's equivalent radius.
        min_area_px: smallest occluder area, pixels.
        mask_policy: labels under occluders: "keep" (the paper's), "background" (0) or "ignore".
        ignore_index: label written by the "ignore" policy.
        p: probability of applying the transform.

    Targets: image ((H, W) or (H, W, 1) float32/float64 degrees Celsius), mask (class indices).
    The sampled parameters of the last call are in ``self.params["tiaug"]`` (JSON-serialisable), and in
    ``A.Compose(..., save_applied_params=True)`` results (see :func:`tiaug.provenance.applied_params`).
    """

    class InitSchema(BaseTransformInitSchema):
        size_range: tuple[float, float]
        vertices_range: tuple[int, int]
        irregularity_range: Fraction
        spikiness_range: Fraction
        temperature_extension: float = Field(ge=0)
        min_temperature_span: float = Field(gt=0)
        temperature_relation: Literal["poster", "any", "lower", "higher"]
        configurations: dict[Literal["single", "dual", "connected"], float] | None
        texture_std: float = Field(ge=0)
        min_dual_difference: float = Field(ge=0)
        stroke_aspect_range: tuple[float, float]
        bar_thickness_range: tuple[float, float]
        min_area_px: float = Field(gt=0)
        mask_policy: Literal["keep", "background", "ignore"]
        ignore_index: int = Field(ge=0)

        @model_validator(mode="after")
        def _check_with_functional_config(self) -> TiAugOcclusion.InitSchema:
            _occlusion_config(self)  # raises ValueError naming the bad range
            return self

    def __init__(
        self,
        size_range: tuple[float, float] = (0.01, 0.40),
        vertices_range: tuple[int, int] = (2, 30),
        irregularity_range: tuple[float, float] = (0.0, 0.10),
        spikiness_range: tuple[float, float] = (0.0, 0.50),
        temperature_extension: float = 1.0,
        min_temperature_span: float = 1.0,
        temperature_relation: Literal["poster", "any", "lower", "higher"] = "poster",
        configurations: dict[str, float] | None = None,
        texture_std: float = 0.1,
        min_dual_difference: float = 0.5,
        stroke_aspect_range: tuple[float, float] = (3.0, 12.0),
        bar_thickness_range: tuple[float, float] = (0.15, 0.40),
        min_area_px: float = 4.0,
        mask_policy: Literal["keep", "background", "ignore"] = "keep",
        ignore_index: int = 255,
        p: float = 0.5,
    ):
        super().__init__(p=p)
        self.size_range = size_range
        self.vertices_range = vertices_range
        self.irregularity_range = irregularity_range
        self.spikiness_range = spikiness_range
        self.temperature_extension = temperature_extension
        self.min_temperature_span = min_temperature_span
        self.temperature_relation = temperature_relation
        self.configurations = dict(DEFAULT_CONFIGURATIONS if configurations is None else configurations)
        self.texture_std = texture_std
        self.min_dual_difference = min_dual_difference
        self.stroke_aspect_range = stroke_aspect_range
        self.bar_thickness_range = bar_thickness_range
        self.min_area_px = min_area_px
        self.mask_policy = mask_policy
        self.ignore_index = ignore_index
        self.config = _occlusion_config(self)

    def get_transform_init_args_names(self) -> tuple[str, ...]:
        return (
            "size_range", "vertices_range", "irregularity_range", "spikiness_range", "temperature_extension",
            "min_temperature_span", "temperature_relation", "configurations", "texture_std",
            "min_dual_difference", "stroke_aspect_range", "bar_thickness_range", "min_area_px", "mask_policy",
            "ignore_index",
        )  # fmt: skip

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


def _occlusion_config(args: Any) -> OcclusionConfig:
    """The functional :class:`OcclusionConfig` for transform/schema arguments (validates every range)."""
    weights = args.configurations if args.configurations is not None else DEFAULT_CONFIGURATIONS
    unknown = set(weights) - set(CONFIGURATIONS)
    if unknown:
        raise ValueError(f"unknown configuration(s) {sorted(unknown)}; choose from {CONFIGURATIONS}")
    return OcclusionConfig(
        size_range=tuple(args.size_range),
        vertices_range=tuple(args.vertices_range),
        irregularity_range=tuple(args.irregularity_range),
        spikiness_range=tuple(args.spikiness_range),
        temperature_extension=args.temperature_extension,
        min_temperature_span=args.min_temperature_span,
        temperature_relation=args.temperature_relation,
        configuration_weights=tuple(float(weights.get(name, 0.0)) for name in CONFIGURATIONS),
        texture_std=args.texture_std,
        min_dual_difference=args.min_dual_difference,
        stroke_aspect_range=tuple(args.stroke_aspect_range),
        bar_thickness_range=tuple(args.bar_thickness_range),
        min_area_px=args.min_area_px,
    )


class ThermalNoise(ImageOnlyTransform):
    """Per-pixel white Gaussian sensor noise whose standard deviation (NETD) is drawn in [min_netd, max_netd].

    Args:
        min_netd: smallest noise standard deviation, degrees Celsius (>= 0).
        max_netd: largest noise standard deviation, degrees Celsius (poster: 0.1).
        exact: draw a fresh field per image instead of a window of a constant N(0, 1) texture (slower; see
            :mod:`tiaug.functional.noise`).
        p: probability of applying the transform.

    Targets: image ((H, W) or (H, W, 1) float32/float64 degrees Celsius).
    """

    class InitSchema(BaseTransformInitSchema):
        min_netd: float = Field(ge=0)
        max_netd: float = Field(ge=0)
        exact: bool

        @model_validator(mode="after")
        def _ordered(self) -> ThermalNoise.InitSchema:
            if self.min_netd > self.max_netd:
                raise ValueError(f"min_netd ({self.min_netd}) must not exceed max_netd ({self.max_netd})")
            return self

    def __init__(self, min_netd: float = 0.0, max_netd: float = 0.1, exact: bool = False, p: float = 0.5):
        super().__init__(p=p)
        self.min_netd = min_netd
        self.max_netd = max_netd
        self.exact = exact

    def get_transform_init_args_names(self) -> tuple[str, ...]:
        return ("min_netd", "max_netd", "exact")

    def get_params_dependent_on_data(self, params: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
        height, width = params["shape"][:2]
        return {
            "noise": sample_thermal_noise(
                self.random_generator, height, width, self.min_netd, self.max_netd, self.exact
            )
        }

    def apply(self, img: np.ndarray, noise: dict[str, Any], **params: Any) -> np.ndarray:
        view = as_2d_view(img)
        if not np.issubdtype(view.dtype, np.floating):
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

    __init__ = init_from_config(AmbientConfig, p=0.5)

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

    __init__ = init_from_config(DriftConfig, p=0.5)

    def get_params_dependent_on_data(self, params: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
        return {"drift": sample_drift(data["image"], self.random_generator, self.config)}

    def apply(self, img: np.ndarray, drift: dict[str, float], **params: Any) -> np.ndarray:
        return apply_drift(img, drift)


class FixedPatternNoise(ImageOnlyTransform):
    """Column and row stripes of a microbolometer (:func:`tiaug.functional.scene.fixed_pattern_noise`).

    Arguments: the fields of :class:`~tiaug.functional.scene.FixedPatternConfig` (``column_std_range``,
    ``row_std_range`` in degrees Celsius) and ``p``. Provenance under "fixed_pattern".
    """

    __init__ = init_from_config(FixedPatternConfig, p=0.5)

    def get_params_dependent_on_data(self, params: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
        check_thermal_image(data["image"])
        return {"fixed_pattern": sample_fixed_pattern(self.random_generator, self.config)}

    def apply(self, img: np.ndarray, fixed_pattern: dict[str, Any], **params: Any) -> np.ndarray:
        return apply_fixed_pattern(img, fixed_pattern)
