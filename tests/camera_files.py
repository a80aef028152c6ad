"""Sample camera files made by the tests themselves: TC001 frame pairs, Lepton frames, raw dumps, FLIR FFF frames,
.seq sequences and radiometric JPEGs (neither flyr nor flirpy has a writer, so the FLIR files are built here from
the documented layout; flyr and flirpy then serve as independent readers of them where installed).
"""

from __future__ import annotations

import importlib.util
import io
import struct
from typing import Any

import numpy as np
from PIL import Image

from tiaug.io.readers.planck import FlirCalibration

#: flyr (the [cameras] extra) reads FLIR radiometric JPEGs; tests of that path need it.
HAS_FLYR = importlib.util.find_spec("flyr") is not None

# Planck constants of the kind FLIR's E-series files carry; with them 20..40 C are about 18,000..22,000 counts.
PLANCK = {"planck_r1": 21106.77, "planck_r2": 0.012545258, "planck_b": 1501.0, "planck_f": 1.0, "planck_o": -7340.0}
IDEAL = FlirCalibration(**PLANCK, emissivity=1.0, object_distance=0.0, window_transmission=1.0)
REALISTIC = FlirCalibration(
    **PLANCK,
    emissivity=0.95,
    object_distance=1.5,
    reflected_temperature=295.15,
    atmospheric_temperature=294.15,
    window_temperature=294.15,
    window_transmission=1.0,
    relative_humidity=0.45,
)


def tc001_frame(celsius: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A (2H, W) uint16 TC001 frame pair: random palette bytes above counts of 1/64 K."""
    counts = np.round((celsius + 273.15) * 64).astype(np.uint16)
    return np.concatenate([rng.integers(0, 65535, counts.shape, dtype=np.uint16), counts])


def lepton_frame(celsius: np.ndarray) -> np.ndarray:
    """A uint16 frame of centi-kelvin counts."""
    return np.round((celsius + 273.15) * 100).astype(np.uint16)


def planck_counts(celsius: np.ndarray, cal: FlirCalibration) -> np.ndarray:
    """Raw counts a FLIR camera with calibration ``cal`` records for objects at ``celsius`` (the forward model:
    object, reflections, air and window added up), rounded to uint16."""

    def signal(kelvin):
        return cal.planck_r1 / (cal.planck_r2 * (np.exp(cal.planck_b / kelvin) - cal.planck_f)) - cal.planck_o

    e, tau, tw = cal.emissivity, cal.transmission(), cal.window_transmission
    measured = (
        e * tau * tw * tau * signal(np.asarray(celsius, np.float64) + 273.15)
        + (1 - e) * tau * tw * tau * signal(cal.reflected_temperature)
        + (1 - tau) * tw * tau * signal(cal.atmospheric_temperature)
        + (1 - tw) * tau * signal(cal.window_temperature)
        + (1 - tau) * signal(cal.atmospheric_temperature)
    )
    return np.round(measured).astype(np.uint16)


def _camera_info(cal: FlirCalibration, camera: str, timestamp: int) -> bytes:
    data = bytearray(0x5B0)  # the size of FLIR's camera-information records
    struct.pack_into("<H", data, 0, 2)  # byte-order word: little-endian record
    floats = {
        0x20: cal.emissivity,
        0x24: cal.object_distance,
        0x28: cal.reflected_temperature,
        0x2C: cal.atmospheric_temperature,
        0x30: cal.window_temperature,
        0x34: cal.window_transmission,
        0x3C: cal.relative_humidity,
        0x58: cal.planck_r1,
        0x5C: cal.planck_b,
        0x60: cal.planck_f,
        0x70: cal.alpha1,
        0x74: cal.alpha2,
        0x78: cal.beta1,
        0x7C: cal.beta2,
        0x80: cal.x,
        0x30C: cal.planck_r2,
    }
    for offset, value in floats.items():
        struct.pack_into("<f", data, offset, value)
    struct.pack_into("<i", data, 0x308, int(cal.planck_o))
    data[0xD4 : 0xD4 + len(camera)] = camera.encode()
    struct.pack_into("<II", data, 0x384, timestamp, 250)
    return bytes(data)


def fff_frame(
    counts: np.ndarray,
    cal: FlirCalibration,
    *,
    camera: str = "FLIR A65",
    timestamp: int = 1_700_000_000,
    png: bytes | None = None,
    declared: tuple[int, int] | None = None,
):
    """One FFF frame: big-endian header and directory (as FLIR writes them), a little-endian raw-data record and
    a camera-information record. The directory sits at 0x40 with two empty entries at its end.

    ``png``: raw data stored as this PNG instead (subtype 3); ``declared``: the (height, width) the raw-data
    record states, if not the counts' own (hostile files)."""
    h, w = declared or counts.shape
    pixels = np.ascontiguousarray(counts, dtype="<u2").tobytes() if png is None else png
    raw = struct.pack("<HHH", 2, w, h) + bytes(0x20 - 6) + pixels
    info = _camera_info(cal, camera, timestamp)
    entries, directory = 4, 0x40
    raw_at = directory + entries * 32
    info_at = raw_at + len(raw)
    header = struct.pack(">4s16sIIII", b"FFF\x00", b"tiaug tests", 100, directory, entries, 2).ljust(64, b"\x00")
    records = struct.pack(">HHIIIIIII", 1, 2 if png is None else 3, 100, 1, raw_at, len(raw), 0, 0, 0)
    records += struct.pack(">HHIIIIIII", 0x20, 1, 100, 1, info_at, len(info), 0, 0, 0)
    records += bytes(64)
    return header + records + raw + info


def flir_frame(celsius: np.ndarray, cal: FlirCalibration = REALISTIC, **kwargs: Any) -> bytes:
    """One FFF frame of these temperatures (degrees Celsius) as a camera with ``cal`` records them."""
    return fff_frame(planck_counts(celsius, cal), cal, **kwargs)


def rjpeg(fff: bytes, *, make: str = "FLIR Systems AB", model: str = "FLIR E8", size=(60, 80)) -> bytes:
    """A radiometric JPEG: a small picture with EXIF make/model and the FFF data in FLIR APP1 segments."""
    picture = Image.fromarray(np.full((*size, 3), 128, np.uint8))
    exif = Image.Exif()
    exif[271], exif[272] = make, model
    buffer = io.BytesIO()
    picture.save(buffer, format="JPEG", exif=exif)
    jpeg = buffer.getvalue()
    step = 60000
    chunks = [fff[i : i + step] for i in range(0, len(fff), step)]
    segments = b"".join(
        b"\xff\xe1" + struct.pack(">H", 2 + 8 + len(c)) + b"FLIR\x00\x01" + bytes([k, len(chunks) - 1]) + c
        for k, c in enumerate(chunks)
    )
    return jpeg[:2] + segments + jpeg[2:]


def plain_jpeg(size=(40, 50)) -> bytes:
    """A JPEG without radiometric data (an ordinary photo)."""
    buffer = io.BytesIO()
    Image.fromarray(np.full((*size, 3), 90, np.uint8)).save(buffer, format="JPEG")
    return buffer.getvalue()


def face_temperatures(h: int = 48, w: int = 64, seed: int = 0) -> np.ndarray:
    """A warm ellipse (34-36 C) on a 22 C room, with a little texture: plausible thermal face temperatures."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    inside = ((yy - h / 2) / (0.4 * h)) ** 2 + ((xx - w / 2) / (0.3 * w)) ** 2 < 1
    return np.where(inside, 35.0, 22.0) + rng.normal(0, 0.3, (h, w))
