"""Synthesised occluders (the poster's f_occ and g(size, shape, temp, xy, config)), as pure functions.

Sampling and drawing are split, as in Albumentations: :func:`sample_occlusion` looks at the image (its
temperature range, the face) and draws every random choice from the caller's generator into an
:class:`OcclusionPlan`; :func:`render_occlusion` and :func:`apply_mask_policy` then apply that plan to the
image and to its label mask. :func:`occlude` does both in one call.

Sizes are fractions of the face area (see :mod:`tiaug.functional.face`); for the two-occluder
configurations the sampled size is the total of both polygons, split 30/70 to 70/30 between them (the
connecting bar comes on top). Temperatures (degrees Celsius) are drawn in
``[Tmin - e * span, Tmax + e * span]`` with ``span = max(Tmax - Tmin, min_temperature_span)`` and
``e = temperature_extension`` (1.0: the poster's ``Tmin - (Tmax - Tmin) .. Tmax + (Tmax - Tmin)``). An
occluder asked to be lower (higher) than the face is drawn below (above) the face's median temperature,
and its pixels, texture included, are clipped to stay on that side.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple, get_args

import cv2
import numpy as np

from tiaug.functional.augmented import Augmented
from tiaug.functional.face import FaceStats, face_statistics
from tiaug.functional.noise import fits_texture, fresh_field_window, texture_chunks, texture_range, texture_window
from tiaug.functional.occluded import DEFAULT_MASK_POLICY, MaskPolicy, apply_mask_policy
from tiaug.functional.polygon import Outline, bar_between, random_outline
from tiaug.functional.raster import Region, clip_region, fit_to_area, rasterize
from tiaug.labels import IGNORE_INDEX
from tiaug.validation import check_mask, check_number, check_range, check_thermal_image

Configuration = Literal["single", "dual", "connected"]
Relation = Literal["poster", "any", "lower", "higher"]
CONFIGURATIONS: tuple[Configuration, ...] = get_args(Configuration)
RELATIONS: tuple[Relation, ...] = get_args(Relation)

#: Documented limits of OcclusionConfig's scalar fields (refused beyond them): occluders at most 10 image spans
#: beyond the image's range, textures and differences of at most 10 and 100 degrees Celsius.
OCCLUSION_LIMITS = {
    "temperature_extension": (0.0, 10.0),
    "min_temperature_span": (0.0, 100.0),
    "texture_std": (0.0, 10.0),
    "min_dual_difference": (0.0, 100.0),
    "min_area_px": (0.0, 1e6),
}
_RELATION_EPS = 1e-3  # degrees Celsius kept between an occluder and the face median when a relation is asked


@dataclass(frozen=True)
class OcclusionConfig:
    """Ranges the occluder parameters are drawn from (uniformly unless said otherwise).

    Attributes:
        size_range: occluded area as a fraction of the face area, in (0, 1].
        vertices_range: number of polygon vertices, inclusive; 2 draws a thick stroke.
        irregularity_range: spread of the angular steps as a fraction of 2*pi/n, in [0, 1].
        spikiness_range: standard deviation of the vertex radius as a fraction of the mean radius, in [0, 1].
        temperature_extension: how far (in units of the image's temperature span) occluders may be colder
            than Tmin or hotter than Tmax.
        min_temperature_span: span (degrees Celsius) used instead of Tmax - Tmin for near-constant images.
        temperature_relation: "poster" (single: any; dual: both lower than the face; connected: both lower or
            both higher, even odds), or "any", "lower", "higher" for every configuration.
        configuration_weights: relative weights of "single", "dual" and "connected".
        texture_std: standard deviation (degrees Celsius) of the per-pixel texture inside an occluder.
        min_dual_difference: smallest temperature difference (degrees Celsius) between the two dual occluders.
        stroke_aspect_range: length / thickness of 2-vertex strokes.
        bar_thickness_range: thickness of the connecting bar, as a fraction of the smaller occluder's
            equivalent radius sqrt(area / pi).
        min_area_px: smallest occluder area in pixels (tiny faces would otherwise give sub-pixel occluders).

    Limits (refused beyond them): ``OCCLUSION_LIMITS``; vertices at most 1000.
    """

    size_range: tuple[float, float] = (0.01, 0.40)
    vertices_range: tuple[int, int] = (2, 30)
    irregularity_range: tuple[float, float] = (0.0, 0.10)
    spikiness_range: tuple[float, float] = (0.0, 0.50)
    temperature_extension: float = 1.0
    min_temperature_span: float = 1.0
    temperature_relation: Relation = "poster"
    configuration_weights: tuple[float, float, float] = (1.0, 1.0, 1.0)
    texture_std: float = 0.1
    min_dual_difference: float = 0.5
    stroke_aspect_range: tuple[float, float] = (3.0, 12.0)
    bar_thickness_range: tuple[float, float] = (0.15, 0.40)
    min_area_px: float = 4.0

    def __post_init__(self) -> None:
        check_range("size_range", self.size_range, 0.0, 1.0, low_open=True)
        check_range("vertices_range", self.vertices_range, 2, 1000)
        check_range("irregularity_range", self.irregularity_range, 0.0, 1.0)
        check_range("spikiness_range", self.spikiness_range, 0.0, 1.0)
        check_range("stroke_aspect_range", self.stroke_aspect_range, 1.0, math.inf)
        check_range("bar_thickness_range", self.bar_thickness_range, 0.0, 2.0, low_open=True)
        if self.temperature_relation not in RELATIONS:
            raise ValueError(f"temperature_relation must be one of {RELATIONS}, got {self.temperature_relation!r}")
        weights = self.configuration_weights
        if len(weights) != len(CONFIGURATIONS) or not all(0 <= w < math.inf for w in weights) or sum(weights) <= 0:
            raise ValueError(
                f"configuration_weights must be {len(CONFIGURATIONS)} non-negative weights for "
                f"{CONFIGURATIONS} with a positive sum, got {weights}"
            )
        for name, (low, high) in OCCLUSION_LIMITS.items():
            check_number(name, getattr(self, name), low, high, low_open=name in ("min_temperature_span", "min_area_px"))


class Paint(NamedTuple):
    """How a region is filled: base temperature and the band its pixels are clipped to (degrees Celsius)."""

    temperature: float
    band: tuple[float, float]


@dataclass
class OcclusionPlan:
    """Everything sampled for one image: stencils to paint and the JSON-serialisable provenance ``params``.

    Each occluder's texture is an N(0, 1) field of its own (consecutive runs of the flat texture from
    ``texture_window``'s offset, see :func:`tiaug.functional.noise.texture_chunks`) scaled by ``texture_std``
    degrees Celsius.
    """

    regions: list[Region] = field(default_factory=list)
    paints: list[Paint] = field(default_factory=list)
    texture_std: float = 0.0
    texture_window: dict[str, Any] | None = None
    params: dict[str, Any] = field(default_factory=dict)


def choose_configuration(u: float, weights: tuple[float, float, float]) -> str:
    """One of :data:`CONFIGURATIONS`, drawn with the given relative weights from a uniform ``u`` in [0, 1)."""
    draw = u * float(sum(weights))
    for name, weight in zip(CONFIGURATIONS, weights, strict=True):
        if draw < weight:
            return name
        draw -= weight
    return CONFIGURATIONS[max(i for i, w in enumerate(weights) if w > 0)]


def resolve_relation(u: float, configuration: str, relation: str) -> str:
    """The concrete face relation ("any", "lower", "higher") for a configuration under a relation setting
    (``u``: a uniform in [0, 1) for the connected configuration's even odds)."""
    if relation != "poster":
        return relation
    if configuration == "single":
        return "any"
    if configuration == "dual":
        return "lower"
    return "lower" if u < 0.5 else "higher"


def temperature_band(
    t_min: float, t_max: float, face_temperature: float, relation: str, config: OcclusionConfig
) -> tuple[float, float]:
    """Interval (degrees Celsius) occluder temperatures are drawn from, for a relation to the face."""
    span = max(t_max - t_min, config.min_temperature_span) * config.temperature_extension
    low, high = t_min - span, t_max + span
    if relation == "lower":
        return low, min(high, face_temperature - _RELATION_EPS)
    if relation == "higher":
        return max(low, face_temperature + _RELATION_EPS), high
    return low, high


def _two_temperatures(u_first: float, u_second: float, band: tuple[float, float], difference: float) -> list[float]:
    """Two temperatures in ``band`` at least ``difference`` apart when the band allows it (from two uniforms)."""
    low, high = band
    first = low + u_first * (high - low)
    gap_low, gap_high = max(low, first - difference), min(high, first + difference)
    free = (high - low) - (gap_high - gap_low)
    if free <= 1e-9:
        return [first, low + u_second * (high - low)]
    second = low + u_second * free
    if second >= gap_low:
        second += gap_high - gap_low
    return [first, min(second, high)]


def _second_centre(
    directions: list[float], centre: tuple[float, float], distance: float, height: int, width: int
) -> tuple[float, float]:
    """A point ``distance`` px from ``centre`` in the first of the random ``directions`` (uniforms in [0, 1),
    fractions of a turn) that falls inside the image, else in the last one."""
    x, y = centre
    for u in directions:
        angle = u * (2.0 * math.pi)
        cx, cy = x + distance * math.cos(angle), y + distance * math.sin(angle)
        if 0 <= cx < width and 0 <= cy < height:
            break
    return cx, cy


def _scale(u: float, bounds: tuple[float, float]) -> float:
    """Map a uniform draw ``u`` in [0, 1) onto [low, high)."""
    return bounds[0] + u * (bounds[1] - bounds[0])


def _sample_outline(
    draws: list[float], rng: np.random.Generator, config: OcclusionConfig
) -> tuple[Outline, dict[str, Any]]:
    """An outline around the origin and its shape parameters, from four uniforms (vertices, irregularity,
    spikiness, stroke aspect) and the generator (the vertices' own draws)."""
    u_vertices, u_irregularity, u_spikiness, u_aspect = draws
    v_low, v_high = config.vertices_range
    n_vertices = v_low + int(u_vertices * (v_high - v_low + 1))
    irregularity = _scale(u_irregularity, config.irregularity_range)
    spikiness = _scale(u_spikiness, config.spikiness_range)
    aspect = _scale(u_aspect, config.stroke_aspect_range)
    outline = random_outline(rng, n_vertices, irregularity, spikiness, aspect)
    shape = {
        "kind": "stroke" if n_vertices == 2 else "polygon",
        "vertices": n_vertices,
        "irregularity": irregularity,
        "spikiness": spikiness,
    }
    if n_vertices == 2:
        shape["stroke_aspect"] = aspect
    return outline, shape


# The uniforms every image draws in one call (rng.random(_IMAGE_DRAWS)), by position; the outlines' vertices are
# drawn after them.
_U_CONFIGURATION, _U_RELATION, _U_SIZE, _U_SPLIT, _U_X, _U_Y, _U_GAP, _U_BAR = range(8)
_U_TEMPERATURES = slice(8, 10)
_U_TEXTURE = slice(10, 12)
_U_DIRECTIONS = slice(12, 20)  # candidate directions of the second occluder
_U_OUTLINES = (slice(20, 24), slice(24, 28))
_IMAGE_DRAWS = 28


def sample_occlusion(
    image: np.ndarray,
    mask: np.ndarray | None,
    rng: np.random.Generator,
    config: OcclusionConfig | None = None,
) -> OcclusionPlan:
    """Draw one occlusion for ``image`` ((H, W) or (H, W, 1) degrees Celsius) and its optional class mask.

    Every random choice comes from ``rng``. The returned plan's ``params`` hold every sampled parameter
    (configuration, sizes, shapes, vertices in pixel (x, y), temperatures, face statistics) as plain JSON.
    """
    config = config or OcclusionConfig()
    view, t_min, t_max = check_thermal_image(image)
    mask_view = check_mask(mask, view.shape)
    height, width = view.shape
    face: FaceStats = face_statistics(view, mask_view, t_min, t_max)

    u = rng.random(_IMAGE_DRAWS).tolist()
    configuration = choose_configuration(u[_U_CONFIGURATION], config.configuration_weights)
    relation = resolve_relation(u[_U_RELATION], configuration, config.temperature_relation)
    band = temperature_band(t_min, t_max, face.temperature, relation, config)
    size_fraction = _scale(u[_U_SIZE], config.size_range)
    total_area = max(size_fraction * face.area_px, config.min_area_px)
    n_shapes = 1 if configuration == "single" else 2
    split = _scale(u[_U_SPLIT], (0.3, 0.7)) if n_shapes == 2 else 1.0
    targets = [max(total_area * split, config.min_area_px), max(total_area * (1 - split), config.min_area_px)]

    outlines = [_sample_outline(u[_U_OUTLINES[k]], rng, config) for k in range(n_shapes)]
    centres = [(u[_U_X] * width, u[_U_Y] * height)]
    if n_shapes == 2:
        reach = [o.radius * math.sqrt(a / o.area) for (o, _), a in zip(outlines, targets, strict=False)]
        gap = 1.0 if configuration == "dual" else _scale(u[_U_GAP], (0.25, 1.0)) * (reach[0] + reach[1])
        distance = reach[0] + reach[1] + gap + 1.0
        centres.append(_second_centre(u[_U_DIRECTIONS], centres[0], distance, height, width))

    low, high = band
    if configuration == "dual":
        u_first, u_second = u[_U_TEMPERATURES]
        temperatures = _two_temperatures(u_first, u_second, band, config.min_dual_difference)
    else:
        temperatures = [low + u[_U_TEMPERATURES.start] * (high - low)] * n_shapes

    plan = OcclusionPlan(texture_std=config.texture_std)
    if config.texture_std > 0:
        if fits_texture(height, width):
            u_offset, u_sign = u[_U_TEXTURE]
            plan.texture_window = texture_window(u_offset, u_sign, height, width)
        else:
            plan.texture_window = fresh_field_window(rng)  # a fresh field: its own seed
    occluders = []
    for (outline, shape), centre, target, temperature in zip(outlines, centres, targets, temperatures, strict=False):
        region, points = fit_to_area(outline, centre, target, rng)
        occluders.append(
            {
                **shape,
                "centre": list(centre),
                "target_area_px": target,
                "area_px": region.area,
                "visible_area_px": _visible_area(region, height, width),
                "temperature": temperature,
                "polygon": points.tolist(),
            }
        )
        plan.regions.append(region)
        plan.paints.append(Paint(temperature, band))

    bar = None
    if configuration == "connected":
        thickness = _scale(u[_U_BAR], config.bar_thickness_range) * math.sqrt(min(targets) / math.pi)
        thickness = max(thickness, 1.0)
        bar_points = bar_between(centres[0], centres[1], thickness)
        region = rasterize(bar_points)
        bar = {
            "thickness_px": thickness,
            "area_px": region.area,
            "temperature": temperatures[0],
            "polygon": bar_points.tolist(),
        }
        plan.regions.append(region)
        plan.paints.append(Paint(temperatures[0], band))

    plan.params = {
        "configuration": configuration,
        "relation": relation,
        "image_shape": [height, width],
        "t_min": t_min,
        "t_max": t_max,
        "face_area_px": face.area_px,
        "face_area_source": face.source,
        "face_temperature": face.temperature,
        "temperature_band": list(band),
        "size_fraction": size_fraction,
        "texture_std": config.texture_std,
        "occluders": occluders,
        "bar": bar,
    }
    return plan


def _visible_area(region: Region, height: int, width: int) -> int:
    h, w = region.stencil.shape
    if region.x0 >= 0 and region.y0 >= 0 and region.x0 + w <= width and region.y0 + h <= height:
        return region.area  # wholly inside the image: nothing to count again
    clipped = clip_region(region, height, width)
    return 0 if clipped is None else cv2.countNonZero(clipped[1])


def render_occlusion(image: np.ndarray, plan: OcclusionPlan) -> np.ndarray:
    """Paint the plan's occluders into a copy of ``image`` (dtype and shape kept; input never modified)."""
    out = image.copy()
    view = out[:, :, 0] if out.ndim == 3 else out
    height, width = view.shape
    clipped = [clip_region(region, height, width) for region in plan.regions]
    shapes = [stencil.shape for _, stencil in filter(None, clipped)]
    textures = iter(()) if plan.texture_window is None else texture_chunks(plan.texture_window, shapes)
    # a fresh field (images larger than the texture) has no known range: always clip then
    exact = plan.texture_window is None or plan.texture_window["exact"]
    extremes = (-math.inf, math.inf) if exact else texture_range()
    reach_low, reach_high = plan.texture_std * extremes[0], plan.texture_std * extremes[1]
    for part, paint in zip(clipped, plan.paints, strict=True):
        if part is None:
            continue
        slices, stencil = part
        texture = next(textures, None)
        if texture is None:
            values = np.full(stencil.shape, paint.temperature, dtype=np.float32)
        else:  # temperature + texture_std * texture, in one float32 pass
            values = cv2.addWeighted(texture, plan.texture_std, texture, 0.0, paint.temperature)
            low, high = paint.band
            if paint.temperature + reach_high > high:  # clip only where the texture can leave the band
                np.minimum(values, np.float32(high), out=values)
            if paint.temperature + reach_low < low:
                np.maximum(values, np.float32(low), out=values)
        paint_stencil(view[slices], values, stencil)
    return out


def paint_stencil(target: np.ndarray, values: np.ndarray, stencil: np.ndarray) -> None:
    """Copy ``values`` into ``target`` (a view, modified in place) where the uint8 ``stencil`` is set."""
    if target.dtype == values.dtype:
        cv2.copyTo(values, stencil, target)  # in place: same size and type
    else:
        np.copyto(target, values, where=stencil.view(bool))


def occlusion_bounds(config: OcclusionConfig, low: float, high: float) -> tuple[float, float]:
    """Temperatures (degrees Celsius) occluders can paint into an image whose pixels lie in [low, high]: the
    widest :func:`temperature_band` (textures are clipped to it), widened by 8 texture standard deviations."""
    reach = max(high - low, config.min_temperature_span) * config.temperature_extension + 8.0 * config.texture_std
    return low - reach, high + reach


def occlude(
    image: np.ndarray,
    mask: np.ndarray | None = None,
    *,
    rng: np.random.Generator,
    config: OcclusionConfig | None = None,
    mask_policy: MaskPolicy = DEFAULT_MASK_POLICY,
    ignore_index: int = IGNORE_INDEX,
) -> Augmented:
    """Occlude ``image`` (and relabel ``mask`` by ``mask_policy``): returns (image, mask, params)."""
    plan = sample_occlusion(image, mask, rng, config)
    new_mask = None if mask is None else apply_mask_policy(mask, plan, mask_policy, ignore_index)
    return Augmented(render_occlusion(image, plan), new_mask, plan.params)
