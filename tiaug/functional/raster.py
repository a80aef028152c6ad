"""Fast rasterisation of occluder polygons with OpenCV (sub-pixel vertices), matched to a target pixel area.

A :class:`Region` is a small binary stencil placed at an integer offset of the image; it may reach past the
image border, and :func:`clip_region` returns the part that lies inside.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import cv2
import numpy as np

from tiaug.functional.polygon import Outline

SUBPIXEL_BITS = 4  # cv2.fillPoly `shift`: vertices are placed with 1/16 px precision
AREA_TOLERANCE_REL = 0.05
AREA_TOLERANCE_PX = 4.0
"""Stated tolerance: a rasterised occluder covers its target area within max(5 %, 4 px), counting the pixels
beyond the image border too (occluders may be clipped by the border; the visible part is reported apart)."""
EDGE_EXCESS = 0.45  # filled pixels beyond the continuous area, per px of perimeter (fitted on random outlines)
_SCALE_STEPS = 6
_SHIFT_ATTEMPTS = 8
_FIXED_ONE = float(1 << SUBPIXEL_BITS)


def area_tolerance(target_area: float) -> float:
    """Largest accepted difference (px) between a rasterised occluder's pixel count and its target."""
    return max(AREA_TOLERANCE_REL * target_area, AREA_TOLERANCE_PX)


class Region(NamedTuple):
    """A binary stencil ``stencil`` (h, w) uint8 whose top-left pixel sits at image column x0, row y0.

    ``area`` is the number of pixels covered, counting those beyond the image border too.
    """

    x0: int
    y0: int
    stencil: np.ndarray
    area: int


def to_fixed_point(points: np.ndarray, factor: float = 1.0) -> np.ndarray:
    """Float (K, 2) pixel coordinates (x, y) -> int32 fixed point for OpenCV drawing with ``shift=SUBPIXEL_BITS``.

    ``factor`` rescales first (e.g. 0.25 to draw on a quarter-resolution canvas; pixel centres stay centred).
    """
    p = np.asarray(points, dtype=np.float64)
    if factor != 1.0:
        p = (p + 0.5) * factor - 0.5
    fixed = p * (1 << SUBPIXEL_BITS)
    np.rint(fixed, out=fixed)  # what np.round does for 0 decimals, without its Python wrapper
    return fixed.astype(np.int32)


def _fill(fixed: np.ndarray) -> Region:
    """Fill a fixed-point polygon (:func:`to_fixed_point`) into its own stencil."""
    bx, by, bw, bh = cv2.boundingRect(fixed)
    x0 = (bx >> SUBPIXEL_BITS) - 1
    y0 = (by >> SUBPIXEL_BITS) - 1
    width = ((bx + bw) >> SUBPIXEL_BITS) - x0 + 2
    height = ((by + bh) >> SUBPIXEL_BITS) - y0 + 2
    stencil = np.zeros((height, width), dtype=np.uint8)
    offset = (-x0 << SUBPIXEL_BITS, -y0 << SUBPIXEL_BITS)
    cv2.fillPoly(stencil, [fixed], 1, lineType=cv2.LINE_8, shift=SUBPIXEL_BITS, offset=offset)
    return Region(x0, y0, stencil, cv2.countNonZero(stencil))


def rasterize(points: np.ndarray) -> Region:
    """Fill the polygon (n, 2) (x, y in px; pixel centres at integer coordinates) into its own stencil."""
    return _fill(to_fixed_point(points))


def first_scale(target_area: float, perimeter: float) -> float:
    """Scale of an outline of area ``target_area`` and ``perimeter`` (px) whose filled pixel count is expected
    to hit the target: OpenCV fills every pixel an edge touches, about ``EDGE_EXCESS * perimeter`` pixels more
    than the continuous area, so solve ``k^2 * A + EDGE_EXCESS * k * P = A`` for k."""
    b = EDGE_EXCESS * perimeter
    return (math.sqrt(b * b + 4.0 * target_area * target_area) - b) / (2.0 * target_area)


def fit_to_area(
    outline: Outline, centre: tuple[float, float], target_area: float, rng: np.random.Generator
) -> tuple[Region, np.ndarray]:
    """Rasterise the outline ``centre + k * outline.points`` whose pixel count matches ``target_area`` (within
    :func:`area_tolerance`); ``outline`` surrounds the origin (a :func:`tiaug.functional.polygon.random_outline`)
    and ``centre`` is (x, y) in px.

    OpenCV fills every pixel an edge touches, so the count of a polygon of the right continuous area is a few
    percent too high, more for small or spiky outlines: the first scale corrects for the outline's perimeter
    (:func:`first_scale`), which fits ~99 % of the occluders in one fill. Scaling about an interior point nests
    the filled pixel sets, so the count grows monotonically with the scale and a bracketed secant search on
    sqrt(count) finds the scale when the first one misses. When a single step of the count jumps over the
    tolerance (long edges parallel to the pixel grid), the outline is moved by a random sub-pixel offset and
    searched again. Returns the region and the vertices (n, 2) in pixels that were drawn (on the 1/16 px grid
    of :data:`SUBPIXEL_BITS`).
    """
    tolerance = area_tolerance(target_area)
    size = math.sqrt(target_area / outline.area)  # the scale at the target's continuous area
    start = first_scale(target_area, outline.perimeter * size) * size
    points = outline.points
    fixed = np.empty(points.shape, dtype=np.int32)  # vertices in 1/16 px, as to_fixed_point(centre + k * points)
    fixed_centre = np.multiply(centre, _FIXED_ONE)
    best: tuple[float, Region, np.ndarray] | None = None
    for _ in range(_SHIFT_ATTEMPTS):
        low, high, scale = 0.0, math.inf, start
        for _ in range(_SCALE_STEPS):
            scaled = points * (scale * _FIXED_ONE)
            scaled += fixed_centre
            np.rint(scaled, out=fixed, casting="unsafe")
            region = _fill(fixed)
            error = region.area - target_area
            if abs(error) <= tolerance:
                return region, fixed * (1.0 / _FIXED_ONE)
            if best is None or abs(error) < best[0]:
                best = (abs(error), region, fixed.copy())
            if error < 0:
                low = scale
            else:
                high = scale
            scale *= math.sqrt(target_area / max(region.area, 0.5))
            if not low < scale < high:
                scale = 0.5 * (low + high) if math.isfinite(high) else 2.0 * low
        fixed_centre = fixed_centre + rng.uniform(-0.5, 0.5, 2) * _FIXED_ONE
    assert best is not None  # the loop runs at least once
    return best[1], best[2] * (1.0 / _FIXED_ONE)


def clip_region(region: Region, height: int, width: int) -> tuple[tuple[slice, slice], np.ndarray] | None:
    """Image slices and the matching part of the uint8 stencil (a view), or None if fully outside."""
    h, w = region.stencil.shape
    x0, y0 = region.x0, region.y0
    if x0 >= 0 and y0 >= 0 and x0 + w <= width and y0 + h <= height:  # wholly inside: the common case
        return (slice(y0, y0 + h), slice(x0, x0 + w)), region.stencil
    ya, yb = max(y0, 0), min(y0 + h, height)
    xa, xb = max(x0, 0), min(x0 + w, width)
    if ya >= yb or xa >= xb:
        return None
    return (slice(ya, yb), slice(xa, xb)), region.stencil[ya - y0 : yb - y0, xa - x0 : xb - x0]
