"""`tiaug import-folder` over camera files (bad files skipped, named and counted) and `tiaug import-video`."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest
import tifffile

from tests import camera_files as cam
from tests.data.conftest import sha256
from tiaug.io import open_thermal

rng = np.random.default_rng(1)


def _rows(path):
    with open_thermal(path) as r:
        return (
            r.read_batch(0, r.n).images,
            r.file["source_file"].asstr()[:].tolist(),
            r.file["frame_index"][:].tolist(),
            [json.loads(m) for m in r.file["source_meta"].asstr()[:]],
            json.loads(r.attrs["tiaug/skipped"]) if "tiaug/skipped" in r.attrs else None,
        )


def test_folder_of_camera_files_skips_bad_ones(cli, tmp_path):
    temps = [cam.face_temperatures(seed=s) for s in range(6)]
    d = tmp_path / "camera"
    d.mkdir()
    np.save(d / "a.npy", temps[0].astype(np.float32))
    tifffile.imwrite(d / "b.tiff", temps[1].astype(np.float32))
    (d / "c.fff").write_bytes(cam.flir_frame(temps[2]))
    whole = cam.rjpeg(cam.flir_frame(temps[3]))
    (d / "d_truncated.jpg").write_bytes(whole[: len(whole) // 2])
    (d / "e_photo.jpg").write_bytes(cam.plain_jpeg())
    (d / "f.seq").write_bytes(b"".join(cam.flir_frame(t) for t in temps[4:6]))
    (d / "notes.txt").write_text("not an image\n")
    expected = [("a.npy", 0, temps[0]), ("b.tiff", 0, temps[1]), ("c.fff", 0, temps[2])]
    if cam.HAS_FLYR:
        (d / "g.jpg").write_bytes(whole)
        expected.append(("g.jpg", 0, temps[3]))
    expected += [("f.seq", 0, temps[4]), ("f.seq", 1, temps[5])]
    expected.sort(key=lambda e: (e[0], e[1]))
    before = {p.name: sha256(p) for p in d.iterdir()}
    res = cli("import-folder", d, tmp_path / "out.h5", "--no-progress")
    assert res.exit_code == 0, res.output
    assert f"skipped {d / 'd_truncated.jpg'}: truncated JPEG" in res.output
    assert f"skipped {d / 'e_photo.jpg'}: JPEG without FLIR radiometric metadata" in res.output
    assert f"skipped {d / 'notes.txt'}: not imported: not a file of a supported format" in res.output
    assert f"wrote {len(expected)} images" in res.output and "(3 file(s) skipped" in res.output
    images, files, frames, meta, skipped = _rows(tmp_path / "out.h5")
    assert list(zip(files, frames, strict=True)) == [(f, i) for f, i, _ in expected]
    np.testing.assert_allclose(images, np.stack([t for _, _, t in expected]), atol=0.01)
    assert [m["format"] for m in meta][:3] == ["npy", "tiff", "fff"]
    assert meta[2]["emissivity"] == pytest.approx(0.95) and meta[2]["camera"] == "FLIR A65"
    assert len(skipped) == 3 and "notes.txt" in skipped[0] and "d_truncated.jpg" in skipped[1]
    assert before == {p.name: sha256(p) for p in d.iterdir()}
    res = cli("import-folder", d, tmp_path / "strict.h5", "--no-progress", "--strict")
    assert res.exit_code == 1 and "d_truncated.jpg" in res.output and not (tmp_path / "strict.h5").exists()


def test_tc001_folder_with_a_wrong_raw_size(cli, tmp_path):
    temps = [cam.face_temperatures(192, 256, seed=s) for s in range(3)]
    d = tmp_path / "tc001"
    d.mkdir()
    np.save(d / "frame_0.npy", cam.tc001_frame(temps[0], rng))
    (d / "frame_1.bin").write_bytes(cam.tc001_frame(temps[1], rng).astype("<u2").tobytes())
    (d / "frame_2.bin").write_bytes(cam.tc001_frame(temps[2], rng).astype("<u2").tobytes()[:-512])
    res = cli("import-folder", d, tmp_path / "auto.h5", "--no-progress")  # auto cannot tell headerless files
    assert res.exit_code == 1 and "--format tc001" in res.output and not (tmp_path / "auto.h5").exists()
    res = cli("import-folder", d, tmp_path / "tc.h5", "--no-progress", "--format", "tc001")
    assert res.exit_code == 0, res.output
    assert f"skipped {d / 'frame_2.bin'}: wrong raw size" in res.output and "(1 file(s) skipped" in res.output
    images, files, _, meta, _ = _rows(tmp_path / "tc.h5")
    assert files == ["frame_0.npy", "frame_1.bin"] and meta[0]["format"] == "tc001"
    np.testing.assert_allclose(images, np.stack(temps[:2]), atol=1 / 128 + 1e-4)


def test_missing_flyr_names_the_extra(cli, tmp_path, monkeypatch):
    d = tmp_path / "flir"
    d.mkdir()
    (d / "IR_0001.jpg").write_bytes(cam.rjpeg(cam.flir_frame(cam.face_temperatures())))
    monkeypatch.setitem(sys.modules, "flyr", None)
    res = cli("import-folder", d, tmp_path / "o.h5", "--no-progress")
    assert res.exit_code == 1 and "pip install 'tiaug-samcl[cameras]'" in res.output
    assert not (tmp_path / "o.h5").exists()


def test_import_video_every_nth_frame(cli, tmp_path):
    temps = [cam.face_temperatures(192, 256, seed=s) for s in range(7)]
    stream = tmp_path / "rec.bin"
    stream.write_bytes(np.stack([cam.tc001_frame(t, rng) for t in temps]).astype("<u2").tobytes())
    res = cli("import-video", stream, tmp_path / "v.h5", "--format", "tc001", "--every", "3", "--no-progress")
    assert res.exit_code == 0 and "wrote 3 frames" in res.output, res.output
    images, files, frames, meta, _ = _rows(tmp_path / "v.h5")
    assert frames == [0, 3, 6] and files == ["rec.bin"] * 3 and meta[0]["format"] == "tc001"
    np.testing.assert_allclose(images, np.stack([temps[i] for i in (0, 3, 6)]), atol=1 / 128 + 1e-4)
    res = cli("import-video", stream, tmp_path / "w.h5", "--format", "tc001", "--raw-size", "380x256")
    assert res.exit_code == 1 and "wrong raw size" in res.output and not (tmp_path / "w.h5").exists()
    res = cli("import-video", stream, tmp_path / "x.h5", "--no-progress")
    assert res.exit_code == 1 and "--format tc001" in res.output


def test_import_video_of_seq_and_lepton_recordings(cli, tmp_path):
    temps = [cam.face_temperatures(seed=s) for s in range(5)]
    seq = tmp_path / "rec.seq"
    seq.write_bytes(b"".join(cam.flir_frame(t, timestamp=1_700_000_000 + k) for k, t in enumerate(temps)))
    res = cli("import-video", seq, tmp_path / "s.h5", "--start", "1", "--max-frames", "2", "--no-progress")
    assert res.exit_code == 0, res.output
    images, _, frames, meta, _ = _rows(tmp_path / "s.h5")
    assert frames == [1, 2] and meta[0]["timestamp"].startswith("2023-11-14T22:13:21")
    np.testing.assert_allclose(images, np.stack(temps[1:3]), atol=0.01)
    lepton = tmp_path / "lepton.raw"
    lepton.write_bytes(np.stack([cam.lepton_frame(t) for t in temps]).astype("<u2").tobytes())
    res = cli("import-video", lepton, tmp_path / "l.h5", "--format", "lepton", "--raw-size", "48x64", "--no-progress")
    assert res.exit_code == 0, res.output
    images, _, frames, _, _ = _rows(tmp_path / "l.h5")
    assert frames == [0, 1, 2, 3, 4]
    np.testing.assert_allclose(images, np.stack(temps), atol=0.005 + 1e-4)
    bad = temps[3].copy()
    bad[5, 5] = np.nan
    np.save(tmp_path / "stack.npy", np.stack([temps[0], bad]).astype(np.float32))
    res = cli("import-video", tmp_path / "stack.npy", tmp_path / "n.h5", "--no-progress")
    assert res.exit_code == 1 and "stack.npy frame 1" in res.output and "NaN" in res.output
    assert not (tmp_path / "n.h5").exists()
