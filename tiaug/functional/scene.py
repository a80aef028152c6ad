"""Scene-level thermal augmentation: the room, the camera and the sensor, as pure functions in degrees Celsius.

Local occluders leave the relation between a face and its room untouched. These functions change the scene
itself, as real-world recordings do:

* **ambient temperature** (:func:`ambient_temperature`): the room is re-drawn to a new temperature and the
  skin follows it partially. Every pixel keeps its *relative warmth* ``f = (T - room) / (skin - room)``
  (clipped to [0, 1]): room pixels (f = 0) move with the room, skin (f = 1) moves by ``coupling`` times the
  room's change, and what lies between (hair, clothes, the nose tip, the blurred face edge) moves in
  proportion, so no step appears at the mask's outline. Facial skin temperature rises and falls with the
  ambient temperature by a fraction of its change (roughly 0.1-0.4 C per C for the forehead and cheeks,
  more for the nose; e.g. Houdas & Ring, *Human Body Temperature*, 1982), and its change never takes it
  above the core temperature (``max_skin_temperature``). A hot room can therefore end up warmer than the face,
  and a cold outdoor scene far colder.
* **camera drift** (:func:`camera_drift`): a global offset and gain of the whole frame about its median, as an
  uncalibrated or drifting microbolometer gives. Radiometric accuracy in datasheets: FLIR Lepton 3.5
  +-5 C or 5 %, TOPDON TC001 and FLIR A-series +-2 C or 2 % of the reading, before drift after power-up.
* **fixed-pattern noise** (:func:`fixed_pattern_noise`): per-column and per-row offsets (stripes), the
  residual non-uniformity of uncooled microbolometer arrays that drifts with the array's temperature between
  shutter corrections (Wolf, Pezoa & Figueroa, *Sensors* 16(7):1121, 2016: about 0.25 C RMS after their
  compensation for a 15 C change of the array temperature). ``ThermalNoise`` adds independent per-pixel noise
  only; stripes are correlated along a whole column or row.

Each is split into ``sample_*`` (every random choice from the caller's ``numpy.random.Generator``, into
JSON-serialisable parameters) and ``apply_*`` (deterministic). Images are (H, W) or (H, W, 1) float32/float64
temperatures; dtype and shape are kept, inputs are never modified, masks are never changed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from tiaug.functional.augmented import Augmented
from tiaug.functional.face import face_statistics, upper_median
from tiaug.validation import check_mask, check_number, check_range, check_thermal_image

ROOM_SAMPLES = 2048  # grid samples for the room's median temperature
MAX_STRIPE_SIGMAS = 4.0  # stripe offsets are N(0, 1) draws clipped to +-4, times the stripe std
#: Documented limits (refused beyond them): rooms and skin in degrees Celsius, drift offsets (°C) and gains, stripes.
AMBIENT_LIMITS = (-60.0, 100.0)
MAX_DRIFT_OFFSET = 50.0
MAX_DRIFT_GAIN = 2.0
MAX_STRIPE_STD = 5.0


# -- ambient temperature ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class AmbientConfig:
    """Ranges of :func:`ambient_temperature` (degrees Celsius unless said otherwise).

    Attributes:
        ambient_range: new room (background) temperature, drawn uniformly.
        skin_coupling_range: skin change per degree of room change (0: the skin keeps its temperature, 1: it
            follows the room fully), drawn uniformly.
        max_skin_temperature: the skin's own change never takes it above this (core body temperature); a
            face that is already warmer keeps its temperature when the room warms. Face pixels cooler than the
            skin's median (nose tip, outline) move towards the room by their relative warmth, so in a room
            warmer than this the face's median can end above it, never above the room.
        min_contrast: below this face-room difference the relative warmth is unreliable: the face is then
            taken from the mask (softened by a Gaussian of ``edge_sigma`` px), or, without a mask, the whole
            frame moves with the room.
        edge_sigma: softening of the mask outline in that fallback, pixels.

    Limits (refused beyond them): rooms and the skin within ``AMBIENT_LIMITS`` °C, ``min_contrast`` in
    (0, 100] °C, ``edge_sigma`` in [0, 100] px.
    """

    ambient_range: tuple[float, float] = (0.0, 50.0)
    skin_coupling_range: tuple[float, float] = (0.1, 0.35)
    max_skin_temperature: float = 37.0
    min_contrast: float = 1.0
    edge_sigma: float = 1.5

    def __post_init__(self) -> None:
        check_range("ambient_range", self.ambient_range, *AMBIENT_LIMITS)
        check_range("skin_coupling_range", self.skin_coupling_range, 0.0, 1.0)
        check_number("max_skin_temperature", self.max_skin_temperature, *AMBIENT_LIMITS, " °C")
        check_number("min_contrast", self.min_contrast, 0.0, 100.0, " °C", low_open=True)
        check_number("edge_sigma", self.edge_sigma, 0.0, 100.0, " px")


@dataclass(frozen=True)
class AmbientPlan:
    """What :func:`apply_ambient` needs: JSON provenance ``params`` and the face mask for the mask fallback."""

    params: dict[str, Any]
    face: np.ndarray | None  # (H, W) bool, only for weighting "mask"


def room_temperature(image: np.ndarray, mask: np.ndarray | None, t_min: float, t_max: float) -> float | None:
    """Median room temperature of an (H, W) image: ``mask == 0`` pixels, or without a usable mask the pixels
    colder than the middle of the image's range; None when there is no room (all face, or a constant image)."""
    step = max(1, int(np.sqrt(image.size / ROOM_SAMPLES)))
    if mask is not None and np.any(mask):
        room = image[::step, ::step][mask[::step, ::step] == 0]
        if room.size == 0:
            room = image[mask == 0]
    elif t_max - t_min > 1e-6:
        room = image[::step, ::step][image[::step, ::step] <= 0.5 * (t_min + t_max)]
    else:
        return None
    return upper_median(room) if room.size else None


def sample_ambient(
    image: np.ndarray, mask: np.ndarray | None, rng: np.random.Generator, config: AmbientConfig
) -> AmbientPlan:
    """Draw a new room temperature and skin coupling for a validated image (and optional class mask)."""
    view, t_min, t_max = check_thermal_image(image)
    mask_view = check_mask(mask, view.shape)
    face = face_statistics(view, mask_view, t_min, t_max)
    room = room_temperature(view, mask_view, t_min, t_max)
    new_room = float(rng.uniform(*config.ambient_range))
    coupling = float(rng.uniform(*config.skin_coupling_range))
    skin = face.temperature
    if room is None:
        weighting, room = "all_face", skin
    elif skin - room >= config.min_contrast:
        weighting = "relative_warmth"
    elif face.source == "mask":
        weighting = "mask"
    else:
        weighting = "all_room"
    skin_change = coupling * (new_room - room)
    if skin_change > 0:
        skin_change = min(skin_change, max(config.max_skin_temperature - skin, 0.0))
    params = {
        "room_before": round(room, 4),
        "room_after": round(new_room, 4),
        "skin_before": round(skin, 4),
        "skin_after": round(skin + skin_change, 4),
        "coupling": round(coupling, 4),
        "weighting": weighting,
        "face_source": face.source,
    }
    face_mask = mask_view > 0 if weighting == "mask" and mask_view is not None else None
    return AmbientPlan(params, face_mask)


def _face_weight(view: np.ndarray, plan: AmbientPlan, edge_sigma: float) -> np.ndarray | float:
    """Per-pixel share of the skin's change (the rest is the room's): (H, W) float32 in [0, 1], or a scalar."""
    p = plan.params
    weighting = p["weighting"]
    if weighting == "all_face":
        return 1.0
    if weighting == "all_room":
        return 0.0
    if weighting == "mask":
        assert plan.face is not None  # planned with the mask
        weight = plan.face.astype(np.float32)
        if edge_sigma > 0:
            weight = cv2.GaussianBlur(weight, (0, 0), edge_sigma, borderType=cv2.BORDER_REPLICATE)
        return weight
    room, skin = np.float32(p["room_before"]), np.float32(p["skin_before"])
    return np.clip((view.astype(np.float32) - room) / (skin - room), 0.0, 1.0)


def apply_ambient(image: np.ndarray, plan: AmbientPlan, edge_sigma: float = AmbientConfig.edge_sigma) -> np.ndarray:
    """The image with the planned room and skin temperatures (new array; same dtype and shape).

    Each pixel moves by ``room_change + w * (skin_change - room_change)`` with ``w`` its face weight in [0, 1],
    so every output pixel lies within [T + min(changes), T + max(changes)].
    """
    view = image[:, :, 0] if image.ndim == 3 else image
    p = plan.params
    room_change = p["room_after"] - p["room_before"]
    skin_change = p["skin_after"] - p["skin_before"]
    weight = _face_weight(view, plan, edge_sigma)
    shift = np.float32(room_change) + np.float32(skin_change - room_change) * np.asarray(weight, np.float32)
    return (view + shift.astype(view.dtype)).astype(view.dtype).reshape(image.shape)


def ambient_bounds(config: AmbientConfig, low: float, high: float) -> tuple[float, float]:
    """Temperatures (degrees Celsius) from inputs in [low, high]: every pixel moves between the skin's change
    and the room's, both between 0 and ``new room - old room`` (the old room lies in [low, high])."""
    new_low, new_high = config.ambient_range
    return low + min(0.0, new_low - high), high + max(0.0, new_high - low)


def ambient_temperature(
    image: np.ndarray,
    mask: np.ndarray | None = None,
    *,
    rng: np.random.Generator,
    config: AmbientConfig | None = None,
) -> Augmented:
    """Re-draw the room's temperature, the skin following partially (see the module docstring).

    Args:
        image: (H, W) or (H, W, 1) float temperatures in degrees Celsius (validated; never modified).
        mask: optional class mask (face = class > 0; returned as it is); without one the face is the warm object.
        rng: the generator every random choice comes from.
        config: :class:`AmbientConfig` (default: its defaults).

    Returns:
        The new image (same dtype and shape), the mask and the sampled parameters.
    """
    config = config or AmbientConfig()
    plan = sample_ambient(image, mask, rng, config)
    return Augmented(apply_ambient(image, plan, config.edge_sigma), mask, plan.params)


# -- camera drift -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class DriftConfig:
    """Ranges of :func:`camera_drift`: offset in degrees Celsius, gain as a factor about the frame's median.

    Limits (refused beyond them): offsets within +-``MAX_DRIFT_OFFSET`` °C, gains in (0, ``MAX_DRIFT_GAIN``]
    (datasheets: +-2..5 °C or 2..5 % of the reading).
    """

    offset_range: tuple[float, float] = (-3.0, 3.0)
    gain_range: tuple[float, float] = (0.9, 1.1)

    def __post_init__(self) -> None:
        check_range("offset_range", self.offset_range, -MAX_DRIFT_OFFSET, MAX_DRIFT_OFFSET)
        check_range("gain_range", self.gain_range, 0.0, MAX_DRIFT_GAIN, low_open=True)


def sample_drift(image: np.ndarray, rng: np.random.Generator, config: DriftConfig) -> dict[str, float]:
    """Offset, gain and the reference temperature (the frame's median, grid-sampled) for one image."""
    view, _, _ = check_thermal_image(image)
    step = max(1, int(np.sqrt(view.size / ROOM_SAMPLES)))
    reference = upper_median(view[::step, ::step].ravel())
    offset = float(rng.uniform(*config.offset_range))
    gain = float(rng.uniform(*config.gain_range))
    return {"offset": round(offset, 4), "gain": round(gain, 5), "reference": round(reference, 4)}


def apply_drift(image: np.ndarray, params: dict[str, float]) -> np.ndarray:
    """``reference + gain * (T - reference) + offset`` (new array; same dtype and shape)."""
    gain, reference = params["gain"], params["reference"]
    bias = reference * (1.0 - gain) + params["offset"]
    return (image * image.dtype.type(gain) + image.dtype.type(bias)).astype(image.dtype)


def drift_bounds(config: DriftConfig, low: float, high: float) -> tuple[float, float]:
    """Temperatures (degrees Celsius) from inputs in [low, high]: ``gain * T + (1 - gain) * reference + offset``
    with the reference (the median) in [low, high]."""
    reach = config.gain_range[1] * (high - low)
    return min(low, high - reach) + config.offset_range[0], max(high, low + reach) + config.offset_range[1]


def camera_drift(
    image: np.ndarray, mask: np.ndarray | None = None, *, rng: np.random.Generator, config: DriftConfig | None = None
) -> Augmented:
    """Global offset and gain of the frame; returns (image, the mask as given, parameters)."""
    params = sample_drift(image, rng, config or DriftConfig())
    return Augmented(apply_drift(image, params), mask, params)


# -- fixed-pattern noise ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class FixedPatternConfig:
    """Standard deviations (degrees Celsius) of the column and row offsets, each drawn uniformly per image, within
    [0, ``MAX_STRIPE_STD``] (refused beyond)."""

    column_std_range: tuple[float, float] = (0.0, 0.2)
    row_std_range: tuple[float, float] = (0.0, 0.05)

    def __post_init__(self) -> None:
        check_range("column_std_range", self.column_std_range, 0.0, MAX_STRIPE_STD)
        check_range("row_std_range", self.row_std_range, 0.0, MAX_STRIPE_STD)


def sample_fixed_pattern(rng: np.random.Generator, config: FixedPatternConfig) -> dict[str, Any]:
    """Stripe strengths and the seed of their per-column / per-row offsets."""
    column_std = float(rng.uniform(*config.column_std_range))
    row_std = float(rng.uniform(*config.row_std_range))
    return {"column_std": round(column_std, 5), "row_std": round(row_std, 5), "seed": int(rng.integers(2**63))}


def stripe_offsets(params: dict[str, Any], height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Row offsets (H,) and column offsets (W,) float32 in degrees Celsius, each within +-4 standard deviations."""
    draws = np.random.default_rng(params["seed"]).standard_normal(height + width, np.float32)
    np.clip(draws, -MAX_STRIPE_SIGMAS, MAX_STRIPE_SIGMAS, out=draws)
    return draws[:height] * np.float32(params["row_std"]), draws[height:] * np.float32(params["column_std"])


def apply_fixed_pattern(image: np.ndarray, params: dict[str, Any]) -> np.ndarray:
    """The image plus its row and column stripes (new array; same dtype and shape)."""
    view = image[:, :, 0] if image.ndim == 3 else image
    rows, columns = stripe_offsets(params, *view.shape)
    stripes = rows[:, None] + columns[None, :]
    return (view + stripes.astype(view.dtype)).reshape(image.shape)


def fixed_pattern_bounds(config: FixedPatternConfig, low: float, high: float) -> tuple[float, float]:
    """Temperatures (degrees Celsius) from inputs in [low, high]: a row plus a column offset, each within
    ``MAX_STRIPE_SIGMAS`` standard deviations."""
    reach = MAX_STRIPE_SIGMAS * (config.column_std_range[1] + config.row_std_range[1])
    return low - reach, high + reach


def fixed_pattern_noise(
    image: np.ndarray,
    mask: np.ndarray | None = None,
    *,
    rng: np.random.Generator,
    config: FixedPatternConfig | None = None,
) -> Augmented:
    """Column and row stripes; returns (image, the mask as given, parameters)."""
    check_thermal_image(image)
    params = sample_fixed_pattern(rng, config or FixedPatternConfig())
    return Augmented(apply_fixed_pattern(image, params), mask, params)
