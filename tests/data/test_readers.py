"""The camera reader layer: format detection, TC001/Lepton/raw conversions, FLIR FFF/SEQ/R-JPEG, refusals."""

from __future__ import annotations

import importlib.util
import sys

import numpy as np
import pytest
import tifffile

from tests.camera_files import (
    HAS_FLYR,
    IDEAL,
    REALISTIC,
    face_temperatures,
    fff_frame,
    lepton_frame,
    plain_jpeg,
    planck_counts,
    rjpeg,
    tc001_frame,
)
from tiaug.io import ThermalDataError
from tiaug.io.readers import MissingExtraError, ReadOptions, detect_format, folder_files, is_device, open_source
from tiaug.io.readers.camera import uvc_frame_counts
from tiaug.io.readers.fff import decode_frame

HAS_FLIRPY = importlib.util.find_spec("flirpy") is not None
TC001_STEP = 1 / 64  # K per count
rng = np.random.default_rng(0)


def _frames(path, fmt="auto", **options):
    with open_source(path, fmt, ReadOptions(**options)) as source:
        return source, list(source.frames())


def test_detection_by_magic_and_name(tmp_path):
    temps = face_temperatures()
    np.save(tmp_path / "a.npy", temps)
    tifffile.imwrite(tmp_path / "b.tif", temps.astype(np.float32))
    (tmp_path / "c.fff").write_bytes(fff_frame(planck_counts(temps, IDEAL), IDEAL))
    (tmp_path / "d.seq").write_bytes((tmp_path / "c.fff").read_bytes() * 2)
    (tmp_path / "e.jpg").write_bytes(plain_jpeg())
    (tmp_path / "renamed.dat").write_bytes((tmp_path / "c.fff").read_bytes())  # content wins over the name
    assert [detect_format(tmp_path / n) for n in ("a.npy", "b.tif", "c.fff", "d.seq", "e.jpg", "renamed.dat")] == [
        "npy",
        "tiff",
        "fff",
        "seq",
        "rjpeg",
        "fff",
    ]
    (tmp_path / "f.bin").write_bytes(tc001_frame(temps, rng).tobytes())
    with pytest.raises(ThermalDataError, match=r"f\.bin.*--format tc001.*--format lepton.*--format raw"):
        detect_format(tmp_path / "f.bin")
    (tmp_path / "g.csq").write_bytes(b"\x46\x46\x46\x00" + bytes(100))
    with pytest.raises(ThermalDataError, match=r"g\.csq.*\.seq"):
        detect_format(tmp_path / "g.csq")
    (tmp_path / "h.jpg").write_bytes(b"")
    with pytest.raises(ThermalDataError, match=r"h\.jpg: is empty"):
        detect_format(tmp_path / "h.jpg")
    (tmp_path / "i.jpg").write_bytes(b"not a picture")
    with pytest.raises(ThermalDataError, match=r"i\.jpg.*named like a rjpeg"):
        detect_format(tmp_path / "i.jpg")
    (tmp_path / "notes.txt").write_text("x")
    assert "notes.txt" not in [p.name for p in folder_files(tmp_path)]
    assert [p.name for p in folder_files(tmp_path, "tc001")] == ["a.npy", "b.tif", "f.bin", "renamed.dat"]
    assert is_device("0") and is_device("/dev/video2") and not is_device(tmp_path / "a.npy")


def test_integer_arrays_name_the_camera_formats(tmp_path):
    np.save(tmp_path / "counts.npy", tc001_frame(face_temperatures(96, 128), rng))
    with pytest.raises(ThermalDataError, match=r"counts\.npy: integer pixels.*--format tc001.*--format lepton"):
        _frames(tmp_path / "counts.npy")


@pytest.mark.parametrize("stored", ["npy_uint16", "npy_opencv_bytes", "tiff", "bin_stream"])
def test_tc001_frame_pairs(stored, tmp_path):
    temps = [face_temperatures(192, 256, seed=s) for s in range(3)]
    pairs = np.stack([tc001_frame(t, rng) for t in temps])  # (3, 384, 256)
    if stored == "npy_uint16":
        np.save(path := tmp_path / "frames.npy", pairs)
    elif stored == "npy_opencv_bytes":  # what cv2.VideoCapture gives with CONVERT_RGB off: (384, 256, 2) uint8
        np.save(path := tmp_path / "frames.npy", pairs.astype("<u2").view(np.uint8).reshape(3, 384, 256, 2))
    elif stored == "tiff":
        tifffile.imwrite(path := tmp_path / "frames.tiff", pairs, photometric="minisblack")
    else:
        (path := tmp_path / "frames.bin").write_bytes(pairs.astype("<u2").tobytes())
    source, frames = _frames(path, "tc001")
    assert source.count == 3 and [f.index for f in frames] == [0, 1, 2]
    for frame, t in zip(frames, temps, strict=True):
        assert frame.image.shape == (192, 256) and frame.image.dtype == np.float32
        np.testing.assert_allclose(frame.image, t, atol=TC001_STEP / 2 + 1e-4)  # top half (palette) ignored
        assert frame.meta["format"] == "tc001" and "TC001" in frame.meta["camera"]


def test_tc001_refuses_other_frames(tmp_path):
    np.save(tmp_path / "odd.npy", np.zeros((383, 256), np.uint16))
    with pytest.raises(ThermalDataError, match=r"odd\.npy.*even number of rows"):
        _frames(tmp_path / "odd.npy", "tc001")
    (tmp_path / "short.bin").write_bytes(tc001_frame(face_temperatures(192, 256), rng).tobytes()[:-10])
    with pytest.raises(ThermalDataError, match=r"short\.bin: wrong raw size.*384x256.*--raw-size"):
        _frames(tmp_path / "short.bin", "tc001")


@pytest.mark.parametrize("stored", ["npy", "tiff", "bin_stream"])
def test_lepton_centikelvin(stored, tmp_path):
    temps = face_temperatures(120, 160, seed=3)
    frame = lepton_frame(temps)
    if stored == "npy":
        np.save(path := tmp_path / "lepton.npy", frame)
    elif stored == "tiff":
        tifffile.imwrite(path := tmp_path / "lepton.tif", frame)
    else:
        (path := tmp_path / "lepton.raw").write_bytes(np.stack([frame, frame]).astype("<u2").tobytes())
    source, frames = _frames(path, "lepton")
    assert source.count == (2 if stored == "bin_stream" else 1)
    np.testing.assert_allclose(frames[0].image, temps, atol=0.005 + 1e-4)
    small = lepton_frame(face_temperatures(60, 80))  # Lepton 2.x: 80x60, given with --raw-size
    (tmp_path / "l2.raw").write_bytes(small.tobytes())
    _, frames = _frames(tmp_path / "l2.raw", "lepton", raw_size=(60, 80))
    np.testing.assert_allclose(frames[0].image, small * 0.01 - 273.15, atol=1e-4)


def test_headerless_raw_with_scale_and_offset(tmp_path):
    temps = face_temperatures(60, 80, seed=4)
    counts = np.round((temps + 273.15) / 0.04).astype(np.uint16)  # 0.04 K per count, as flirpy's TIFF exports
    (tmp_path / "dump.raw").write_bytes(np.stack([counts] * 4).astype("<u2").tobytes())
    _, frames = _frames(tmp_path / "dump.raw", "raw", raw_size=(60, 80), scale=0.04, offset=-273.15)
    assert len(frames) == 4 and frames[0].meta["scale"] == 0.04
    np.testing.assert_allclose(frames[3].image, temps, atol=0.02 + 1e-4)
    (tmp_path / "be.raw").write_bytes(counts.astype(">u2").tobytes())
    be = _frames(tmp_path / "be.raw", "raw", raw_size=(60, 80), raw_dtype="uint16be", scale=0.04, offset=-273.15)
    np.testing.assert_allclose(be[1][0].image, frames[0].image)
    with pytest.raises(ThermalDataError, match=r"dump\.raw: wrong raw size.*64x80.*left over"):
        _frames(tmp_path / "dump.raw", "raw", raw_size=(64, 80), scale=0.04, offset=-273.15)
    with pytest.raises(ValueError, match="--scale"):
        _frames(tmp_path / "dump.raw", "raw", raw_size=(60, 80))
    with pytest.raises(ValueError, match="--raw-size"):
        _frames(tmp_path / "dump.raw", "raw", scale=0.04)
    with pytest.raises(ThermalDataError, match="plausible temperature"):  # forgot the offset: Kelvin
        _frames(tmp_path / "dump.raw", "raw", raw_size=(60, 80), scale=0.04)


@pytest.mark.parametrize("cal", [IDEAL, REALISTIC], ids=["ideal", "emissivity_0.95_at_1.5m"])
def test_fff_recovers_the_temperatures(cal, tmp_path):
    temps = face_temperatures(seed=5)
    (tmp_path / "one.fff").write_bytes(fff_frame(planck_counts(temps, cal), cal, camera="FLIR A65"))
    source, frames = _frames(tmp_path / "one.fff")
    assert source.format == "fff" and source.count == 1
    np.testing.assert_allclose(frames[0].image, temps, atol=0.01)  # one count is < 0.005 K here
    meta = frames[0].meta
    assert meta["camera"] == "FLIR A65" and meta["emissivity"] == pytest.approx(cal.emissivity)
    assert meta["timestamp"] == "2023-11-14T22:13:20.250000+00:00"


def test_seq_frames_and_a_recording_cut_short(tmp_path):
    temps = [face_temperatures(seed=s) for s in range(4)]
    blobs = [fff_frame(planck_counts(t, REALISTIC), REALISTIC, timestamp=1700000000 + k) for k, t in enumerate(temps)]
    (tmp_path / "rec.seq").write_bytes(b"".join(blobs))
    source, frames = _frames(tmp_path / "rec.seq")
    assert source.format == "seq" and source.count == 4
    for frame, t in zip(frames, temps, strict=True):
        np.testing.assert_allclose(frame.image, t, atol=0.01)
    assert [f.meta["timestamp"][:19] for f in frames[:2]] == ["2023-11-14T22:13:20", "2023-11-14T22:13:21"]
    (tmp_path / "cut.seq").write_bytes(b"".join(blobs)[: -len(blobs[-1]) // 2])
    with pytest.raises(ThermalDataError, match=r"cut\.seq frame 3: is cut short"):
        open_source(tmp_path / "cut.seq")
    (tmp_path / "padded.seq").write_bytes(blobs[0] + bytes(100) + blobs[1] + b"trailing bytes")
    assert [f.index for f in _frames(tmp_path / "padded.seq")[1]] == [0, 1]  # unreferenced bytes passed over
    (tmp_path / "junk.seq").write_bytes(b"garbage" + blobs[0])
    with pytest.raises(ThermalDataError, match=r"junk\.seq: is named like a seq file but its content is not one"):
        open_source(tmp_path / "junk.seq")
    with pytest.raises(ThermalDataError, match=r"junk\.seq frame 0: no FFF frame header at byte 0"):
        open_source(tmp_path / "junk.seq", "seq")


def test_fff_without_calibration_is_refused(tmp_path):
    blob = bytearray(fff_frame(planck_counts(face_temperatures(), IDEAL), IDEAL))
    blob[0x40 + 32 : 0x40 + 34] = b"\x00\x21"  # the camera-information entry becomes an unknown record type
    (tmp_path / "nocal.fff").write_bytes(bytes(blob))
    with pytest.raises(ThermalDataError, match=r"nocal\.fff: has no camera information record"):
        _frames(tmp_path / "nocal.fff")


@pytest.mark.skipif(not HAS_FLIRPY, reason="flirpy is not installed (optional: only a cross-check of the FFF reader)")
def test_fff_reader_agrees_with_flirpy():
    from flirpy.io.fff import Fff

    blob = fff_frame(planck_counts(face_temperatures(seed=6), REALISTIC), REALISTIC)
    ours, _ = decode_frame(blob, "x")
    # flirpy turns the stored kelvin into Celsius with 273.14: a few thousandths of a degree apart
    np.testing.assert_allclose(ours, Fff(blob).get_radiometric_image(), atol=0.005)


def test_radiometric_jpeg_refusals_without_flyr(tmp_path, monkeypatch):
    (tmp_path / "photo.jpg").write_bytes(plain_jpeg())
    with pytest.raises(ThermalDataError, match=r"photo\.jpg: JPEG without FLIR radiometric metadata"):
        open_source(tmp_path / "photo.jpg")
    whole = rjpeg(fff_frame(planck_counts(face_temperatures(), IDEAL), IDEAL))
    for cut in (len(whole) - 100, 3000, 20):
        (tmp_path / "cut.jpg").write_bytes(whole[:cut])
        with pytest.raises(ThermalDataError, match=r"cut\.jpg: truncated JPEG"):
            open_source(tmp_path / "cut.jpg")
    (tmp_path / "whole.jpg").write_bytes(whole)
    monkeypatch.setitem(sys.modules, "flyr", None)  # as if flyr were not installed
    with open_source(tmp_path / "whole.jpg") as source, pytest.raises(MissingExtraError, match=r"samcl\[cameras\]"):
        source.read(0)


@pytest.mark.skipif(not HAS_FLYR, reason="flyr is not installed: pip install 'tiaug-samcl[cameras]'")
def test_radiometric_jpeg_through_flyr(tmp_path):
    temps = face_temperatures(seed=7)
    blob = fff_frame(planck_counts(temps, REALISTIC), REALISTIC)
    (tmp_path / "IR_0001.jpg").write_bytes(rjpeg(blob, make="FLIR Systems AB", model="FLIR E8"))
    source, frames = _frames(tmp_path / "IR_0001.jpg")
    assert source.format == "rjpeg" and source.count == 1
    np.testing.assert_allclose(frames[0].image, temps, atol=0.01)
    np.testing.assert_allclose(frames[0].image, decode_frame(blob, "x")[0], atol=1e-3)  # flyr == the FFF reader
    assert frames[0].meta["camera"] == "FLIR Systems AB FLIR E8" and frames[0].meta["emissivity"] == 0.95


def test_uvc_frames_from_opencv():
    pair = tc001_frame(face_temperatures(192, 256), rng)
    as_bytes = pair.astype("<u2").view(np.uint8).reshape(384, 256, 2)
    np.testing.assert_array_equal(uvc_frame_counts(as_bytes), pair)
    np.testing.assert_array_equal(uvc_frame_counts(as_bytes.reshape(1, -1)), pair)  # some backends: one flat row
    with pytest.raises(ValueError, match="RGB conversion"):
        uvc_frame_counts(np.zeros((192, 256, 3), np.uint8))


def test_inputs_are_not_modified(tmp_path):
    path = tmp_path / "frames.bin"
    path.write_bytes(tc001_frame(face_temperatures(192, 256), rng).tobytes())
    before = path.read_bytes()
    _, frames = _frames(path, "tc001")
    frames[0].image[:] = 0  # the frame is the reader's copy, not a view of the file
    assert path.read_bytes() == before
