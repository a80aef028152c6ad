"""Random occluder outlines: star-shaped polygons and thick strokes, in pixel coordinates (x, y).

A polygon with ``n >= 3`` vertices is drawn around a centre by walking once around it: the angular steps
are ``2*pi/n * U(1 - irregularity, 1 + irregularity)`` (renormalised to a full turn) and the vertex radii
``N(1, spikiness)`` px, clipped to [0.05, 2], the whole turned by a random rotation. Because the angles increase
monotonically and every step is below pi, the polygon is always simple (star-shaped around its centre), so its
shoelace area is its true area: an :class:`Outline` carries it, and the area fit
(:func:`tiaug.functional.raster.fit_to_area`) scales the outline to a target area.

``n == 2`` gives a thick stroke (a cable, a glasses arm, a strand of hair): a rectangle whose length is
``aspect`` times its thickness. Irregularity and spikiness have no effect on strokes.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import cv2
import numpy as np
from numpy._core.umath import clip as _clip  # type: ignore[attr-defined]  # numpy's stubs omit the ufunc

MIN_RADIUS = 0.05
MAX_RADIUS = 2.0


class Outline(NamedTuple):
    """A random outline around the origin: vertices ``points`` (n, 2) float64 (x, y) in px, the ``area`` (px^2)
    and ``perimeter`` (px) they enclose, and ``radius``, the largest distance (px) from the origin to a vertex.

    Scaling by ``k`` scales the area by ``k**2`` and the perimeter and radius by ``k``.
    """

    points: np.ndarray
    area: float
    perimeter: float
    radius: float


def unit_star_polygon(rng: np.random.Generator, n_vertices: int, irregularity: float, spikiness: float) -> Outline:
    """Star-shaped polygon around the origin with a mean vertex radius of about 1 px (n vertices)."""
    if n_vertices < 3:
        raise ValueError(f"a star polygon needs at least 3 vertices, got {n_vertices}")
    # one draw for the steps and the rotation (the same numbers as rng.random(n) then rng.random())
    draws = rng.random(n_vertices + 1)
    radii = rng.normal(1.0, spikiness, n_vertices)  # the same numbers as 1 + spikiness * rng.standard_normal(n)
    _clip(radii, MIN_RADIUS, MAX_RADIUS, out=radii)  # the ufunc itself: np.clip's wrappers cost more than the work
    angles = draws[:n_vertices]
    angles *= 2.0 * irregularity
    angles += 1.0 - irregularity  # the angular steps
    np.add.accumulate(angles, out=angles)  # ufunc methods: .cumsum() without its wrapper
    angles *= 2.0 * math.pi / float(angles[-1])  # renormalise the steps to a full turn
    angles += float(draws[n_vertices]) * (2.0 * math.pi)  # a random rotation
    points = np.empty((n_vertices, 2))
    np.cos(angles, out=points[:, 0])
    np.sin(angles, out=points[:, 1])
    points *= radii[:, None]
    # the polygon is simple (star-shaped), so OpenCV's shoelace area is its area; float32 is exact enough here
    corners = points.astype(np.float32)
    area, perimeter = cv2.contourArea(corners), cv2.arcLength(corners, True)
    return Outline(points, area, perimeter, float(np.maximum.reduce(radii)))


def unit_stroke(rng: np.random.Generator, aspect: float) -> Outline:
    """Rectangle of area 1 px^2 and length/thickness ratio ``aspect``, randomly oriented (4 vertices)."""
    thickness = 1.0 / math.sqrt(aspect)
    half_length = 0.5 * aspect * thickness
    half_thickness = 0.5 * thickness
    theta = rng.random() * math.pi
    ax, ay = math.cos(theta) * half_length, math.sin(theta) * half_length  # along the stroke
    cx, cy = -math.sin(theta) * half_thickness, math.cos(theta) * half_thickness  # across it
    corners = [[ax + cx, ay + cy], [ax - cx, ay - cy], [-ax - cx, -ay - cy], [-ax + cx, -ay + cy]]
    perimeter = 4.0 * (half_length + half_thickness)
    return Outline(np.array(corners), 1.0, perimeter, math.hypot(half_length, half_thickness))


def bar_between(p: tuple[float, float], q: tuple[float, float], thickness: float) -> np.ndarray:
    """Rectangle (4, 2) of the given thickness (px) joining points ``p`` and ``q`` (x, y)."""
    (px, py), (qx, qy) = p, q
    dx, dy = qx - px, qy - py
    length = math.hypot(dx, dy)
    if length == 0.0:
        dx, dy, length = 1.0, 0.0, 1.0
    nx, ny = -dy / length * (0.5 * thickness), dx / length * (0.5 * thickness)
    return np.array([[px + nx, py + ny], [qx + nx, qy + ny], [qx - nx, qy - ny], [px - nx, py - ny]])


def random_outline(
    rng: np.random.Generator,
    n_vertices: int,
    irregularity: float,
    spikiness: float,
    stroke_aspect: float,
) -> Outline:
    """Random outline around the origin: a stroke of area 1 px^2 for 2 vertices, else a star polygon."""
    if n_vertices == 2:
        return unit_stroke(rng, stroke_aspect)
    return unit_star_polygon(rng, n_vertices, irregularity, spikiness)
