"""Synthetic thermal faces: temperatures, 6-class masks and 68 landmarks from one face geometry."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from tiaug.labels import DEFAULT_CLASSES
from tiaug.synth import conditions as cond
from tiaug.synth import raster
from tiaug.synth.geometry import FaceGeometry, FaceShape, Pose, build_geometry, head_extent, sample_shape
from tiaug.synth.thermal import ThermalParams, background, sample_thermal, skin_field

#: Class indices of the masks (the Thermal Face Database convention used by the paper).
CLASSES = DEFAULT_CLASSES
BACKGROUND, SKIN, MOUTH, EYES, EYEBROWS, NOSE = range(6)


@dataclass(frozen=True)
class SyntheticFace:
    """One synthetic thermal image.

    image: (H, W) float32 temperatures in degrees Celsius.
    mask: (H, W) uint8 class indices (see ``CLASSES``); occluders of unconstrained faces do not change it.
    landmarks: (68, 2) float32 iBUG landmarks as (x, y) = (column, row) pixels, pixel centres at integers;
        points may lie outside the image when a face is cut by the border.
    params: JSON-serialisable description (shape, pose, temperatures, conditions with occluder polygons).
    """

    image: np.ndarray
    mask: np.ndarray
    landmarks: np.ndarray
    params: dict[str, Any]


def _sample_pose(rng: np.random.Generator, s: FaceShape, h: int, w: int) -> tuple[Pose, tuple[float, float]]:
    """Angles and scale of the head, and its relative position (0..1 on each axis) in the free room."""
    top, bottom, half_w = head_extent(s)
    yaw = rng.uniform(-30.0, 30.0)
    pitch = rng.uniform(-10.0, 10.0)
    roll = rng.uniform(-15.0, 15.0)
    scale = rng.uniform(0.6, 0.88) * h / (bottom - top)
    scale = min(scale, 0.92 * w / (2 * half_w))
    return Pose(yaw, pitch, roll, scale, cx=0.0, cy=0.0), (rng.uniform(0.0, 1.0), rng.uniform(0.0, 1.0))


def _place(s: FaceShape, pose: Pose, rel: tuple[float, float], h: int, w: int, shoulders: bool) -> FaceGeometry:
    """Pose the face and put its head at ``rel`` (0..1 per axis) of the free room inside the image.

    A head larger than the image is centred. Sets ``pose.cx``, ``pose.cy`` to the resulting centre.
    """
    g = build_geometry(s, dataclasses.replace(pose, cx=0.0, cy=0.0), h, shoulders)
    pts = np.concatenate([g.face, g.head])
    lo, hi = pts.min(0), pts.max(0)
    centre = []
    for axis, size in ((0, w), (1, h)):
        room = (size - 3.0) - (hi[axis] - lo[axis])  # one pixel of margin on each side
        if room >= 0:
            centre.append(1.0 - lo[axis] + rel[axis] * room)
        else:
            centre.append((size - 1) / 2 - (lo[axis] + hi[axis]) / 2)
    pose.cx, pose.cy = float(centre[0]), float(centre[1])
    return g.shifted(pose.cx, pose.cy)


def render_mask(g: FaceGeometry, shape: tuple[int, int]) -> np.ndarray:
    """The (H, W) uint8 class mask: skin, then mouth, eyes, eyebrows and nose painted on top."""
    mask = np.zeros(shape, np.uint8)
    raster.fill(mask, [g.face], SKIN)
    raster.fill(mask, [g.mouth], MOUTH)
    raster.fill(mask, g.eyes, EYES)
    raster.fill(mask, g.brows, EYEBROWS)
    raster.fill(mask, [g.nose], NOSE)
    return mask


def render_scene(rng: np.random.Generator, g: FaceGeometry, t: ThermalParams, shape: tuple[int, int]) -> np.ndarray:
    """Noise-free, unblurred temperatures (H, W) float32: room, clothes, neck, hair, ears and face."""
    image = background(rng, shape, t)
    hair_t = t.ambient + t.hair * (t.skin - t.ambient)
    cloth_t = t.ambient + t.cloth * (t.skin - t.ambient)
    layers = np.zeros(shape, np.uint8)
    if t.has_shoulders and g.shoulders is not None:
        raster.fill(layers, [g.shoulders], 1)
    if t.has_neck:
        raster.fill(layers, [g.neck], 2)
    raster.fill(layers, [g.head], 3)
    raster.fill(layers, g.ears, 4)
    raster.fill(layers, [g.face], 5)
    skin = skin_field(rng, shape, g, t)
    cloth = np.float32(cloth_t) + np.float32(0.4) * raster.smooth_noise(rng, shape, (6, 8))
    if t.has_hair:
        hair = np.float32(hair_t) + np.float32(0.6) * raster.smooth_noise(rng, shape, (16, 20))
    else:  # a bald scalp: skin, a little cooler than the face
        hair = skin - np.float32(1.0)
    np.copyto(image, cloth, where=layers == 1)
    np.copyto(image, skin + np.float32(t.neck), where=layers == 2)
    np.copyto(image, hair, where=layers == 3)
    np.copyto(image, skin + np.float32(t.ear), where=layers == 4)
    np.copyto(image, skin, where=layers == 5)
    return image


def camera(rng: np.random.Generator, image: np.ndarray, t: ThermalParams) -> np.ndarray:
    """Optical blur, sensor noise (NETD) and faint column stripes of a microbolometer, in degrees Celsius."""
    out = raster.blur(image, t.optical_blur)
    out += raster.sensor_noise(rng, image.shape, t.noise)
    stripes = rng.standard_normal((image.shape[1],), dtype=np.float32) * np.float32(t.stripes)
    out += stripes[None, :]
    return out


def _jsonable(obj: Any) -> Any:
    if dataclasses.is_dataclass(obj):
        return {k: _jsonable(v) for k, v in vars(obj).items() if k != "jitter"}
    if isinstance(obj, float | np.floating):
        return round(float(obj), 4)
    if isinstance(obj, np.bool_):
        return bool(obj)
    return obj


def generate_face(
    height: int, width: int, rng: np.random.Generator, unconstrained: bool = False, condition: str | None = None
) -> SyntheticFace:
    """Generate one synthetic thermal face of (height, width) pixels from ``rng``.

    ``rng`` is split into independent streams for the shape, the heat field, the real-world conditions and
    the camera noise, so the same ``rng`` state gives the same face (same pose, mask and landmarks) with or
    without ``unconstrained``, which adds glasses, hands, cups, fringes, face masks, scarves or a hot room
    (see ``tiaug.synth.conditions``): clean and unconstrained versions of a dataset pair up row by row.
    ``condition`` (one of ``conditions.CONDITIONS``) gives every face that condition alone (implies
    ``unconstrained``), for per-condition test sets of the same faces.
    """
    if height < 8 or width < 8:
        raise ValueError(f"synthetic faces need at least 8x8 pixels, got {height}x{width}")
    shape_rng, heat_rng, cond_rng, noise_rng = rng.spawn(4)
    cold_rng = cond_rng.spawn(1)[0]  # spawning leaves cond_rng's own stream as it was
    shape = sample_shape(shape_rng)
    t = sample_thermal(heat_rng)
    pose, rel = _sample_pose(shape_rng, shape, height, width)
    if condition is not None:
        conditions, unconstrained = cond.single_condition(condition), True
    elif unconstrained:
        conditions = cond.sample_conditions(cond_rng, cold_rng)
    else:
        conditions = frozenset()
    cond.adjust_rooms(conditions, {"main": cond_rng, "cold": cold_rng}, t)
    g = _place(shape, pose, rel, height, width, t.has_shoulders)
    image = render_scene(heat_rng, g, t, (height, width))
    occluders = cond.paint_conditions(cond_rng, image, g, t, conditions) if unconstrained else []
    image = camera(noise_rng, image, t)
    params = {
        "generator": "tiaug.synth",
        "unconstrained": unconstrained,
        "shape": _jsonable(shape),
        "pose": _jsonable(pose),
        "thermal": _jsonable(t),
        "conditions": cond.in_order(conditions),
        "occluders": occluders,
    }
    return SyntheticFace(image=image, mask=render_mask(g, (height, width)), landmarks=g.landmarks, params=params)


def face_rng(seed: int, index: int) -> np.random.Generator:
    """The generator of face ``index`` for ``seed``: independent of how many faces are generated."""
    return np.random.default_rng(np.random.SeedSequence(int(seed), spawn_key=(int(index),)))


def iter_faces(
    n: int,
    height: int,
    width: int,
    seed: int,
    unconstrained: bool = False,
    start: int = 0,
    condition: str | None = None,
) -> Iterator[SyntheticFace]:
    """Yield faces ``start .. start + n - 1`` of ``seed`` one by one (constant memory)."""
    for i in range(start, start + n):
        yield generate_face(height, width, face_rng(seed, i), unconstrained, condition)


@dataclass(frozen=True)
class FaceBatch:
    """Stacked synthetic faces: images (N, H, W) float32 C, masks (N, H, W) uint8, landmarks (N, 68, 2)."""

    images: np.ndarray
    masks: np.ndarray
    landmarks: np.ndarray
    params: list[dict[str, Any]]


def generate_faces(
    n: int,
    height: int,
    width: int,
    seed: int,
    unconstrained: bool = False,
    start: int = 0,
    condition: str | None = None,
) -> FaceBatch:
    """Generate ``n`` faces in memory; face i is the same whatever ``n`` is (see ``face_rng``)."""
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    images = np.empty((n, height, width), np.float32)
    masks = np.empty((n, height, width), np.uint8)
    landmarks = np.empty((n, 68, 2), np.float32)
    params = []
    for k, face in enumerate(iter_faces(n, height, width, seed, unconstrained, start, condition)):
        images[k], masks[k], landmarks[k] = face.image, face.mask, face.landmarks
        params.append(face.params)
    return FaceBatch(images, masks, landmarks, params)
