"""Camera files made to hurt: every declared size, count and offset is checked before anything is allocated, a
damaged frame is refused by number, and a folder import skips whatever a bad file raises."""

from __future__ import annotations

import struct
import tracemalloc

import numpy as np
import pytest

from tests.camera_files import IDEAL, REALISTIC, face_temperatures, fff_frame, planck_counts, rjpeg
from tests.hostile import png_header, within
from tiaug.io import ThermalDataError, open_thermal
from tiaug.io.readers import open_source
from tiaug.io.readers.formats import MAX_FRAME
from tiaug.io.readers.planck import FlirCalibration


def _fff(**kwargs) -> bytes:
    return fff_frame(planck_counts(face_temperatures(), REALISTIC), REALISTIC, **kwargs)


def _read_all(path, fmt="auto"):
    with within(10), open_source(path, fmt) as source:
        return [frame.index for frame in source.frames()]


def test_a_64_byte_fff_without_records_is_refused_at_once(tmp_path):
    empty = struct.pack(">4s16sIII", b"FFF\x00", b"", 100, 0, 0).ljust(64, b"\x00")  # a frame of 0 bytes
    (tmp_path / "empty.fff").write_bytes(empty)
    with pytest.raises(ThermalDataError, match=r"empty\.fff frame 0: FFF header is damaged.*0 records"):
        _read_all(tmp_path / "empty.fff")
    (tmp_path / "tail.seq").write_bytes(_fff() * 2 + empty)  # the same at the tail of a real recording
    with pytest.raises(ThermalDataError, match=r"tail\.seq frame 2: FFF header is damaged"):
        _read_all(tmp_path / "tail.seq")


def test_a_damaged_frame_inside_a_recording_is_refused_by_number(tmp_path):
    blobs = [_fff(timestamp=1_700_000_000 + k) for k in range(7)]
    damaged = bytearray(blobs[3])
    damaged[:4] = b"FFX\x00"
    (tmp_path / "rec.seq").write_bytes(b"".join(blobs[:3]) + bytes(damaged) + b"".join(blobs[4:]))
    with pytest.raises(ThermalDataError, match=r"rec\.seq frame 3: is damaged: no FFF frame header"):
        _read_all(tmp_path / "rec.seq")
    (tmp_path / "last.seq").write_bytes(b"".join(blobs[:6]) + bytes(damaged))  # a damaged last frame too
    with pytest.raises(ThermalDataError, match=r"last\.seq frame 6: is damaged"):
        _read_all(tmp_path / "last.seq")


@pytest.mark.parametrize(
    ("declared", "png", "problem"),
    [
        ((1, MAX_FRAME[1] + 808), png_header(MAX_FRAME[1] + 808, 1), "declares 9000x1 pixels"),
        ((30000, 30000), None, "declares 30000x30000 pixels"),
        ((0, 64), None, "declares 64x0 pixels"),
        ((48, 64), png_header(14000, 14000), r"PNG (is 14000x14000|cannot be decoded)"),
    ],
    ids=["png_over_max", "raw_30000", "zero_rows", "png_bomb"],
)
def test_declared_frame_sizes_are_bounded_before_decoding(tmp_path, declared, png, problem):
    (tmp_path / "big.fff").write_bytes(_fff(declared=declared, png=png))
    tracemalloc.start()
    try:
        with pytest.raises(ThermalDataError, match=rf"big\.fff: .*{problem}"):
            _read_all(tmp_path / "big.fff")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 16 << 20


def test_a_huge_sparse_jpeg_is_refused_unread_and_the_folder_imported(tmp_path, cli):
    folder = tmp_path / "in"
    folder.mkdir()
    np.save(folder / "a_good.npy", face_temperatures().astype(np.float32))
    with open(folder / "b_huge.jpg", "wb") as f:
        f.write(b"\xff\xd8\xff\xe1")
        f.truncate(1 << 30)  # sparse: 1 GiB that takes no disk
    (folder / "c_good.fff").write_bytes(_fff())
    tracemalloc.start()
    try:
        with within(30):
            res = cli("import-folder", folder, tmp_path / "out.h5", "--no-progress")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert res.exit_code == 0, res.output
    assert "b_huge.jpg: is 1073741824 bytes, more than any radiometric JPEG" in res.output
    assert peak < 64 << 20
    with open_thermal(tmp_path / "out.h5") as r:
        assert r.file["source_file"].asstr()[:].tolist() == ["a_good.npy", "c_good.fff"]


def test_a_damaged_calibration_skips_the_file_whatever_it_raises(tmp_path, cli):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a_good.fff").write_bytes(_fff())
    overflow = FlirCalibration(**{**IDEAL.__dict__, "planck_b": 1e30})  # exp(B / T) overflows
    (folder / "b_overflow.fff").write_bytes(fff_frame(planck_counts(face_temperatures(), IDEAL), overflow))
    (folder / "c_bad_rjpeg.jpg").write_bytes(rjpeg(b"FFF\x00" + b"\xff" * 400))  # 2**32 - 1 records
    with within(30):
        res = cli("import-folder", folder, tmp_path / "out.h5", "--no-progress")
    assert res.exit_code == 0, res.output
    assert "b_overflow.fff" in res.output and "calibration cannot be used" in res.output
    assert "c_bad_rjpeg.jpg" in res.output and "2 file(s) skipped" in res.output
    with open_thermal(tmp_path / "out.h5") as r:
        assert r.file["source_file"].asstr()[:].tolist() == ["a_good.fff"]


def test_a_huge_landmark_file_is_refused_unread(tmp_path):
    from tiaug.io.importers.landmarks import MAX_LJSON_BYTES, read_ljson

    path = tmp_path / "face.ljson"
    with open(path, "w") as f:
        f.write('{"landmarks": {"points": [' + "[1.0, 2.0], " * (MAX_LJSON_BYTES // 10) + "[1.0, 2.0]]}}")
    with pytest.raises(ThermalDataError, match=r"face\.ljson: is \d+ bytes; a landmark file is far smaller"):
        read_ljson(path)
