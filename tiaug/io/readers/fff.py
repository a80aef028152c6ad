"""FLIR ``.fff`` frames and ``.seq`` sequences (series of FFF frames back to back), streamed frame by frame.

Layout (FLIR's FFF container as documented by ExifTool's FLIR tags): a 64-byte header (``FFF\\0``, creator,
format version at 0x14, record-directory offset at 0x18, record count at 0x1C; big- or little-endian, told by
the version) and a directory of 32-byte records (type, subtype, version, id, offset, length, ...; offsets from
the frame's start). Record 0x01 holds the raw counts (width and height at +2/+4, pixels from +0x20; subtype 1
big-endian, 2 little-endian, 3 PNG), record 0x20 the camera information (emissivity at 0x20, object distance
0x24, reflected/atmospheric/window temperatures 0x28/0x2C/0x30, window transmission 0x34, humidity 0x3C,
Planck R1/B/F 0x58/0x5C/0x60, atmospheric constants 0x70..0x80, model name 0xD4, serial 0x104, Planck O/R2
0x308/0x30C, capture time 0x384), whose first word (2) tells its byte order. Counts become degrees Celsius
through :mod:`tiaug.io.readers.planck`.

flirpy (``flirpy.io.seq.Seq``) reads a whole .seq into memory and pulls in USB and serial stacks and an upper
bound on numpy; this reader finds the frames by reading their headers and then reads one frame at a time, so a
recording of any length costs one frame of memory. Every declared size is checked before anything is
allocated: record counts and offsets against the file, frame sizes against :data:`~.formats.MAX_FRAME`, an
embedded PNG's own size against the record's before it is decoded. A file cut short inside a frame, or a frame
whose header is damaged, is refused with the frame's number; a few bytes between or after frames that no record
refers to are passed over.
"""

from __future__ import annotations

import datetime as dt
import io
import struct
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from tiaug.io.errors import ThermalDataError
from tiaug.io.readers.base import Frame, FrameSource, ReadOptions
from tiaug.io.readers.filebytes import FileBytes
from tiaug.io.readers.formats import MAX_FRAME, pixel_limit
from tiaug.io.readers.planck import FlirCalibration
from tiaug.io.readers.units import to_celsius

MAGIC = b"FFF\x00"
HEADER_BYTES = 64
RECORD_BYTES = 32
RAW_DATA, CAMERA_INFO = 0x01, 0x20
CAMERA_INFO_MIN_BYTES = 0x310  # up to Planck R2
MAX_INFO_BYTES = 1 << 16  # FLIR's camera-information records are 0x5B0 bytes; only the first ones are read
MAX_RECORDS = 4096
MAX_RAW_BYTES = 0x20 + 2 * MAX_FRAME[0] * MAX_FRAME[1] + (1 << 20)  # header, counts, slack for a PNG's overhead
_FLOATS = {  # camera information: FlirCalibration field -> offset of a float32
    "emissivity": 0x20,
    "object_distance": 0x24,
    "reflected_temperature": 0x28,
    "atmospheric_temperature": 0x2C,
    "window_temperature": 0x30,
    "window_transmission": 0x34,
    "relative_humidity": 0x3C,
    "planck_r1": 0x58,
    "planck_b": 0x5C,
    "planck_f": 0x60,
    "alpha1": 0x70,
    "alpha2": 0x74,
    "beta1": 0x78,
    "beta2": 0x7C,
    "x": 0x80,
    "planck_r2": 0x30C,
}


def _header(buf: Any, start: int, where: str) -> tuple[str, int, int]:
    """(byte order, directory offset, record count) of the FFF header at ``start``; the version at 0x14 (seen:
    100..199) tells the byte order."""
    head = buf[start : start + HEADER_BYTES]
    if len(head) < HEADER_BYTES:
        raise ThermalDataError(where, None, f"is cut short: its FFF header needs {HEADER_BYTES} bytes")
    order = "<" if 100 <= int.from_bytes(head[0x14:0x18], "little") < 200 else ">"
    version, dir_offset, count = struct.unpack_from(f"{order}III", head, 0x14)
    if not 100 <= version < 200 or not 1 <= count <= MAX_RECORDS or dir_offset < HEADER_BYTES:
        raise ThermalDataError(
            where, None, f"FFF header is damaged (version {version}, {count} records at byte {dir_offset})"
        )
    return order, dir_offset, count


def _records(buf: Any, start: int, where: str) -> list[tuple[int, int, int, int]]:
    """(type, subtype, offset, length) of the non-empty records of the frame at ``start``."""
    order, dir_offset, count = _header(buf, start, where)
    directory = buf[start + dir_offset : start + dir_offset + count * RECORD_BYTES]
    if len(directory) < count * RECORD_BYTES:
        raise ThermalDataError(where, None, "is cut short: its record directory runs past the end of the file")
    out = []
    for i in range(count):
        rtype, subtype, _, _, offset, length = struct.unpack_from(f"{order}HHIIII", directory, i * RECORD_BYTES)
        if rtype and length:
            if offset < HEADER_BYTES:
                raise ThermalDataError(where, None, f"FFF record {i} is damaged: it starts inside the header")
            out.append((rtype, subtype, offset, length))
    return out


def _frame_size(buf: Any, start: int, where: str) -> int:
    """Bytes of the FFF frame at ``start``: up to the end of its directory or of its last record."""
    records = _records(buf, start, where)
    _, dir_offset, count = _header(buf, start, where)
    return max([dir_offset + count * RECORD_BYTES] + [off + length for _, _, off, length in records])


def frame_extents(buf: Any, name: str) -> list[tuple[int, int]]:
    """(start, size) of every FFF frame in ``buf``; the next frame starts where the last record ends.

    Bytes that no record refers to are passed over between frames and after the last one only while they are
    fewer than the smallest frame: more could hide a frame whose header is damaged, which is refused with its
    number rather than dropped (and every later frame renumbered).
    """
    extents: list[tuple[int, int]] = []
    start, end = 0, len(buf)
    while start < end:
        where = f"{name} frame {len(extents)}"
        if buf[start : start + 4] != MAGIC:
            if not extents:
                raise ThermalDataError(where, None, f"no FFF frame header at byte {start}: not a FLIR file, or damaged")
            smallest = min(size for _, size in extents)
            found = buf.find(MAGIC, start, limit=start + smallest)
            if found < 0 and end - start < smallest:
                break  # bytes after the last frame that no frame refers to
            if found < 0:
                raise ThermalDataError(
                    where, None, f"is damaged: no FFF frame header at byte {start} (or in the {smallest} bytes after)"
                )
            start = found  # unreferenced bytes between two frames
        size = _frame_size(buf, start, where)
        if start + size > end:
            raise ThermalDataError(
                where, None, f"is cut short: the frame needs {size} bytes but the file ends after {end - start}"
            )
        extents.append((start, size))
        start += size
    if not extents:
        raise ThermalDataError(name, None, "holds no FFF frame")
    return extents


def _record(records: list[tuple[int, int, int, int]], rtype: int, where: str, what: str) -> tuple[int, int, int]:
    found = [(sub, off, length) for t, sub, off, length in records if t == rtype]
    if not found:
        raise ThermalDataError(where, None, f"has no {what} record: no radiometric data")
    return found[0]


def _check_size(height: int, width: int, where: str) -> None:
    if not (0 < height <= MAX_FRAME[0] and 0 < width <= MAX_FRAME[1]):
        raise ThermalDataError(
            where,
            None,
            f"raw data declares {width}x{height} pixels; frames are 1x1 to {MAX_FRAME[1]}x{MAX_FRAME[0]} (damaged?)",
        )


def _png_counts(pixels: bytes, height: int, width: int, where: str) -> Callable[[], np.ndarray]:
    """Check a raw-data PNG's own size against the record's (at most MAX_FRAME) without decoding it; return the
    decoder of its counts."""
    from PIL import Image

    def opened() -> Any:
        try:
            with pixel_limit():
                return Image.open(io.BytesIO(pixels), formats=["PNG"])
        except (OSError, ValueError, SyntaxError, Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
            raise ThermalDataError(where, None, f"raw data PNG cannot be decoded ({e})") from None

    with opened() as png:
        if png.size != (width, height):
            raise ThermalDataError(
                where, None, f"raw data PNG is {png.size[0]}x{png.size[1]}, the record says {width}x{height}"
            )

    def decode() -> np.ndarray:
        with opened() as png, pixel_limit():
            try:
                counts = np.asarray(png)
            except (OSError, ValueError, SyntaxError) as e:
                raise ThermalDataError(where, None, f"raw data PNG cannot be decoded ({e})") from None
        if counts.shape != (height, width) or counts.dtype.kind not in "iu":
            raise ThermalDataError(where, None, f"raw data PNG is {counts.dtype} {counts.shape}, not 16-bit grey")
        return counts.astype(np.uint16).byteswap()  # FLIR stores PNG counts with their bytes swapped

    return decode


def _raw_counts(data: bytes, subtype: int, where: str) -> Callable[[], np.ndarray]:
    """Check a raw-data record's declared size against MAX_FRAME and its bytes; return the decoder of its (H, W)
    counts (nothing is decoded until it is called)."""
    if len(data) < 0x20:
        raise ThermalDataError(where, None, f"raw data record is {len(data)} bytes, shorter than its header")
    order = "<" if int.from_bytes(data[:2], "little") == 2 else ">"
    width, height = struct.unpack_from(f"{order}HH", data, 2)
    _check_size(height, width, where)
    pixels = data[0x20:]
    if subtype == 3 or pixels[:4] == b"\x89PNG":
        return _png_counts(pixels, height, width, where)
    if len(pixels) < width * height * 2:
        raise ThermalDataError(where, None, f"raw data holds {len(pixels)} bytes for {width}x{height} pixels")
    dtype = ">u2" if subtype == 1 else "<u2"
    return lambda: np.frombuffer(pixels, dtype=dtype, count=width * height).reshape(height, width)


def _text(data: bytes, offset: int, size: int) -> str:
    return data[offset : offset + size].split(b"\x00", 1)[0].decode("latin-1").strip()


def parse_camera_info(data: bytes, where: str) -> tuple[FlirCalibration, dict[str, Any]]:
    """The calibration and the descriptive metadata (camera, serial, capture time) of a camera-info record."""
    if len(data) < CAMERA_INFO_MIN_BYTES:
        raise ThermalDataError(where, None, f"camera information record is {len(data)} bytes, too short to calibrate")
    order = "<" if int.from_bytes(data[:2], "little") == 2 else ">"
    values = {k: struct.unpack_from(f"{order}f", data, off)[0] for k, off in _FLOATS.items()}
    values["planck_o"] = float(struct.unpack_from(f"{order}i", data, 0x308)[0])
    cal = FlirCalibration(**{k: float(v) for k, v in values.items()})
    problems = cal.problems()
    if problems:
        raise ThermalDataError(where, None, "calibration cannot be used: " + "; ".join(problems))
    meta: dict[str, Any] = {
        "camera": _text(data, 0xD4, 32) or None,
        "serial": _text(data, 0x104, 16) or None,
        "emissivity": round(cal.emissivity, 6),
        "object_distance_m": round(cal.object_distance, 4),
        "reflected_temperature_c": round(cal.reflected_temperature - 273.15, 3),
        "atmospheric_temperature_c": round(cal.atmospheric_temperature - 273.15, 3),
    }
    if len(data) >= 0x38C:
        seconds, millis = struct.unpack_from(f"{order}II", data, 0x384)
        if seconds:
            stamp = dt.datetime.fromtimestamp(seconds, dt.UTC) + dt.timedelta(milliseconds=millis % 1000)
            meta["timestamp"] = stamp.isoformat()
    return cal, meta


def _checked_raw(data: Any, where: str) -> tuple[list[tuple[int, int, int, int]], Callable[[], np.ndarray]]:
    """The records of one frame and the decoder of its raw counts, every declared size checked."""
    records = _records(data, 0, where)
    sub, off, length = _record(records, RAW_DATA, where, "raw data")
    if length > MAX_RAW_BYTES:
        raise ThermalDataError(where, None, f"raw data record claims {length} bytes, more than any frame holds")
    if off + length > len(data):
        raise ThermalDataError(where, None, "is cut short: its raw data record runs past the end of the data")
    return records, _raw_counts(bytes(data[off : off + length]), sub, where)


def check_frame(data: Any, where: str) -> None:
    """Refuse an FFF frame (e.g. one embedded in a radiometric JPEG) whose header, records or declared sizes
    are damaged, without decoding its pixels."""
    records, _ = _checked_raw(data, where)
    _record(records, CAMERA_INFO, where, "camera information")


def decode_frame(data: Any, where: str) -> tuple[np.ndarray, dict[str, Any]]:
    """One FFF frame's bytes -> (temperatures (H, W) float32 degrees Celsius, metadata)."""
    records, counts = _checked_raw(data, where)
    _, coff, clength = _record(records, CAMERA_INFO, where, "camera information")
    cal, meta = parse_camera_info(bytes(data[coff : coff + min(clength, MAX_INFO_BYTES)]), where)
    try:
        celsius = cal.to_celsius(counts())
    except (ArithmeticError, ValueError) as e:  # overflow or a domain error of a damaged calibration
        raise ThermalDataError(where, None, f"calibration cannot be used ({type(e).__name__}: {e})") from None
    return to_celsius(celsius, where), meta


class FffSource(FrameSource):
    """The frames of a .fff file or a .seq recording, read one at a time."""

    def __init__(self, path: Path, fmt: str) -> None:
        self._bytes = FileBytes(path)
        try:
            self._extents = frame_extents(self._bytes, str(path))
        except ThermalDataError:
            self.close()
            raise
        super().__init__(str(path), fmt, len(self._extents))
        self.path = path

    def read(self, index: int) -> Frame:
        start, size = self._extents[index]
        image, meta = decode_frame(self._bytes.window(start, size), self.where(index))
        return Frame(image, index, {**self.meta, **meta})

    def close(self) -> None:
        self._bytes.close()


def open_fff(path: Path, fmt: str, options: ReadOptions) -> FffSource:
    """The opener of formats ``fff`` and ``seq`` (``options`` do not apply: the file holds its calibration)."""
    return FffSource(path, fmt)
