"""FLIR radiometric JPEGs (R-JPEG: FLIR handheld cameras, FLIR One) through the ``flyr`` library.

An R-JPEG is an ordinary JPEG (the rendered picture) whose APP1 segments starting with ``FLIR\\0`` carry an FFF
container: raw counts plus the camera's calibration. ``flyr`` (``pip install 'tiaug-samcl[cameras]'``) decodes
it without ExifTool. Before handing a file to it, this module walks the JPEG's segments itself, so that a
truncated file and a JPEG without radiometric data are refused with that message (also where flyr is absent).
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

import numpy as np

from tiaug.io.errors import ThermalDataError
from tiaug.io.readers.base import Frame, FrameSource, ReadOptions, require_module
from tiaug.io.readers.fff import check_frame
from tiaug.io.readers.formats import pixel_limit
from tiaug.io.readers.units import to_celsius

FLIR_APP1 = b"FLIR\x00"
APP1_HEADER = 8  # "FLIR\0", a version byte, the segment's number and the last segment's number
#: Largest file read as a radiometric JPEG (they hold one frame: a few MB); a larger one is refused unread.
MAX_RJPEG_BYTES = 64 << 20
_STANDALONE = {0x01, *range(0xD0, 0xD8)}  # markers without a length (TEM, RSTn)


def flir_segments(data: bytes, path: Path) -> list[bytes]:
    """The payloads of the FLIR APP1 segments of a JPEG (together: an FFF frame); refuse a file that is not a
    whole JPEG."""
    if not data.startswith(b"\xff\xd8"):
        raise ThermalDataError(path, None, "is not a JPEG (no start-of-image marker)")
    i, n = 2, len(data)
    found: list[bytes] = []
    while True:
        if i + 4 > n:
            raise ThermalDataError(path, None, f"truncated JPEG: it ends inside its headers (after {n} bytes)")
        if data[i] != 0xFF:
            raise ThermalDataError(path, None, f"damaged JPEG: no segment marker at byte {i}")
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker in _STANDALONE:
            i += 2
            continue
        if marker == 0xD9:
            return found
        length = int.from_bytes(data[i + 2 : i + 4], "big")
        if i + 2 + length > n:
            raise ThermalDataError(path, None, f"truncated JPEG: a segment at byte {i} runs past the end of the file")
        if marker == 0xE1 and data[i + 4 : i + 4 + len(FLIR_APP1)] == FLIR_APP1:
            found.append(data[i + 4 + APP1_HEADER : i + 2 + length])
        if marker == 0xDA:  # start of scan: compressed data up to the end-of-image marker
            if data.rfind(b"\xff\xd9", i + 2 + length) < 0:
                raise ThermalDataError(
                    path, None, "truncated JPEG: no end-of-image marker after the image data (the file was cut short)"
                )
            return found
        i += 2 + length


def _timestamp(camera_metadata: Any) -> str | None:
    try:
        stamp = camera_metadata.date_time
    except (AttributeError, ValueError, TypeError):
        return None
    return stamp.isoformat() if stamp is not None else None


class RJpegSource(FrameSource):
    """The one thermal frame of a FLIR radiometric JPEG."""

    def __init__(self, path: Path) -> None:
        try:
            with open(path, "rb") as f:
                size = os.fstat(f.fileno()).st_size
                if size > MAX_RJPEG_BYTES:
                    raise ThermalDataError(
                        path, None, f"is {size} bytes, more than any radiometric JPEG ({MAX_RJPEG_BYTES} at most)"
                    )
                self._data = f.read(size)
        except OSError as e:
            raise ThermalDataError(path, None, f"cannot be read ({e.strerror or e})") from None
        segments = flir_segments(self._data, path)
        if not segments:
            raise ThermalDataError(
                path,
                None,
                "JPEG without FLIR radiometric metadata (no FLIR APP1 segment): a plain photo, or a picture exported "
                "without its thermal data; only radiometric JPEGs (R-JPEG) hold temperatures",
            )
        # flyr trusts the sizes and counts of the embedded FFF frame (a huge count loops it): checked here first
        check_frame(b"".join(segments), str(path))
        super().__init__(str(path), "rjpeg", 1)
        self.path = path

    def read(self, index: int) -> Frame:
        if index != 0:
            raise IndexError(f"{self.name} holds one frame, asked for frame {index}")
        flyr = require_module("flyr", "FLIR radiometric JPEGs")
        try:
            with pixel_limit():  # flyr decodes an embedded PNG with PIL
                thermogram = flyr.unpack(io.BytesIO(self._data))
                celsius = np.asarray(thermogram.celsius, dtype=np.float32)
            calibration = dict(thermogram.metadata)
        except Exception as e:  # flyr raises many kinds of error on damaged or unusual files
            raise ThermalDataError(
                self.path, None, f"flyr cannot read its radiometric data ({type(e).__name__}: {e})"
            ) from e
        camera = thermogram.camera_metadata
        make = (camera.make or "") if camera is not None else ""
        model = (camera.model or "") if camera is not None else ""
        meta = {
            **self.meta,
            "camera": f"{make} {model}".strip() or None,
            "emissivity": round(float(calibration.get("emissivity", float("nan"))), 6),
            "object_distance_m": round(float(calibration.get("object_distance", float("nan"))), 4),
            "reflected_temperature_c": round(float(calibration.get("reflected_apparent_temperature", 0)) - 273.15, 3),
            "timestamp": _timestamp(camera) if camera is not None else None,
        }
        return Frame(to_celsius(celsius, self.path), 0, meta)


def open_rjpeg(path: Path, fmt: str, options: ReadOptions) -> RJpegSource:
    """The opener of format ``rjpeg`` (``options`` do not apply: the file holds its calibration)."""
    return RJpegSource(path)
