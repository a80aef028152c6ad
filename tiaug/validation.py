"""Checks that an array really is a thermal image in degrees Celsius (and a mask that fits it).

Every public entry point of tiaug calls these (and only these: readers, writers and importers wrap their
``ValueError`` into messages naming the file), so bad input is refused with a message that names the problem
instead of producing silently wrong temperatures.
"""

from __future__ import annotations

import math
import numbers
import warnings
from collections.abc import Sequence

import numpy as np

INTEGER_IMAGE_HINT = (
    "TiAug works on temperatures in degrees Celsius stored as floats. Convert raw camera counts with "
    "your camera's radiometric calibration first, e.g. for centi-kelvin counts: "
    "image.astype(np.float32) * 0.01 - 273.15"
)


def _named(name: str, problem: str) -> str:
    return f"{name} {problem}" if name else problem


def check_float_pixels(
    dtype: np.dtype | type, name: str = "image", *, allow_integers: bool = False, reason: str = ""
) -> None:
    """Refuse integer or boolean pixels (raw counts without a unit) unless ``allow_integers``, and anything that
    is not a real number. ``reason`` says why integers are refused here (e.g. " and no --scale given")."""
    dtype = np.dtype(dtype)
    if dtype.kind in "iub" and not allow_integers:
        kind = "boolean" if dtype.kind == "b" else "integer"
        raise ValueError(_named(name, f"has dtype {dtype}: {kind} pixels{reason}. {INTEGER_IMAGE_HINT}"))
    if dtype.kind not in "iubf":
        raise ValueError(_named(name, f"has dtype {dtype}; temperatures must be real floating-point numbers"))


def check_single_channel(shape: tuple[int, ...], name: str = "image", image_ndims: tuple[int, ...] = (2,)) -> None:
    """Refuse a shape that looks like RGB/RGBA pictures: one of ``image_ndims`` plus a last axis of 3 or 4."""
    if len(shape) - 1 in image_ndims and shape[-1] in (3, 4):
        raise ValueError(
            _named(name, f"has shape {tuple(shape)}: it looks like RGB/RGBA pictures. Thermal images are single-")
            + "channel temperature maps in degrees Celsius ((H, W), (H, W, 1) or stacks), not colour-mapped renders."
        )


def check_finite_rows(images: np.ndarray, name: str = "images", first_row: int = 0) -> None:
    """Refuse NaN/inf pixels in a stack (B, H, W), naming the first bad row (numbered from ``first_row``)."""
    if not images.size or (np.isfinite(images.min()) and np.isfinite(images.max())):  # NaN propagates: no temporary
        return
    finite = np.isfinite(images)
    bad_rows = np.nonzero(~finite.reshape(len(images), -1).all(axis=1))[0]
    raise ValueError(
        (f"{name}: " if name else "")
        + f"row {first_row + int(bad_rows[0])} contains NaN or infinite pixels ({int((~finite).sum())} in rows "
        f"{first_row}..{first_row + len(images) - 1}); temperatures must be finite degrees Celsius "
        "(fill dead pixels, e.g. with the median of their neighbours, first)"
    )


#: Plausible temperatures (degrees Celsius) for the mean of an image: outside, it is probably in Kelvin or
#: raw camera counts. No pixel may be colder than absolute zero.
PLAUSIBLE_C = (-60.0, 200.0)
ABSOLUTE_ZERO_C = -273.15


def check_plausible_rows(images: np.ndarray, name: str = "images", first_row: int = 0) -> None:
    """Refuse rows of a stack (B, H, W) whose mean is not a plausible temperature in degrees Celsius (see
    ``PLAUSIBLE_C``) or that hold pixels below absolute zero, naming the first such row."""
    flat = images.reshape(len(images), -1)
    means, lows = flat.mean(axis=1), flat.min(axis=1)  # float32 pairwise sums: ample for a plausibility test
    bad = np.nonzero((means < PLAUSIBLE_C[0]) | (means > PLAUSIBLE_C[1]) | (lows < ABSOLUTE_ZERO_C))[0]
    if len(bad):
        k = int(bad[0])
        raise ValueError(
            (f"{name}: " if name else "")
            + f"row {first_row + k} has a mean of {means[k]:.1f} and a minimum of {lows[k]:.1f}: not plausible "
            "temperatures in degrees Celsius (Kelvin? raw camera counts?); convert to degrees Celsius first"
        )


def valid_labels(masks: np.ndarray, n_classes: int, ignore_index: int | None = None) -> bool:
    """Whether every mask value is a class index 0..n_classes-1 or the ignore index."""
    if not masks.size:
        return True
    if ignore_index is None:
        return bool(masks.min() >= 0 and masks.max() < n_classes)
    labelled = masks[masks != ignore_index]
    return not labelled.size or bool(labelled.min() >= 0 and labelled.max() < n_classes)


def check_labels(
    masks: np.ndarray, classes: Sequence[str], ignore_index: int | None = None, name: str = "masks", first_row: int = 0
) -> None:
    """Refuse masks (B, H, W) that are not integers or hold values other than class indices and the ignore index."""
    if masks.dtype.kind not in "iub":
        raise ValueError(_named(name, f"has dtype {masks.dtype}; masks hold integer class indices"))
    if not valid_labels(masks, len(classes), ignore_index):
        raise ValueError(
            (f"{name}: " if name else "")
            + f"rows {first_row}..{first_row + len(masks) - 1} hold class values {int(masks.min())}.."
            f"{int(masks.max())}, outside 0..{len(classes) - 1} (classes {list(classes)})"
            + ("" if ignore_index is None else f" and not the ignore index {ignore_index}")
        )


def as_2d_view(image: np.ndarray, name: str = "image") -> np.ndarray:
    """Return an (H, W) view of an (H, W) or (H, W, 1) array; refuse anything else (RGB, stacks)."""
    if not isinstance(image, np.ndarray):
        raise TypeError(f"{name} must be a numpy array, got {type(image).__name__}")
    if image.ndim == 3 and image.shape[2] == 1:
        return image[:, :, 0]
    if image.ndim == 2:
        return image
    check_single_channel(image.shape, name)
    raise ValueError(f"{name} must have shape (H, W) or (H, W, 1), got {image.shape}")


def check_thermal_image(image: np.ndarray, name: str = "image") -> tuple[np.ndarray, float, float]:
    """Validate a temperature image and return (2-D view, Tmin, Tmax) in degrees Celsius.

    Refuses integer or boolean dtypes (raw counts without a unit), NaN/inf pixels, RGB arrays and empty
    arrays with a ``ValueError`` naming the problem. NaN/inf are found through min/max, which propagate them,
    so the check costs no extra pass over the image.
    """
    view = as_2d_view(image, name)
    check_float_pixels(view.dtype, name)
    if view.size == 0:
        raise ValueError(f"{name} is empty (shape {image.shape})")
    t_min = float(np.minimum.reduce(view, axis=None))  # ufunc methods: .min()/.max() without their wrappers
    t_max = float(np.maximum.reduce(view, axis=None))
    if not (math.isfinite(t_min) and math.isfinite(t_max)):
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


def check_range(name: str, value: tuple[float, float], low: float, high: float, low_open: bool = False) -> None:
    """Refuse a (min, max) pair that is not a pair of numbers, unordered, not finite or outside [low, high]
    (``(low, high]`` if low_open)."""
    bracket = "(" if low_open else "["
    limits = f"{bracket}{low}, {high}] (its documented limits)"
    message = f"{name} must be an ordered pair (min, max) within {limits}, got {value!r}"
    try:
        lo, hi = value
    except (TypeError, ValueError):
        raise ValueError(message) from None
    if not (isinstance(lo, numbers.Real) and isinstance(hi, numbers.Real)):
        raise ValueError(message)
    below = lo <= low if low_open else lo < low
    if not (np.isfinite(lo) and np.isfinite(hi)) or below or hi > high or lo > hi:
        raise ValueError(message)


class NotCelsiusWarning(UserWarning):
    """An image given to a TiAug transform does not look like temperatures in degrees Celsius."""


KELVIN_MEAN = (200.0, 400.0)  # a frame whose mean lies here is almost surely in kelvin (a room is ~297 K)
_PLAUSIBILITY_ROWS = 8  # rows the check looks at


def celsius_problem(image: np.ndarray) -> str | None:
    """The likely reason ``image`` is not in degrees Celsius (values within [0, 1]; a mean near 297 K), or None.

    Looks at a few evenly spaced rows, so it costs a few microseconds.
    """
    array = np.asarray(image)
    if array.size == 0 or array.dtype.kind != "f":
        return None
    rows = array.reshape(array.shape[0], -1)  # (H, W * C), or (T, H * W) for a stack of frames
    sample = rows[:: max(1, len(rows) // _PLAUSIBILITY_ROWS)]  # whole rows: contiguous, cheap to reduce
    low, high = float(np.minimum.reduce(sample, axis=None)), float(np.maximum.reduce(sample, axis=None))
    if low >= 0.0 and high <= 1.0:
        return (
            "its values lie within [0, 1]: normalised, or clipped by an Albumentations transform that assumes [0, 1] "
            "floats (blur, noise, brightness...; wrap such transforms in tiaug.transforms.TemperatureSafe, and check "
            "a whole pipeline with tiaug.safety.check_pipeline)"
        )
    if (
        high >= KELVIN_MEAN[0]
        and KELVIN_MEAN[0] <= float(np.add.reduce(sample, axis=None)) / sample.size <= KELVIN_MEAN[1]
    ):
        return "its mean is near 297 K: kelvin? subtract 273.15 first"
    return None


def warn_if_not_celsius(image: np.ndarray, source: str) -> None:
    """Warn (a :class:`NotCelsiusWarning`, shown once per cause by Python's default filter) when ``image`` does
    not look like degrees Celsius."""
    problem = celsius_problem(image)
    if problem is not None:
        message = f"{source}: the image is probably not in degrees Celsius: {problem}"
        warnings.warn(message, NotCelsiusWarning, stacklevel=3)


def check_number(name: str, value: float, low: float, high: float, unit: str = "", low_open: bool = False) -> None:
    """Refuse a number that is not finite or lies outside [low, high] (``(low, high]`` if low_open), naming the
    documented limits (``unit`` follows the numbers, e.g. " °C")."""
    bracket = "(" if low_open else "["
    below = value <= low if low_open else value < low
    if not isinstance(value, numbers.Real) or not math.isfinite(value) or below or value > high:
        limits = f"{bracket}{low:g}, {high:g}]{unit}"
        raise ValueError(f"{name} must be a finite number within {limits} (its documented limits), got {value!r}")
