"""Random occluder outlines: star-shaped polygons and thick strokes, in pixel coordinates (x, y).

A polygon with ``n >= 3`` vertices is drawn around a centre by walking once around it: the angular steps
are ``2*pi/n * U(1 - irregularity, 1 + irregularity)`` (renormalised to a full turn) and the vertex radii
``N(1, spikiness)`` times the mean radius, clipped to [0.05, 2]. Because the angles increase monotonically
and every step is below pi, the polygon is always simple (star-shaped around its centre), so its shoelace
area is its true area and it can be scaled exactly to a target area.

``n == 2`` gives a thick stroke (a cable, a glasses arm, a strand of hair): a rectangle whose length is
``aspect`` times its thickness. Irregularity and spikiness have no effect on strokes.
"""

from __future__ import annotations

import math

import numpy as np

MIN_RADIUS = 0.05
MAX_RADIUS = 2.0


def unit_star_polygon(rng: np.random.Generator, n_vertices: int, irregularity: float, spikiness: float) -> np.ndarray:
    """Star-shaped polygon around the origin with area 1 px^2: (n, 2) float64 (x, y)."""
    if n_vertices < 3:
        raise ValueError(f"a star polygon needs at least 3 vertices, got {n_vertices}")
    # one draw for the steps and the rotation (the same numbers as rng.random(n) then rng.random())
    draws = rng.random(n_vertices + 1)
    steps = draws[:n_vertices]
    steps *= 2.0 * irregularity
    steps += 1.0 - irregularity
    angles = np.add.accumulate(steps)  # ufunc methods: .cumsum() without its wrapper
    turn = 2.0 * math.pi / float(angles[-1])  # renormalise the steps to a full turn
    radii = rng.standard_normal(n_vertices)
    radii *= spikiness
    radii += 1.0
    np.minimum(radii, MAX_RADIUS, out=radii)  # in place: np.clip's wrapper costs more than the work here
    np.maximum(radii, MIN_RADIUS, out=radii)
    # (x, y) pairs are the real and imaginary parts of radius * exp(i * angle)
    vertices = np.exp(angles * (1j * turn))
    vertices *= radii
    # shoelace area of the fan (centre, vertex i, vertex i+1): Im(conj(v_i) * v_{i+1}) / 2, wrapping around
    cross = vertices[:-1].conjugate()
    cross *= vertices[1:]
    first, last = complex(vertices[0]), complex(vertices[-1])
    area = 0.5 * (float(np.add.reduce(cross.imag)) + (last.real * first.imag - last.imag * first.real))
    rotation = draws[n_vertices] * (2.0 * math.pi)
    vertices *= complex(math.cos(rotation), math.sin(rotation)) / math.sqrt(area)
    return vertices.view(np.float64).reshape(n_vertices, 2)


def unit_stroke(rng: np.random.Generator, aspect: float) -> np.ndarray:
    """Rectangle of area 1 and length/thickness ratio ``aspect``, randomly oriented: (4, 2) (x, y)."""
    thickness = 1.0 / math.sqrt(aspect)
    half_length = 0.5 * aspect * thickness
    half_thickness = 0.5 * thickness
    theta = rng.random() * math.pi
    along = np.array([math.cos(theta), math.sin(theta)])
    across = np.array([-along[1], along[0]])
    corners = np.array([[1, 1], [1, -1], [-1, -1], [-1, 1]], dtype=np.float64)
    return corners[:, :1] * half_length * along + corners[:, 1:] * half_thickness * across


def bar_between(p: np.ndarray, q: np.ndarray, thickness: float) -> np.ndarray:
    """Rectangle (4, 2) of the given thickness (px) joining points ``p`` and ``q`` (x, y)."""
    (px, py), (qx, qy) = p.tolist(), q.tolist()
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
) -> np.ndarray:
    """Random outline around the origin with area 1 px^2: a stroke for 2 vertices, else a star polygon."""
    if n_vertices == 2:
        return unit_stroke(rng, stroke_aspect)
    return unit_star_polygon(rng, n_vertices, irregularity, spikiness)


def bounding_radius(points: np.ndarray) -> float:
    """Largest distance (px) from the origin to a vertex of an outline (n, 2) centred on the origin."""
    return math.sqrt(max(x * x + y * y for x, y in points.tolist()))
