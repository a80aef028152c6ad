"""samcl-predict on camera inputs: recordings and folders of camera files streamed to masks, overlays, a regions
CSV and --h5; bad files skipped; Ctrl-C leaves complete outputs for the frames done."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from samcl.cli.predict_cmd import predict_main
from samcl.inference.files import read_mask_png
from samcl.inference.predictor import load_inference_model
from samcl.inference.regions import column_names, read_regions_csv, region_statistics
from samcl.inference.stream import predict_stream
from tests.camera_files import REALISTIC, face_temperatures, fff_frame, plain_jpeg, planck_counts, tc001_frame
from tests.samcl_cli.conftest import CLASSES, REPO, listing, reference_labels, sha256
from tiaug.io import open_thermal, write_thermal_h5
from tiaug.io.readers import ReadOptions
from tiaug.signals import deferred_signals

rng = np.random.default_rng(2)


def _tc001_stream(path, n, seed=0):
    temps = np.stack([face_temperatures(32, 40, seed=seed + k) for k in range(n)]).astype(np.float32)
    path.write_bytes(np.stack([tc001_frame(t, rng) for t in temps]).astype("<u2").tobytes())
    return np.round((temps + 273.15) * 64) / 64 - 273.15  # what the reader gives (1/64 K steps)


def test_region_statistics_match_a_direct_count():
    image = rng.normal(30, 3, (20, 30))
    labels = rng.integers(0, 4, (20, 30)).astype(np.uint8)
    labels[labels == 2] = 1  # class 2 absent
    stats = region_statistics(image, labels, 6)
    for c in range(6):
        selected = image[labels == c]
        assert stats[c, 0] == selected.size
        if selected.size:
            assert stats[c, 1] == pytest.approx(selected.mean()) and stats[c, 2] == selected.max()
        else:
            assert np.isnan(stats[c, 1]) and np.isnan(stats[c, 2])


def test_recording_to_masks_and_regions_csv(invoke, checkpoint, tmp_path):
    stream = tmp_path / "rec.bin"
    temps = _tc001_stream(stream, 5)
    before = sha256(stream)
    out = tmp_path / "pred"
    args = ["--format", "tc001", "--raw-size", "64x40", "--every", "2", "--no-progress", "-b", "2"]
    res = invoke(predict_main, "-c", checkpoint, stream, "--out", out, *args)
    assert res.exit_code == 0, res.output
    assert "segmented 3 frames of 1 source(s)" in res.output and "rec_regions.csv" in res.output
    names = [f"rec_{i:05d}" for i in (0, 2, 4)]
    assert listing(out) == sorted([f"{n}_mask.png" for n in names] + ["rec_regions.csv"])  # no overlays by default
    labels = reference_labels(checkpoint, temps[[0, 2, 4]])
    for k, name in enumerate(names):
        np.testing.assert_array_equal(read_mask_png(out / f"{name}_mask.png"), labels[k])
    rows = read_regions_csv(out / "rec_regions.csv")
    assert list(rows[0]) == column_names(CLASSES)
    assert [(r["source"], r["frame"], r["output"]) for r in rows] == [
        ("rec.bin", str(i), n) for i, n in zip((0, 2, 4), names, strict=True)
    ]
    for k, row in enumerate(rows):
        stats = region_statistics(temps[2 * k], labels[k], len(CLASSES))
        for c, name in enumerate(CLASSES):
            assert int(row[f"{name}_pixels"]) == stats[c, 0]
            if stats[c, 0]:
                assert float(row[f"{name}_mean_c"]) == pytest.approx(stats[c, 1], abs=1e-3)
                assert float(row[f"{name}_max_c"]) == pytest.approx(stats[c, 2], abs=1e-3)
            else:
                assert row[f"{name}_mean_c"] == "" and row[f"{name}_max_c"] == ""
    assert sum(int(row["skin_pixels"]) for row in rows) > 0  # the model finds the warm face
    assert sha256(stream) == before
    res = invoke(predict_main, "-c", checkpoint, stream, "--out", out, "--format", "tc001", "--raw-size", "64x40")
    assert res.exit_code != 0 and "--overwrite" in res.output  # the CSV of the last run is kept


def test_folder_of_camera_files_with_bad_ones(invoke, checkpoint, tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    temps = [face_temperatures(32, 40, seed=s) for s in range(3)]
    (src / "a.fff").write_bytes(fff_frame(planck_counts(temps[0], REALISTIC), REALISTIC))
    (src / "b.seq").write_bytes(b"".join(fff_frame(planck_counts(t, REALISTIC), REALISTIC) for t in temps[1:]))
    (src / "c.jpg").write_bytes(plain_jpeg())
    np.save(src / "d.npy", temps[0].astype(np.float32))
    write_thermal_h5(src / "e.h5", np.stack(temps[:1]).astype(np.float32))
    out = tmp_path / "pred"
    res = invoke(predict_main, "-c", checkpoint, src, "--out", out, "--no-progress", "--overlays", "--h5")
    assert res.exit_code == 0, res.output
    assert f"skipped {src / 'c.jpg'}: JPEG without FLIR radiometric metadata" in res.output
    assert f"skipped {src / 'e.h5'}: an HDF5 file among camera files" in res.output
    assert "segmented 4 frames of 3 source(s)" in res.output and "skipped 2" in res.output
    bases = ["a", "b_00000", "b_00001", "d"]
    assert listing(out) == sorted(
        [f"{b}_mask.png" for b in bases] + [f"{b}_overlay.png" for b in bases] + ["in_masks.h5", "in_regions.csv"]
    )
    with open_thermal(out / "in_masks.h5", require_masks=True) as r:
        assert r.file["source"].asstr()[:].tolist() == ["a.fff", "b.seq", "b.seq", "d.npy"]
        assert r.file["source_index"][:].tolist() == [0, 0, 1, 0]
        np.testing.assert_allclose(r.read_batch(0, 4).images, np.stack([*temps, temps[0]]), atol=0.01)
    assert [r["output"] for r in read_regions_csv(out / "in_regions.csv")] == bases


def test_nothing_readable_is_an_error_and_writes_nothing(invoke, checkpoint, tmp_path):
    (tmp_path / "cut.jpg").write_bytes(plain_jpeg()[:200])
    res = invoke(predict_main, "-c", checkpoint, tmp_path / "cut.jpg", "--out", tmp_path / "pred", "--no-progress")
    assert res.exit_code == 1 and "cut.jpg" in res.output and "truncated JPEG" in res.output
    assert not (tmp_path / "pred").exists()


def test_interrupted_recording_keeps_complete_outputs(checkpoint, tmp_path):
    stream = tmp_path / "long.bin"
    temps = _tc001_stream(stream, 12)
    model = load_inference_model(checkpoint, device="cpu")
    seen = []

    def stop_after_two_batches(done, total):  # progress(frames done, frames to do or None)
        seen.append(done)
        if len(seen) == 2:
            raise KeyboardInterrupt

    summary = predict_stream(
        model,
        stream,
        tmp_path / "pred",
        fmt="tc001",
        options=ReadOptions(raw_size=(64, 40)),
        batch_size=3,
        h5=True,
        progress=stop_after_two_batches,
    )
    assert summary.interrupted == "Ctrl-C" and summary.frames == 6
    out = tmp_path / "pred"
    names = [f"long_{i:05d}" for i in range(6)]
    assert listing(out) == sorted([f"{n}_mask.png" for n in names] + ["long_masks.h5", "long_regions.csv"])
    assert [r["frame"] for r in read_regions_csv(out / "long_regions.csv")] == [str(i) for i in range(6)]
    with open_thermal(out / "long_masks.h5", require_masks=True) as r:  # finished and renamed, 6 whole rows
        assert r.n == 6
        np.testing.assert_array_equal(r.read_batch(0, 6).masks, reference_labels(checkpoint, temps[:6]))


def test_signals_wait_for_the_outputs_being_written():
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)  # Python's own Ctrl-C handler
    try:
        done = []
        with pytest.raises(KeyboardInterrupt), deferred_signals():
            os.kill(os.getpid(), signal.SIGINT)
            done.append("written after the signal arrived")
        assert done == ["written after the signal arrived"]
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    finally:
        signal.signal(signal.SIGINT, previous)


def test_ctrl_c_in_a_real_process(checkpoint, tmp_path):
    """SIGINT to a running samcl-predict: exit 130, and every frame in the CSV has its mask and its HDF5 row."""
    stream = tmp_path / "live.bin"
    _tc001_stream(stream, 400)
    out = tmp_path / "pred"
    path = os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])
    env = dict(os.environ, PYTHONPATH=path, OMP_NUM_THREADS="1")
    args = ["--format", "tc001", "--raw-size", "64x40", "-b", "1", "--h5", "--no-progress", "--device", "cpu"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "samcl.cli", "predict", "-c", checkpoint, stream, "--out", out, *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    csv_path = out / "live_regions.csv"
    deadline = time.monotonic() + 600  # generous: torch starts slowly on a busy machine
    while time.monotonic() < deadline and proc.poll() is None:
        if csv_path.exists() and csv_path.read_text().count("\n") >= 4:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, (stdout, stderr)
    assert "stopped by Ctrl-C" in stdout and "Traceback" not in stderr
    rows = read_regions_csv(csv_path)
    assert 3 <= len(rows) < 400
    masks = sorted(p.name for p in out.glob("*_mask.png"))
    assert masks == [f"{r['output']}_mask.png" for r in rows]
    for name in masks:
        assert read_mask_png(out / name).shape == (32, 40)
    with open_thermal(out / "live_masks.h5", require_masks=True) as r:
        assert r.n == len(rows)
    assert [p.name for p in out.iterdir() if p.name.startswith(".") or "tmp" in p.name] == []
