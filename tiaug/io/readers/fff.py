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
recording of any length costs one frame of memory. A file cut short inside a frame is refused with the frame's
number; bytes between or after frames that no record refers to are passed over.
"""

from __future__ import annotations

import datetime as dt
import io
import struct
from pathlib import Path
from typing import Any

import numpy as np

from tiaug.io.errors import ThermalDataError
from tiaug.io.readers.base import Frame, FrameSource, ReadOptions
from tiaug.io.readers.filebytes import FileBytes
from tiaug.io.readers.planck import FlirCalibration
from tiaug.io.readers.units import to_celsius

MAGIC = b"FFF\x00"
HEADER_BYTES = 64
RECORD_BYTES = 32
RAW_DATA, CAMERA_INFO = 0x01, 0x20
CAMERA_INFO_MIN_BYTES = 0x310  # up to Planck R2
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
    if not 100 <= version < 200 or count > 4096:
        raise ThermalDataError(where, None, f"FFF header is damaged (version {version}, {count} records)")
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
        if rtype:
            out.append((rtype, subtype, offset, length))
    return out


def frame_extents(buf: Any, name: str) -> list[tuple[int, int]]:
    """(start, size) of every FFF frame in ``buf``; the next frame starts where the last record ends."""
    extents: list[tuple[int, int]] = []
    start, end = 0, len(buf)
    while start < end:
        where = f"{name} frame {len(extents)}"
        if buf[start : start + 4] != MAGIC:
            found = buf.find(MAGIC, start) if extents else -1
            if found < 0 and extents:
                break  # bytes after the last frame that no frame refers to
            if found < 0:
                raise ThermalDataError(where, None, f"no FFF frame header at byte {start}: not a FLIR file, or damaged")
            start = found  # unreferenced bytes between two frames
        records = _records(buf, start, where)
        _, dir_offset, count = _header(buf, start, where)
        size = max([dir_offset + count * RECORD_BYTES] + [off + length for _, _, off, length in records])
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


def _raw_counts(data: bytes, subtype: int, where: str) -> np.ndarray:
    order = "<" if int.from_bytes(data[:2], "little") == 2 else ">"
    width, height = struct.unpack_from(f"{order}HH", data, 2)
    pixels = data[0x20:]
    if subtype == 3 or pixels[:4] == b"\x89PNG":
        from PIL import Image

        try:
            counts = np.asarray(Image.open(io.BytesIO(pixels))).astype(np.uint16)
        except OSError as e:
            raise ThermalDataError(where, None, f"raw data PNG cannot be decoded ({e})") from None
        counts = counts.byteswap()  # FLIR stores PNG counts with their bytes swapped
    else:
        if len(pixels) < width * height * 2:
            raise ThermalDataError(where, None, f"raw data holds {len(pixels)} bytes for {width}x{height} pixels")
        counts = np.frombuffer(pixels, dtype=">u2" if subtype == 1 else "<u2", count=width * height)
    if counts.shape != (height * width,) and counts.shape != (height, width):
        raise ThermalDataError(where, None, f"raw data is {counts.shape}, the record says {height}x{width}")
    return counts.reshape(height, width)


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


def decode_frame(data: Any, where: str) -> tuple[np.ndarray, dict[str, Any]]:
    """One FFF frame's bytes -> (temperatures (H, W) float32 degrees Celsius, metadata)."""
    records = _records(data, 0, where)
    sub, off, length = _record(records, RAW_DATA, where, "raw data")
    counts = _raw_counts(bytes(data[off : off + length]), sub, where)
    _, coff, clength = _record(records, CAMERA_INFO, where, "camera information")
    cal, meta = parse_camera_info(bytes(data[coff : coff + clength]), where)
    image = to_celsius(cal.to_celsius(counts), where)
    return image, meta


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
        image, meta = decode_frame(self._bytes.read(start, size), self.where(index))
        return Frame(image, index, {**self.meta, **meta})

    def close(self) -> None:
        self._bytes.close()


def open_fff(path: Path, fmt: str, options: ReadOptions) -> FffSource:
    """The opener of formats ``fff`` and ``seq`` (``options`` do not apply: the file holds its calibration)."""
    return FffSource(path, fmt)
