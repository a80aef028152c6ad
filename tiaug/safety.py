"""Which pipelines keep temperatures in degrees Celsius: an allow-list, and a check of every output row.

Albumentations 2 assumes float images in [0, 1]: most pixel-level transforms clip every pixel to 1.0, and
geometric ones fill new pixels with 0 (0 °C). A deny-list cannot keep up with Albumentations, so a pipeline is
accepted only when every transform in it is known to keep temperatures (:func:`unsafe_transforms`):

- TiAug's own transforms (any class of a ``tiaug`` module), and anything inside ``TemperatureSafe``;
- transforms that only move pixels (flips, transposes, 90-degree rotations, crops without padding);
- resampling transforms (resize, scale, affine, rotate, perspective, elastic and grid distortions, padding)
  with an interpolation that stays within the input's range (nearest, linear, area) and borders that reflect,
  replicate or wrap the image instead of filling a constant;
- Albumentations' containers (Compose, Sequential, OneOf, SomeOf, ...) of such transforms.

As a last line of defence, :class:`OutputCheck` checks each output row against what the pipeline's transforms
can produce: the input's temperature range widened by TiAug's temperature extension and noise, and no patch of
pixels pinned at exactly 0 or 1.0 that the input did not have.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import albumentations as A
import cv2
import numpy as np

import tiaug.transforms as T
from tiaug.errors import UserError

#: Transforms that only move pixels: every output temperature is an input temperature.
MOVE_ONLY = frozenset({"HorizontalFlip", "VerticalFlip", "Transpose", "D4", "SquareSymmetry", "RandomRotate90",
                       "NoOp", "RandomCropFromBorders", "RandomCrop", "CenterCrop", "Crop"})  # fmt: skip
#: Transforms that resample the image (or pad it): safe with SAFE_INTERPOLATIONS and SAFE_BORDERS.
RESAMPLING = frozenset({"Resize", "RandomScale", "LongestMaxSize", "SmallestMaxSize", "RandomResizedCrop",
                        "RandomSizedCrop", "Affine", "Rotate", "SafeRotate", "ShiftScaleRotate", "Perspective",
                        "ElasticTransform", "GridDistortion", "OpticalDistortion", "GridElasticDeform",
                        "ThinPlateSpline", "PiecewiseAffine", "PadIfNeeded", "CropAndPad"})  # fmt: skip
#: Interpolations whose values lie between their neighbours' (no overshoot beyond the input's range).
SAFE_INTERPOLATIONS = frozenset({cv2.INTER_NEAREST, cv2.INTER_NEAREST_EXACT, cv2.INTER_LINEAR, cv2.INTER_LINEAR_EXACT,
                                 cv2.INTER_AREA})  # fmt: skip
#: Borders made of the image's own pixels (a constant fill would be a temperature, 0 °C by default).
SAFE_BORDERS = frozenset({cv2.BORDER_REFLECT_101, cv2.BORDER_REFLECT, cv2.BORDER_REPLICATE, cv2.BORDER_WRAP})

_SIGMAS = 8.0  # noise and texture fields stay within this many standard deviations


def _is_tiaug(node: Any) -> bool:
    return type(node).__module__.split(".")[0] == "tiaug"


def _problem(node: Any) -> str | None:
    """Why an Albumentations transform may not keep temperatures, or None if it does."""
    name = type(node).__name__
    pads = getattr(node, "pad_if_needed", False) or name in ("PadIfNeeded", "CropAndPad")
    if name in MOVE_ONLY and not pads:
        return None
    if name not in MOVE_ONLY | RESAMPLING:
        return f"{name} is not known to keep temperatures in degrees Celsius (Albumentations assumes [0, 1] floats)"
    interpolation = getattr(node, "interpolation", cv2.INTER_LINEAR)
    if interpolation not in SAFE_INTERPOLATIONS:
        return f"{name} interpolates with cv2 flag {interpolation}, which overshoots (use cv2.INTER_LINEAR)"
    border = getattr(node, "border_mode", cv2.BORDER_REFLECT_101)
    if (pads or name in RESAMPLING) and hasattr(node, "border_mode") and border not in SAFE_BORDERS:
        fill = getattr(node, "fill", 0)
        return f"{name} fills new border pixels with {fill} °C (use border_mode=cv2.BORDER_REFLECT_101)"
    return None


def _walk(node: Any, path: str) -> Iterator[tuple[str, Any]]:
    """(path, node) of every transform outside TemperatureSafe and TiAug (whose contents are not inspected)."""
    if isinstance(node, T.TemperatureSafe) or (_is_tiaug(node) and not isinstance(node, A.BaseCompose)):
        return
    if isinstance(node, A.BaseCompose):
        for i, child in enumerate(node.transforms):
            yield from _walk(child, f"{path}[{i}]")
        return
    yield path, node


def unsafe_transforms(pipeline: A.BaseCompose) -> list[str]:
    """One message per transform of ``pipeline`` not known to keep degrees Celsius (empty: the pipeline is safe)."""
    fix = "; wrap it in TemperatureSafe([...]) or pass --allow-unsafe"
    return [f"{path} {p}{fix}" for path, node in _walk(pipeline, "transform") if (p := _problem(node))]


def check_pipeline(pipeline: A.BaseCompose, source: str = "the pipeline", allow_unsafe: bool = False) -> list[str]:
    """Refuse a pipeline with transforms not known to keep temperatures (``UserError`` listing them), unless
    ``allow_unsafe``; returns the problems found (warnings when allowed)."""
    problems = unsafe_transforms(pipeline)
    if problems and not allow_unsafe:
        raise UserError(f"{source}: {'; '.join(problems)}")
    return problems


# -- the check of every output row ------------------------------------------------------------------------
Bounds = tuple[float, float]


def _occlusion_bounds(node: T.TiAugOcclusion, low: float, high: float) -> Bounds:
    c = node.config
    reach = max(high - low, c.min_temperature_span) * c.temperature_extension + _SIGMAS * c.texture_std
    return low - reach, high + reach


def _noise_bounds(node: T.ThermalNoise, low: float, high: float) -> Bounds:
    return low - _SIGMAS * node.max_netd, high + _SIGMAS * node.max_netd


def _safe_bounds(node: T.TemperatureSafe, low: float, high: float) -> Bounds:
    inner_low, inner_high = _bounds_of_sequence(node.transforms, 0.0, 1.0)  # [0, 1]-clipping transforms inside
    span = max(high - low, 1e-6)
    return low + inner_low * span, low + inner_high * span


#: How far each TiAug transform can move temperatures, given its input's range (others: see ``_bounds``).
BOUNDS: dict[type, Callable[[Any, float, float], Bounds]] = {
    T.TiAugOcclusion: _occlusion_bounds,
    T.ThermalNoise: _noise_bounds,
    T.TemperatureSafe: _safe_bounds,
}


def _bounds_of_sequence(nodes: Any, low: float, high: float) -> Bounds:
    for child in nodes:
        low, high = _bounds(child, low, high)
    return low, high


def _bounds(node: Any, low: float, high: float) -> Bounds:
    """Range of temperatures ``node`` can output from inputs in [low, high]."""
    for kind, rule in BOUNDS.items():
        if isinstance(node, kind):
            return rule(node, low, high)
    if hasattr(node, "temperature_bounds"):  # other TiAug transforms say it themselves
        return node.temperature_bounds(low, high)
    if _is_tiaug(node) and not isinstance(node, A.BaseCompose):
        return -math.inf, math.inf  # a TiAug transform without a stated range: not checked
    if isinstance(node, A.Compose | A.Sequential):
        return _bounds_of_sequence(node.transforms, low, high)
    if isinstance(node, A.BaseCompose):  # OneOf, SomeOf, ...: any subset of the children may run
        ranges = [(low, high), *(_bounds(child, low, high) for child in node.transforms)]
        return min(r[0] for r in ranges), max(r[1] for r in ranges)
    return low, high  # allow-listed transforms keep the range (others are refused unless --allow-unsafe)


def _pinned(image: np.ndarray) -> int:
    """Pixels exactly at 0 or 1.0: what Albumentations' zero fill and [0, 1] clipping leave behind."""
    return int(np.count_nonzero(image == 0.0)) + int(np.count_nonzero(image == 1.0))


@dataclass(frozen=True)
class OutputCheck:
    """The last line of defence: refuse an output row the pipeline's own transforms cannot have produced."""

    pipeline: A.BaseCompose
    tolerance: float = 1e-3  # degrees Celsius (float32 rounding)

    def __call__(self, image: np.ndarray, out: np.ndarray, where: str, applied: list[str]) -> None:
        """Raise ``UserError`` naming the row (``where``) and the applied transforms if ``out`` is implausible."""
        t_min, t_max = float(image.min()), float(image.max())
        low, high = _bounds(self.pipeline, t_min, t_max)
        o_min, o_max = float(out.min()), float(out.max())
        suspects = ", ".join(applied) or "none"
        if o_min < low - self.tolerance or o_max > high + self.tolerance:
            raise UserError(
                f"{where}: the pipeline turned temperatures of {t_min:.2f}..{t_max:.2f} °C into {o_min:.2f}.."
                f"{o_max:.2f} °C, beyond what its transforms can produce ({low:.2f}..{high:.2f} °C); transforms "
                f"applied: {suspects}. Nothing was written"
            )
        if o_min > 1.0 or o_max < 0.0:  # no pixel can be exactly 0 or 1.0: nothing to count
            return
        after = _pinned(out)
        if after < 16:
            return
        before = _pinned(image) / image.size
        if after / out.size > max(2 * before, 0.002):
            raise UserError(
                f"{where}: {after} pixels are exactly 0 °C or 1.0 °C after the pipeline ({100 * before:.2f} % "
                f"before): a border filled with 0 or values clipped to [0, 1]; transforms applied: {suspects}. "
                "Nothing was written"
            )
