"""The common types of the camera reader layer: a frame in degrees Celsius, a source of frames, read options.

A :class:`FrameSource` is one file (or one device) opened and checked at the header level; its frames are
read one at a time (``frames()``), so memory stays one frame whatever the length of a recording. Every
refusal is a :class:`~tiaug.io.errors.ThermalDataError` naming the file (and the frame) and the problem;
a library that is not installed gives a :class:`MissingExtraError` naming the extra to install. Opening a file
(:func:`tiaug.io.readers.open_source`) and reading its frames (:meth:`FrameSource.frames`) raise nothing else
for a bad file, whatever the file holds (:func:`guarded`).
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import numpy as np

from tiaug.io.errors import ReadOptionsError, TiaugIOError, guarded
from tiaug.io.readers.formats import CAMERAS_EXTRA, MAX_FRAME, RAW_DTYPES

__all__ = ["Frame", "FrameSource", "MissingExtraError", "ReadOptions", "ReadOptionsError", "guarded", "require_module"]


class MissingExtraError(TiaugIOError):
    """A reader needs an optional library that is not installed (the message names the extra)."""


def require_module(name: str, purpose: str) -> ModuleType:
    """Import the optional library ``name`` or raise :class:`MissingExtraError` naming the ``[cameras]`` extra."""
    try:
        return importlib.import_module(name)
    except ImportError:
        raise MissingExtraError(
            f"reading {purpose} needs the '{name}' library, which is not installed: {CAMERAS_EXTRA} "
            f"(or pip install {name})"
        ) from None


@dataclass(frozen=True)
class ReadOptions:
    """How to turn stored values into degrees Celsius where the file does not say.

    ``scale``/``offset``: ``T_C = raw * scale + offset`` (``--format raw`` needs ``scale``; npy/tiff integer
    arrays need it too; for ``lepton`` they replace its 0.01 K / -273.15 default). ``raw_size``: (H, W) of one
    frame of a headerless file (``raw`` needs it; ``lepton`` defaults to 120x160, ``tc001`` to 384x256).
    ``raw_dtype``: a key of :data:`RAW_DTYPES` (uint16 little-endian by default).
    """

    scale: float | None = None
    offset: float | None = None
    raw_size: tuple[int, int] | None = None
    raw_dtype: str = "uint16"

    def __post_init__(self) -> None:
        if self.raw_dtype not in RAW_DTYPES:
            raise ValueError(f"raw dtype must be one of {', '.join(RAW_DTYPES)}, got {self.raw_dtype!r}")
        if self.raw_size is not None and not all(0 < n <= m for n, m in zip(self.raw_size, MAX_FRAME, strict=True)):
            raise ValueError(f"raw frame size must be 1x1 to {MAX_FRAME[0]}x{MAX_FRAME[1]}, got {self.raw_size}")
        if self.scale is not None and not (np.isfinite(self.scale) and self.scale != 0):
            raise ValueError(f"scale must be a finite non-zero number, got {self.scale}")


@dataclass
class Frame:
    """One thermal frame: ``image`` (H, W) float32 degrees Celsius, its ``index`` in the source, ``meta``.

    ``meta`` is JSON-serialisable: ``format``, ``camera`` (make and model where the file names them),
    ``emissivity``, ``timestamp`` (ISO 8601, UTC) where present, and per format more calibration values.
    """

    image: np.ndarray
    index: int
    meta: dict[str, Any] = field(default_factory=dict)


class FrameSource:
    """Frames of one file or device; ``count`` is None for a live camera. Use as a context manager."""

    def __init__(self, name: str, fmt: str, count: int | None, meta: dict[str, Any] | None = None) -> None:
        self.name = name
        self.format = fmt
        self.count = count
        self.meta = {"format": fmt, **(meta or {})}

    @property
    def stacked(self) -> bool:
        """True when the source holds (or may hold) more than one frame: output names carry frame numbers."""
        return self.count is None or self.count > 1

    def read(self, index: int) -> Frame:
        """Frame ``index`` (0-based), converted to degrees Celsius and checked."""
        raise NotImplementedError

    def frames(self, start: int = 0, step: int = 1) -> Iterator[Frame]:
        """Frames ``start``, ``start + step``, ... one at a time."""
        if step < 1 or start < 0:
            raise ValueError(f"start must be >= 0 and step >= 1, got {start} and {step}")
        for index in range(start, self.count or 0, step):
            yield guarded(self.where(index), self.read, index)

    def close(self) -> None:
        """Release the file or device."""

    def __enter__(self) -> FrameSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def where(self, index: int) -> str:
        """The name used in messages for frame ``index``: the file, plus the frame for multi-frame sources."""
        return f"{self.name} frame {index}" if self.stacked else self.name
