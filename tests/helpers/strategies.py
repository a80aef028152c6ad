"""Hypothesis strategies and fixtures-as-functions for thermal test images (degrees Celsius)."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from tiaug.seeding import seed_pipeline


def thermal_face(height: int, width: int, seed: int, dtype: type = np.float32) -> tuple[np.ndarray, np.ndarray]:
    """A warm elliptic 'face' on a cooler background with mild noise, and its 0/1 mask."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:height, :width]
    cy, cx = rng.uniform(0.3, 0.7) * height, rng.uniform(0.3, 0.7) * width
    ry, rx = rng.uniform(0.2, 0.45) * height + 1, rng.uniform(0.2, 0.45) * width + 1
    inside = ((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 < 1
    background = rng.uniform(18, 28)
    face = rng.uniform(32, 36)
    image = np.where(inside, face, background) + rng.normal(0, 0.3, (height, width))
    return image.astype(dtype), inside.astype(np.uint8)


@st.composite
def thermal_cases(draw: st.DrawFn, min_side: int = 8, max_side: int = 96) -> dict:
    """Random image/mask cases: sizes, dtypes, (H, W, 1) layout, missing or empty masks."""
    height = draw(st.integers(min_side, max_side))
    width = draw(st.integers(min_side, max_side))
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    image, mask = thermal_face(height, width, draw(st.integers(0, 2**31)), dtype)
    mask_kind = draw(st.sampled_from(["mask", "mask", "none", "empty"]))
    if mask_kind == "none":
        mask = None
    elif mask_kind == "empty":
        mask = np.zeros_like(mask)
    if draw(st.booleans()):
        image = image[:, :, None]
        mask = None if mask is None else mask[:, :, None]
    return {"image": image, "mask": mask, "seed": draw(st.integers(0, 2**32 - 1))}


def assert_same_outputs(pipeline, other, image: np.ndarray, mask: np.ndarray, seed: int = 3, calls: int = 3) -> None:
    """Seeded alike, two pipelines give identical images and masks ``calls`` times in a row."""
    seed_pipeline(other, seed)
    seed_pipeline(pipeline, seed)
    for _ in range(calls):
        a, b = pipeline(image=image, mask=mask), other(image=image, mask=mask)
        np.testing.assert_array_equal(a["image"], b["image"])
        np.testing.assert_array_equal(a["mask"], b["mask"])
