"""Checks that an array really is a thermal image in degrees Celsius (and a mask that fits it).

Every public entry point of tiaug calls these, so bad input is refused with a message that names the
problem instead of producing silently wrong temperatures.
"""

from __future__ import annotations

import numpy as np

INTEGER_IMAGE_HINT = (
    "TiAug works on temperatures in degrees Celsius stored as floats. Convert raw camera counts with "
    "your camera's radiometric calibration first, e.g. for centi-kelvin counts: "
    "image.astype(np.float32) * 0.01 - 273.15"
)


def as_2d_view(image: np.ndarray, name: str = "image") -> np.ndarray:
    """Return an (H, W) view of an (H, W) or (H, W, 1) array; refuse anything else (RGB, stacks)."""
    if not isinstance(image, np.ndarray):
        raise TypeError(f"{name} must be a numpy array, got {type(image).__name__}")
    if image.ndim == 3 and image.shape[2] == 1:
        return image[:, :, 0]
    if image.ndim == 2:
        return image
    if image.ndim == 3 and image.shape[2] in (3, 4):
        raise ValueError(
            f"{name} has shape {image.shape}: it looks like an RGB/RGBA picture. Thermal images are single-"
            "channel temperature maps of shape (H, W) or (H, W, 1) in degrees Celsius, not colour-mapped renders."
        )
    raise ValueError(f"{name} must have shape (H, W) or (H, W, 1), got {image.shape}")


def check_thermal_image(image: np.ndarray, name: str = "image") -> tuple[np.ndarray, float, float]:
    """Validate a temperature image and return (2-D view, Tmin, Tmax) in degrees Celsius.

    Refuses integer or boolean dtypes (raw counts without a unit), NaN/inf pixels, RGB arrays and empty
    arrays with a ``ValueError`` naming the problem. NaN/inf are found through min/max, which propagate them,
    so the check costs no extra pass over the image.
    """
    view = as_2d_view(image, name)
    if view.dtype.kind != "f":  # np.issubdtype(dtype, np.floating) without its Python overhead
        raise ValueError(f"{name} has dtype {view.dtype}: integer or boolean pixels. {INTEGER_IMAGE_HINT}")
    if view.size == 0:
        raise ValueError(f"{name} is empty (shape {image.shape})")
    t_min = float(view.min())
    t_max = float(view.max())
    if not (np.isfinite(t_min) and np.isfinite(t_max)):
        bad = int(np.count_nonzero(~np.isfinite(view)))
        raise ValueError(
            f"{name} contains {bad} NaN or infinite pixel(s); temperatures must be finite degrees Celsius "
            "(fill dead pixels, e.g. with the median of their neighbours, before augmenting)"
        )
    return view, t_min, t_max


def check_mask(mask: np.ndarray | None, image_shape: tuple[int, ...], name: str = "mask") -> np.ndarray | None:
    """Validate a class-index mask against an image shape; return its (H, W) view or None.

    The mask must be an integer (or boolean) array of shape (H, W) or (H, W, 1) with the image's H and W.
    """
    if mask is None:
        return None
    view = as_2d_view(mask, name)
    if view.shape != tuple(image_shape[:2]):
        raise ValueError(
            f"{name} shape {mask.shape} does not match the image shape {tuple(image_shape)}: "
            "masks must have the same height and width as their image"
        )
    if view.dtype.kind not in "iub":  # signed, unsigned or boolean
        raise ValueError(f"{name} has dtype {view.dtype}: masks hold integer class indices")
    return view
