"""Landmark files (menpo ``.ljson``) and 6-class face masks built from landmark groups.

A menpo ``.ljson`` file holds ``{"landmarks": {"points": [[y, x], ...]}, "labels": [{"label": name,
"mask": [point indices]}, ...]}``; points are (row, column) pixels. tiaug works with (x, y) = (column, row),
so ``read_ljson`` and ``write_ljson`` swap the axes.

Masks from landmarks (``mask_from_landmarks``), painted in this order, later classes on top:

1. skin/face: the convex hull of the jaw ("chin") group together with the eyebrow points and the eyebrow
   points lifted by ``forehead`` times the brow-to-chin distance (landmarks stop at the brows; the default
   0.45 follows the facial thirds, hairline-brow about half of brow-chin). ``forehead=0`` gives the hull of
   the jaw and brow points only;
2. mouth: the convex hull of all mouth groups (outer and inner lips);
3. eyes: the convex hull of each eye group;
4. eyebrows: a band from each brow's landmark line (the brow's upper edge in iBUG annotations) towards the
   eyes, ``brow_thickness`` times the distance between the eye centres thick (a convex hull of a line of
   points would be a sliver);
5. nose: the convex hull of all nose groups (bridge and nostrils).

Group names are matched case-insensitively: chin/jaw -> skin; names with "brow" -> eyebrows; other names
with "eye" -> eyes; "nose" -> nose; "mouth"/"lip" -> mouth (the Thermal Face Database's chin, leyebrow,
reyebrow, leye, reye, centernose, bottomnose, outermouth, innermouth and menpo's iBUG names alike). A file
without labels but with 68 points uses the iBUG index ranges.
"""

from __future__ import annotations

import itertools
import json
import os
from collections.abc import Mapping, Sequence

import cv2
import numpy as np

from tiaug.io.errors import ThermalDataError
from tiaug.io.h5.atomic import atomic_output
from tiaug.synth.raster import fill  # the generator's rasteriser: imported and synthetic masks match

SKIN, MOUTH, EYES, EYEBROWS, NOSE = 1, 2, 3, 4, 5

#: The Thermal Face Database's group names for the 68 iBUG points (image-left parts first).
IBUG68_GROUPS: dict[str, list[int]] = {
    "chin": list(range(0, 17)),
    "leyebrow": list(range(17, 22)),
    "reyebrow": list(range(22, 27)),
    "centernose": list(range(27, 31)),
    "bottomnose": list(range(31, 36)),
    "leye": list(range(36, 42)),
    "reye": list(range(42, 48)),
    "outermouth": list(range(48, 60)),
    "innermouth": list(range(60, 68)),
}


def group_class(label: str) -> int | None:
    """Class index of a landmark group name, or None for groups that are not a face part."""
    name = label.strip().lower()
    if "chin" in name or "jaw" in name or name in ("face", "outline", "contour"):
        return SKIN
    if "brow" in name:
        return EYEBROWS
    if "eye" in name:
        return EYES
    if "nose" in name:
        return NOSE
    if "mouth" in name or "lip" in name:
        return MOUTH
    return None


#: Largest .ljson file read (68 points and their groups take a few KB).
MAX_LJSON_BYTES = 1 << 20


def read_ljson(path: str | os.PathLike) -> tuple[np.ndarray, dict[str, list[int]]]:
    """Read a menpo ``.ljson`` file: (points (K, 2) float32 as (x, y) pixels, {group name: point indices})."""
    try:
        with open(path, encoding="utf-8") as fh:
            size = os.fstat(fh.fileno()).st_size
            if size > MAX_LJSON_BYTES:
                raise ThermalDataError(path, None, f"is {size} bytes; a landmark file is far smaller (damaged?)")
            doc = json.loads(fh.read(size))
    except (OSError, json.JSONDecodeError, UnicodeDecodeError, RecursionError) as e:
        raise ThermalDataError(path, None, f"cannot read the landmark file ({e})") from None
    try:
        raw = doc["landmarks"]["points"]
    except (KeyError, TypeError):
        raise ThermalDataError(path, "landmarks.points", "missing: not a menpo .ljson landmark file") from None
    try:
        pts = np.asarray([[np.nan, np.nan] if p is None else p for p in raw], dtype=np.float64)
    except (TypeError, ValueError):
        raise ThermalDataError(path, "landmarks.points", "points must be [y, x] pairs of numbers") from None
    if pts.ndim != 2 or pts.shape[1] != 2 or len(pts) == 0:
        raise ThermalDataError(path, "landmarks.points", f"expected a list of [y, x] pairs, got shape {pts.shape}")
    if not np.isfinite(pts).all():
        raise ThermalDataError(path, "landmarks.points", "contains missing (null) or non-finite points")
    groups: dict[str, list[int]] = {}
    for entry in doc.get("labels") or []:
        try:
            name, idx = str(entry["label"]), [int(i) for i in entry["mask"]]
        except (KeyError, TypeError, ValueError):
            raise ThermalDataError(path, "labels", f"each label needs 'label' and 'mask': {entry!r}") from None
        if idx and (min(idx) < 0 or max(idx) >= len(pts)):
            raise ThermalDataError(path, "labels", f"group {name!r} indexes points outside 0..{len(pts) - 1}")
        groups[name] = idx
    if not groups:
        if len(pts) != 68:
            raise ThermalDataError(path, "labels", f"no landmark groups and {len(pts)} points (not iBUG-68)")
        groups = {k: list(v) for k, v in IBUG68_GROUPS.items()}
    return pts[:, ::-1].astype(np.float32), groups


def write_ljson(
    path: str | os.PathLike, points_xy: np.ndarray, groups: Mapping[str, Sequence[int]] = IBUG68_GROUPS
) -> None:
    """Write (x, y) landmarks as a menpo ``.ljson`` file ([y, x] points, labels with point indices)."""
    pts = np.asarray(points_xy, dtype=np.float64)
    connectivity = []
    for idx in groups.values():
        connectivity += [[int(a), int(b)] for a, b in itertools.pairwise(idx)]
    doc = {
        "version": 2,
        "landmarks": {"points": [[float(y), float(x)] for x, y in pts], "connectivity": connectivity},
        "labels": [{"label": k, "mask": [int(i) for i in v]} for k, v in groups.items()],
    }
    with atomic_output(path, overwrite=True) as tmp:
        tmp.write_text(json.dumps(doc), encoding="utf-8")


def _hull(points: np.ndarray) -> np.ndarray:
    if len(points) < 3:
        return points
    return cv2.convexHull(points.astype(np.float32)).reshape(-1, 2).astype(np.float64)


def mask_from_landmarks(
    points_xy: np.ndarray,
    groups: Mapping[str, Sequence[int]],
    shape: tuple[int, int],
    *,
    forehead: float = 0.45,
    brow_thickness: float = 0.09,
) -> np.ndarray:
    """Build the (H, W) uint8 6-class mask from landmark groups (see the module docstring for the rules)."""
    pts = np.asarray(points_xy, dtype=np.float64)
    by_class: dict[int, list[np.ndarray]] = {}
    for name, idx in groups.items():
        c = group_class(name)
        if c is not None and len(idx):
            by_class.setdefault(c, []).append(pts[list(idx)])
    mask = np.zeros(shape, np.uint8)
    brows = by_class.get(EYEBROWS, [])
    eyes = by_class.get(EYES, [])
    jaw = by_class.get(SKIN, [])
    all_brow = np.concatenate(brows) if brows else np.empty((0, 2))

    up = None
    if jaw and len(all_brow):
        jaw_pts = np.concatenate(jaw)
        brow_c = all_brow.mean(0)
        chin = jaw_pts[np.argmax(np.linalg.norm(jaw_pts - brow_c, axis=1))]
        up = brow_c - chin
        lift = up * forehead
        up = up / (np.linalg.norm(up) + 1e-9)
        fill(mask, [_hull(np.concatenate([jaw_pts, all_brow, all_brow + lift]))], SKIN)
    elif jaw:
        fill(mask, [_hull(np.concatenate(jaw))], SKIN)

    if MOUTH in by_class:
        fill(mask, [_hull(np.concatenate(by_class[MOUTH]))], MOUTH)
    for eye in eyes:
        fill(mask, [_hull(eye)], EYES)
    if brows:
        if len(eyes) >= 2:
            centres = [e.mean(0) for e in eyes]
            spacing = float(np.linalg.norm(centres[0] - centres[-1]))
        else:
            spacing = 0.25 * float(np.ptp(pts[:, 0]))
        if up is None:
            up = np.array([0.0, -1.0])
            if eyes:
                d = all_brow.mean(0) - np.concatenate(eyes).mean(0)
                up = d / (np.linalg.norm(d) + 1e-9)
        offset = up * brow_thickness * spacing
        for brow in brows:
            fill(mask, [np.concatenate([brow, (brow - offset)[::-1]])], EYEBROWS)
    if NOSE in by_class:
        fill(mask, [_hull(np.concatenate(by_class[NOSE]))], NOSE)
    return mask
