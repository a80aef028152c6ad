"""The face an occluder is sized and tempered against: its area (px) and temperature (degrees Celsius).

With a mask, the face is every pixel with a class > 0. Without a mask, or with a mask that holds no
foreground, the face is estimated as the pixels warmer than the midpoint of the image's temperature range
(in controlled recordings the face is the warm object); a constant image counts as all face. The face
temperature is the median over the face, taken on a regular grid of about 2,048 samples
(the upper median for an even count) to stay cheap.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import cv2
import numpy as np

MEDIAN_SAMPLES = 2048


class FaceStats(NamedTuple):
    """Face area in pixels, its median temperature (degrees Celsius) and how the face was found."""

    area_px: float
    temperature: float
    source: str  # "mask", "warm_pixels" or "whole_image"


def count_foreground(mask: np.ndarray) -> int:
    """Pixels with a class > 0 (OpenCV's counter for 2-D uint8 masks, numpy otherwise)."""
    if mask.dtype == np.uint8 and mask.ndim == 2:
        return cv2.countNonZero(mask)
    return int(np.count_nonzero(mask))


def upper_median(values: np.ndarray) -> float:
    """Median of a 1-D array (the upper of the two middle values for an even count), in O(n)."""
    middle = values.size // 2
    return float(np.partition(values, middle)[middle])


def _grid_step(height: int, width: int) -> int:
    return max(1, int(math.sqrt(height * width / MEDIAN_SAMPLES)))


def face_statistics(image: np.ndarray, mask: np.ndarray | None, t_min: float, t_max: float) -> FaceStats:
    """Face area and temperature of a validated (H, W) image with an optional (H, W) class mask."""
    height, width = image.shape
    step = _grid_step(height, width)
    sub_image = image[::step, ::step]
    if mask is not None:
        area = count_foreground(mask)
        if area > 0:
            on_grid = sub_image[mask[::step, ::step] > 0]
            values = on_grid if on_grid.size else image[mask > 0]
            return FaceStats(float(area), upper_median(values), "mask")
    if t_max - t_min <= 1e-6:
        return FaceStats(float(height * width), float(t_min), "whole_image")
    warm = sub_image > 0.5 * (t_min + t_max)
    if not warm.any():  # the warm pixels fall between grid points: use every pixel
        sub_image = image
        warm = image > 0.5 * (t_min + t_max)
    fraction = np.count_nonzero(warm) / warm.size
    return FaceStats(fraction * height * width, upper_median(sub_image[warm]), "warm_pixels")
