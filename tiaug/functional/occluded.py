"""What an occlusion covers: its pixels, the keypoints under it, and the labels under it (the mask policies)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal, get_args

import numpy as np

from tiaug.functional.raster import clip_region
from tiaug.labels import IGNORE_INDEX

if TYPE_CHECKING:
    from tiaug.functional.occlusion import OcclusionPlan

MaskPolicy = Literal["keep", "background", "ignore"]
#: Labels under occluders: keep them (the paper's choice, the default), set them to background (0) or ignore.
MASK_POLICIES: tuple[MaskPolicy, ...] = get_args(MaskPolicy)
DEFAULT_MASK_POLICY: MaskPolicy = MASK_POLICIES[0]


def occluded_pixels(plan: OcclusionPlan, shape: tuple[int, ...]) -> np.ndarray:
    """Boolean (H, W) map of every pixel the plan paints."""
    covered = np.zeros(shape[:2], dtype=bool)
    for region in plan.regions:
        clipped = clip_region(region, shape[0], shape[1])
        if clipped is not None:
            covered[clipped[0]] |= clipped[1].view(bool)
    return covered


def occluded_keypoints(plan: OcclusionPlan, keypoints: np.ndarray, shape: tuple[int, ...]) -> list[int]:
    """Indices of the keypoints ((N, 2+) pixel x, y) that lie on a pixel the plan paints."""
    points = np.asarray(keypoints, dtype=np.float64).reshape(len(keypoints), -1)[:, :2]
    if len(points) == 0:
        return []
    columns, rows = np.floor(points[:, 0]).astype(np.int64), np.floor(points[:, 1]).astype(np.int64)
    inside = (columns >= 0) & (columns < shape[1]) & (rows >= 0) & (rows < shape[0])
    covered = occluded_pixels(plan, shape)
    return [int(k) for k in np.nonzero(inside)[0] if covered[rows[k], columns[k]]]


def apply_mask_policy(
    mask: np.ndarray, plan: OcclusionPlan, policy: MaskPolicy = DEFAULT_MASK_POLICY, ignore_index: int = IGNORE_INDEX
) -> np.ndarray:
    """Labels under the occluders: "keep" (unchanged, the paper's choice), "background" (0) or "ignore".

    Returns a new mask of the same dtype and shape; the input is never modified.
    """
    if policy not in MASK_POLICIES:
        raise ValueError(f"mask policy must be one of {MASK_POLICIES}, got {policy!r}")
    if policy == "keep":
        return mask.copy()
    value = 0 if policy == "background" else ignore_index
    out = mask.copy()
    view = out[:, :, 0] if out.ndim == 3 else out
    view[occluded_pixels(plan, view.shape)] = value
    return out
