"""Fast rasterisation of occluder polygons with OpenCV (sub-pixel vertices), matched to a target pixel area.

A :class:`Region` is a small binary stencil placed at an integer offset of the image; it may reach past the
image border, and :func:`clip_region` returns the part that lies inside.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import cv2
import numpy as np

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


def rasterize_to_area(
    points: np.ndarray, centre: np.ndarray, target_area: float, rng: np.random.Generator
) -> tuple[Region, np.ndarray]:
    """Rasterise ``points`` (n, 2), an outline of about the target's continuous area, scaled about ``centre`` so
    that the pixel count matches ``target_area``; see :func:`fit_to_area`. Returns the region and final vertices."""
    return fit_to_area(points - centre, centre, target_area, rng)


def fit_to_area(
    spokes: np.ndarray, centre: np.ndarray, target_area: float, rng: np.random.Generator, perimeter: float | None = None
) -> tuple[Region, np.ndarray]:
    """Rasterise the outline ``centre + k * spokes`` whose pixel count matches ``target_area`` (within
    :func:`area_tolerance`); ``spokes`` (n, 2) are the vertices' offsets from ``centre`` and should enclose about
    ``target_area``, ``perimeter`` is their perimeter (px; measured when None).

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
    if perimeter is None:
        perimeter = cv2.arcLength(spokes.astype(np.float32), True)
    start = first_scale(target_area, perimeter)
    fixed_centre = np.multiply(centre, _FIXED_ONE)
    best: tuple[float, Region, np.ndarray] | None = None
    for _ in range(_SHIFT_ATTEMPTS):
        low, high, scale = 0.0, math.inf, start
        for _ in range(_SCALE_STEPS):
            fixed = spokes * (scale * _FIXED_ONE)  # vertices in 1/16 px, as to_fixed_point(centre + scale * spokes)
            fixed += fixed_centre
            np.rint(fixed, out=fixed)
            region = _fill(fixed.astype(np.int32))
            error = region.area - target_area
            if abs(error) <= tolerance:
                return region, fixed * (1.0 / _FIXED_ONE)
            if best is None or abs(error) < best[0]:
                best = (abs(error), region, fixed)
            if error < 0:
                low = scale
            else:
                high = scale
            scale *= math.sqrt(target_area / max(region.area, 0.5))
            if not low < scale < high:
                scale = 0.5 * (low + high) if math.isfinite(high) else 2.0 * low
        fixed_centre = fixed_centre + rng.uniform(-0.5, 0.5, 2) * _FIXED_ONE
    return best[1], best[2] * (1.0 / _FIXED_ONE)


def clip_region(region: Region, height: int, width: int) -> tuple[tuple[slice, slice], np.ndarray] | None:
    """Image slices and the matching part of the stencil as a bool array, or None if fully outside."""
    h, w = region.stencil.shape
    ya, yb = max(region.y0, 0), min(region.y0 + h, height)
    xa, xb = max(region.x0, 0), min(region.x0 + w, width)
    if ya >= yb or xa >= xb:
        return None
    local = region.stencil[ya - region.y0 : yb - region.y0, xa - region.x0 : xb - region.x0]
    return (slice(ya, yb), slice(xa, xb)), local.view(bool)
