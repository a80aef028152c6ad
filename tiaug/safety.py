"""Which pipelines keep temperatures in degrees Celsius: an allow-list, and a check of every output row.

From Python::

    from tiaug.safety import check_pipeline
    check_pipeline(A.Compose([...]))  # raises UserError naming every transform that would destroy temperatures

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
can produce (:func:`pipeline_bounds`: the input's temperature range widened by what each TiAug transform states in
its ``temperature_bounds``), against the plausible band :data:`PLAUSIBLE_BAND` whatever the transforms, and for
patches of pixels pinned at exactly 0 or 1.0 that the input did not have.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import albumentations as A
import cv2
import numpy as np

from tiaug.errors import UserError

#: Transforms that only move pixels: every output temperature is an input temperature.
MOVE_ONLY = frozenset(
    {
        "HorizontalFlip",
        "VerticalFlip",
        "Transpose",
        "D4",
        "SquareSymmetry",
        "RandomRotate90",
        "NoOp",
        "RandomCropFromBorders",
        "RandomCrop",
        "CenterCrop",
        "Crop",
    }
)
#: Transforms that resample the image (or pad it): safe with SAFE_INTERPOLATIONS and SAFE_BORDERS.
RESAMPLING = frozenset(
    {
        "Resize",
        "RandomScale",
        "LongestMaxSize",
        "SmallestMaxSize",
        "RandomResizedCrop",
        "RandomSizedCrop",
        "Affine",
        "Rotate",
        "SafeRotate",
        "ShiftScaleRotate",
        "Perspective",
        "ElasticTransform",
        "GridDistortion",
        "OpticalDistortion",
        "GridElasticDeform",
        "ThinPlateSpline",
        "PiecewiseAffine",
        "PadIfNeeded",
        "CropAndPad",
    }
)
#: Interpolations whose values lie between their neighbours' (no overshoot beyond the input's range).
SAFE_INTERPOLATIONS = frozenset(
    {cv2.INTER_NEAREST, cv2.INTER_NEAREST_EXACT, cv2.INTER_LINEAR, cv2.INTER_LINEAR_EXACT, cv2.INTER_AREA}
)
#: Borders made of the image's own pixels (a constant fill would be a temperature, 0 °C by default).
SAFE_BORDERS = frozenset({cv2.BORDER_REFLECT_101, cv2.BORDER_REFLECT, cv2.BORDER_REPLICATE, cv2.BORDER_WRAP})


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
    """(path, node) of every transform outside TiAug's and those stating their bounds (TemperatureSafe), whose
    contents are not inspected."""
    if hasattr(node, "temperature_bounds") or (_is_tiaug(node) and not isinstance(node, A.BaseCompose)):
        return
    if isinstance(node, A.BaseCompose):
        for i, child in enumerate(node.transforms):
            yield from _walk(child, f"{path}[{i}]")
        return
    yield path, node


def unsafe_transforms(pipeline: A.BaseCompose, override: str = "allow_unsafe=True") -> list[str]:
    """One message per transform of ``pipeline`` not known to keep degrees Celsius (empty: the pipeline is safe);
    each says how to fix it, or to accept it with ``override``."""
    fix = f"; wrap it in tiaug.transforms.TemperatureSafe([...]) or pass {override}"
    return [f"{path} {p}{fix}" for path, node in _walk(pipeline, "transform") if (p := _problem(node))]


def check_pipeline(
    pipeline: A.BaseCompose,
    source: str = "the pipeline",
    allow_unsafe: bool = False,
    override: str = "allow_unsafe=True",
) -> list[str]:
    """Refuse a pipeline with transforms not known to keep temperatures in degrees Celsius.

    Raises ``tiaug.errors.UserError`` listing each such transform (its place in the pipeline, why, and the fix:
    ``TemperatureSafe`` or a reflecting border) unless ``allow_unsafe``; returns the problems found (warnings
    when allowed). ``source`` names the pipeline and ``override`` the way to accept it, in messages.
    """
    problems = unsafe_transforms(pipeline, override)
    if problems and not allow_unsafe:
        raise UserError(f"{source}: {'; '.join(problems)}")
    return problems


# -- the check of every output row ------------------------------------------------------------------------
Bounds = tuple[float, float]
#: Output temperatures (degrees Celsius) accepted whatever the pipeline: colder or hotter is not a face scene.
PLAUSIBLE_BAND: Bounds = (-100.0, 1000.0)


def _bounds_of_sequence(nodes: Any, low: float, high: float) -> Bounds:
    for child in nodes:
        low, high = pipeline_bounds(child, low, high)
    return low, high


def pipeline_bounds(node: Any, low: float, high: float) -> Bounds:
    """Range of temperatures ``node`` (a transform, a container or a list of them) can output from inputs in
    [low, high]: TiAug transforms state theirs (``temperature_bounds``), allow-listed transforms keep the range."""
    if isinstance(node, list | tuple):
        return _bounds_of_sequence(node, low, high)
    if hasattr(node, "temperature_bounds"):  # TiAug transforms and TemperatureSafe say it themselves
        return node.temperature_bounds(low, high)
    if _is_tiaug(node) and not isinstance(node, A.BaseCompose):
        return -math.inf, math.inf  # a TiAug transform without a stated range: only the plausible band applies
    if isinstance(node, A.Compose | A.Sequential):
        return _bounds_of_sequence(node.transforms, low, high)
    if isinstance(node, A.BaseCompose):  # OneOf, SomeOf, ...: any subset of the children may run
        ranges = [(low, high), *(pipeline_bounds(child, low, high) for child in node.transforms)]
        return min(r[0] for r in ranges), max(r[1] for r in ranges)
    return low, high  # allow-listed transforms keep the range (others are refused unless allowed)


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
        low, high = pipeline_bounds(self.pipeline, t_min, t_max)
        o_min, o_max = float(out.min()), float(out.max())
        suspects = ", ".join(applied) or "none"
        if o_min < PLAUSIBLE_BAND[0] or o_max > PLAUSIBLE_BAND[1]:
            raise UserError(
                f"{where}: the pipeline turned temperatures of {t_min:.2f}..{t_max:.2f} °C into {o_min:.4g}.."
                f"{o_max:.4g} °C, outside the plausible {PLAUSIBLE_BAND[0]:g}..{PLAUSIBLE_BAND[1]:g} °C; transforms "
                f"applied: {suspects}. Nothing was written"
            )
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
