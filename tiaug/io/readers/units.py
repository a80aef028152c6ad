"""Stored values to degrees Celsius: ``T_C = raw * scale + offset``, checked for plausibility."""

from __future__ import annotations

import numpy as np

from tiaug.io.errors import ThermalDataError
from tiaug.io.h5.atomic import PathLike
from tiaug.validation import INTEGER_IMAGE_HINT, PLAUSIBLE_C, check_thermal_image

KELVIN_OFFSET = -273.15
CAMERA_FORMAT_HINT = (
    "camera counts: a TOPDON TC001 / InfiRay frame pair (256x384, 1/64 K) needs --format tc001, a FLIR Lepton "
    "frame (centi-kelvin) --format lepton, other counts --format raw with --scale and --offset"
)


def to_celsius(raw: np.ndarray, path: PathLike, scale: float | None = None, offset: float = 0.0) -> np.ndarray:
    """Convert a stored array to an (H, W) float32 image in degrees Celsius: ``raw * scale + offset``.

    Integer arrays need an explicit ``scale`` (raw camera counts are never guessed). Refuses RGB arrays,
    NaN/inf pixels and images whose median is outside -60..200 C (probably Kelvin or counts).
    """
    raw = np.asarray(raw)
    if raw.dtype.kind in "iub" and scale is None:
        problem = f"integer pixels ({raw.dtype}) and no --scale given. {INTEGER_IMAGE_HINT}. For {CAMERA_FORMAT_HINT}"
        raise ThermalDataError(path, None, problem)
    if raw.dtype.kind not in "iubf":
        raise ThermalDataError(path, None, f"has dtype {raw.dtype}; temperatures must be real numbers")
    try:
        view = check_thermal_image(np.asarray(raw, dtype=np.float32), name="image")[0]
    except ValueError as e:
        raise ThermalDataError(path, None, str(e)) from None
    image = view * np.float32(1.0 if scale is None else scale) + np.float32(offset)
    check_plausible(image, path)
    return np.ascontiguousarray(image, dtype=np.float32)


def stored_to_celsius(
    raw: np.ndarray, path: PathLike, scale: float | None = None, offset: float | None = None
) -> np.ndarray:
    """:func:`to_celsius` for files of either kind: ``scale`` and ``offset`` convert integer counts only; float
    pixels are temperatures in degrees Celsius as stored (a folder may mix counts and exported temperatures)."""
    if np.asarray(raw).dtype.kind in "iub":
        return to_celsius(raw, path, scale, 0.0 if offset is None else offset)
    return to_celsius(raw, path)


def check_plausible(image: np.ndarray, path: PathLike) -> None:
    """Refuse an image in degrees Celsius whose median (of every other pixel) is outside -60..200 C."""
    median = float(np.median(image[::2, ::2]))
    if not PLAUSIBLE_C[0] <= median <= PLAUSIBLE_C[1]:
        raise ThermalDataError(
            path,
            None,
            f"median {median:.1f} after conversion is not a plausible temperature in degrees Celsius: Kelvin "
            "needs --offset -273.15, raw counts need --scale and --offset from the camera's calibration",
        )
