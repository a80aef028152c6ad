"""Per-pixel thermal sensor noise (NETD) in degrees Celsius.

Drawing a fresh Gaussian field per image is expensive (``benchmarks/README.md``, section 1), so by default a
field is a window of a fixed standard-normal texture of 1024 * 1024 values, taken at a random offset with a
random sign (chosen by the caller's generator), and scaled by the NETD (one ``cv2.scaleAdd`` pass). The window
is ``height * width`` consecutive values of the flat texture reshaped to the image: one contiguous read, which
the CPU prefetches (a 2-D window of a 1024-wide texture would touch a new 4 KB page per row).
Every pixel of such a window is an independent N(0, 1) draw, so each output image carries white Gaussian noise
of the requested standard deviation; only different images share shifted copies of the texture. The texture is
a constant (it is made from a fixed seed the first time it is needed), not global random state: all
randomness comes from ``rng``.
``exact=True``, or an image with more pixels than the texture, draws a fresh field from ``rng`` instead.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import cv2
import numpy as np

from tiaug.functional.augmented import Augmented
from tiaug.validation import check_number, check_thermal_image

TEXTURE_SIZE = 1024
TEXTURE_PIXELS = TEXTURE_SIZE * TEXTURE_SIZE  # windows are cut from the flat texture: any shape up to this many pixels
_TEXTURE_SEED = 0x7E12A5
MAX_NETD = 10.0  # degrees Celsius: the documented upper limit of the noise standard deviation
NOISE_SIGMAS = 8.0  # noise fields stay within this many standard deviations (the texture within ~5.5)


@dataclass(frozen=True)
class NoiseConfig:
    """Sensor noise parameters (the defaults of :func:`thermal_noise` and ``ThermalNoise``).

    Attributes:
        min_netd: smallest noise standard deviation (NETD), degrees Celsius (>= 0).
        max_netd: largest noise standard deviation, degrees Celsius (poster: 0.1).
        exact: draw a fresh field per image instead of a window of the constant N(0, 1) texture (slower).

    Limits: NETDs within [0, ``MAX_NETD``] °C (real sensors: 0.02-0.1 °C).
    """

    min_netd: float = 0.0
    max_netd: float = 0.1
    exact: bool = False

    def __post_init__(self) -> None:
        for name in ("min_netd", "max_netd"):
            check_number(name, getattr(self, name), 0.0, MAX_NETD, " °C")
        if self.min_netd > self.max_netd:
            raise ValueError(f"min_netd ({self.min_netd}) must not exceed max_netd ({self.max_netd})")


@lru_cache(maxsize=1)
def standard_normal_texture() -> np.ndarray:
    """The constant (1024, 1024) float32 N(0, 1) texture that noise windows are cut from (read-only)."""
    texture = np.random.default_rng(_TEXTURE_SEED).standard_normal((TEXTURE_SIZE, TEXTURE_SIZE), np.float32)
    texture.flags.writeable = False
    return texture


@lru_cache(maxsize=1)
def flat_texture() -> np.ndarray:
    """:func:`standard_normal_texture` as one row of TEXTURE_PIXELS values (a read-only view)."""
    return standard_normal_texture().reshape(-1)


@lru_cache(maxsize=1)
def texture_range() -> tuple[float, float]:
    """Smallest and largest value of :func:`standard_normal_texture` (about -5 and +5)."""
    texture = standard_normal_texture()
    return float(texture.min()), float(texture.max())


def fits_texture(height: int, width: int) -> bool:
    """Whether an (height, width) field can be a window of the flat texture (else it is drawn fresh)."""
    return height * width <= TEXTURE_PIXELS


def fresh_field_window(rng: np.random.Generator) -> dict[str, Any]:
    """A field drawn fresh instead of a texture window: the seed of its own generator, from ``rng``."""
    return {"exact": True, "seed": int(rng.integers(2**63))}


def texture_window(u_offset: float, u_sign: float, height: int, width: int) -> dict[str, Any]:
    """The window of the flat texture for uniform draws ``u_offset`` and ``u_sign`` in [0, 1) (it must fit)."""
    offset = int(u_offset * (TEXTURE_PIXELS - height * width + 1))
    return {"exact": False, "offset": offset, "sign": -1.0 if u_sign < 0.5 else 1.0}


def noise_field(window: dict[str, Any], height: int, width: int) -> np.ndarray:
    """The N(0, 1) field (height, width) float32 described by a window (:func:`texture_window`, a view, or
    :func:`fresh_field_window`)."""
    if window["exact"]:
        return np.random.default_rng(window["seed"]).standard_normal((height, width), np.float32)
    offset = window["offset"]
    return flat_texture()[offset : offset + height * width].reshape(height, width)


def texture_chunks(window: dict[str, Any], shapes: list[tuple[int, int]]) -> Iterator[np.ndarray]:
    """N(0, 1) float32 fields of the given (h, w) shapes, one after the other, for a window
    (:func:`texture_window` or :func:`fresh_field_window`): consecutive runs of the flat texture from the window's
    offset (each one contiguous read; a run that would pass the texture's end starts again at 0), or fresh fields
    from the window's seed."""
    if window["exact"]:
        rng = np.random.default_rng(window["seed"])
        for shape in shapes:
            yield rng.standard_normal(shape, np.float32)
        return
    flat, offset = flat_texture(), window["offset"]
    for h, w in shapes:
        if offset + h * w > TEXTURE_PIXELS:
            offset = 0
        yield flat[offset : offset + h * w].reshape(h, w)
        offset += h * w


def add_scaled_field(image: np.ndarray, field: np.ndarray, scale: float) -> np.ndarray:
    """Return ``image + scale * field`` as a new array of the image's dtype and shape ((H, W) or (H, W, 1))."""
    plane = image[:, :, 0] if image.ndim == 3 else image
    if plane.dtype != field.dtype:
        field = field.astype(plane.dtype)
    return cv2.scaleAdd(field, scale, plane).reshape(image.shape)


def sample_thermal_noise(
    rng: np.random.Generator, height: int, width: int, min_netd: float, max_netd: float, exact: bool = False
) -> dict[str, Any]:
    """Sample the noise parameters for one image: NETD (degrees Celsius, uniform) and the field's window."""
    if exact or not fits_texture(height, width):
        netd = float(rng.uniform(min_netd, max_netd))
        return {"netd": netd, "window": fresh_field_window(rng)}
    u_netd, u_offset, u_sign = rng.random(3).tolist()  # one draw: the NETD and the window
    netd = min_netd + u_netd * (max_netd - min_netd)
    return {"netd": netd, "window": texture_window(u_offset, u_sign, height, width)}


def apply_thermal_noise(image: np.ndarray, params: dict[str, Any]) -> np.ndarray:
    """Add the sampled white Gaussian noise (std = params['netd'] degrees Celsius); input left untouched."""
    height, width = image.shape[:2]
    sign = params["window"].get("sign", 1.0)
    return add_scaled_field(image, noise_field(params["window"], height, width), sign * params["netd"])


def noise_bounds(config: NoiseConfig, low: float, high: float) -> tuple[float, float]:
    """Temperatures (degrees Celsius) the noise can produce from inputs in [low, high]: within 8 NETDs."""
    return low - NOISE_SIGMAS * config.max_netd, high + NOISE_SIGMAS * config.max_netd


def thermal_noise(
    image: np.ndarray, mask: np.ndarray | None = None, *, rng: np.random.Generator, config: NoiseConfig | None = None
) -> Augmented:
    """Add per-pixel sensor noise with a NETD drawn in [config.min_netd, config.max_netd] degrees Celsius.

    Args:
        image: (H, W) or (H, W, 1) float temperatures in degrees Celsius (validated; never modified).
        mask: optional class mask, returned as it is.
        rng: the generator every random choice comes from.
        config: :class:`NoiseConfig` (default: the poster's NETD up to 0.1 C, a window of the texture).

    Returns:
        The noisy image (same dtype and shape), the mask and the sampled parameters.
    """
    config = config or NoiseConfig()
    check_thermal_image(image)
    params = sample_thermal_noise(rng, image.shape[0], image.shape[1], config.min_netd, config.max_netd, config.exact)
    return Augmented(apply_thermal_noise(image, params), mask, params)
