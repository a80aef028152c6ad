"""One reader layer for thermal cameras: every supported file (or a UVC camera) as frames in degrees Celsius.

The formats, their file names and magic numbers are one table, :data:`.formats.FORMAT_SPECS`; each reader module
documents its conversion to degrees Celsius (:mod:`.arrays`: npy, tiff, TC001, Lepton, raw; :mod:`.fff`: FLIR
FFF/SEQ; :mod:`.rjpeg`: FLIR radiometric JPEG).

``open_source(path, "auto")`` picks the reader by magic bytes and name (:mod:`.detect`) and refuses what it
cannot tell, naming the ``--format`` to pass::

    with open_source("recording.seq") as source:      # header-level checks here
        for frame in source.frames(step=5):           # one frame in memory at a time
            frame.image, frame.index, frame.meta      # (H, W) float32 degrees Celsius, int, dict

R-JPEGs need ``flyr``: ``pip install 'tiaug-samcl[cameras]'`` (a :class:`MissingExtraError` says so).
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path
from typing import TYPE_CHECKING

from tiaug._lazy import lazy_exports
from tiaug.io.errors import ThermalDataError
from tiaug.io.readers.formats import CAMERAS_EXTRA, FORMATS, RAW_DTYPES, SPECS, suffixes

if TYPE_CHECKING:
    from tiaug.io.h5.atomic import PathLike
    from tiaug.io.readers.base import FrameSource, ReadOptions

#: public names of the submodules, imported on first use: importing this package (or ``.formats``, as the
#: command line's ``--help`` does) loads neither NumPy nor h5py
_EXPORTS = {
    **dict.fromkeys(("Frame", "FrameSource", "MissingExtraError", "ReadOptions"), "base"),
    "detect_format": "detect",
}

_DEVICE = re.compile(r"^(\d+|/dev/video\d+)$")


def open_source(path: PathLike, fmt: str = "auto", options: ReadOptions | None = None) -> FrameSource:
    """Open one file as a :class:`FrameSource` of format ``fmt`` (``auto``: detected); checks its header.

    Raises ThermalDataError naming the file and the problem (whatever the file holds), ValueError for options a
    format needs (e.g. ``--format raw`` without ``scale``), MissingExtraError when the format's library is not
    installed.
    """
    from tiaug.io.readers.base import ReadOptions, guarded
    from tiaug.io.readers.detect import detect_format

    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    p = Path(path)
    if not p.is_file():
        raise ThermalDataError(p, None, "not found" if not p.exists() else "is not a file")
    if fmt == "auto":
        fmt = detect_format(p)
    module, _, function = SPECS[fmt].opener.partition(":")
    opener = getattr(importlib.import_module(module), function)
    return guarded(p, opener, p, fmt, options or ReadOptions())


def folder_files(folder: PathLike, fmt: str = "auto") -> list[Path]:
    """The files of ``folder`` (not recursive, in name order) that format ``fmt`` reads, by their names."""
    root = Path(folder)
    if not root.is_dir():
        raise ThermalDataError(folder, None, "is not a folder")
    names = suffixes(fmt)
    return sorted(p for p in root.iterdir() if p.is_file() and p.suffix.lower() in names)


def is_device(spec: str | PathLike) -> bool:
    """True for a camera: a device index (``0``) or ``/dev/videoN`` that is not an existing file."""
    return bool(_DEVICE.match(str(spec))) and not Path(spec).is_file()


def open_camera(spec: str | int) -> FrameSource:
    """A UVC TC001/InfiRay camera by index (``0``) or device path (``/dev/video0``); see :mod:`.camera`."""
    from tiaug.io.readers.camera import CameraSource

    text = str(spec)
    return CameraSource(int(text) if text.isdigit() else text)


__all__ = [
    "CAMERAS_EXTRA",
    "FORMATS",
    "RAW_DTYPES",
    "Frame",
    "FrameSource",
    "MissingExtraError",
    "ReadOptions",
    "detect_format",
    "folder_files",
    "is_device",
    "open_camera",
    "open_source",
]

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
