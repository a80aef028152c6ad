"""samcl-predict for analysis over time: a folder with a stray file still gives every other frame's outputs, the
CSV's frame runs across the folder, --fps fills timestamp, min and percentile columns; the input mode is stated."""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner

from samcl.cli.predict_cmd import predict_main
from samcl.inference.regions import read_regions_csv, region_statistics
from tests.camera_files import face_temperatures, tc001_frame
from tests.samcl_cli.conftest import CLASSES, reference_labels, sha256


def _invoke(*args):
    return CliRunner().invoke(predict_main, [str(a) for a in args])


def _check_statistics(row, image, labels, percentiles):
    stats = region_statistics(image, labels, len(CLASSES), percentiles)
    for c, name in enumerate(CLASSES):
        assert int(row[f"{name}_pixels"]) == stats[c, 0]
        columns = ["mean_c", "max_c", "min_c", *(f"p{q:g}_c" for q in percentiles)]
        for j, column in enumerate(columns, start=1):
            cell = row[f"{name}_{column}"]
            assert (cell == "") if not stats[c, 0] else float(cell) == pytest.approx(stats[c, j], abs=1e-3)


def test_folder_with_a_stray_file_time_series_csv(tmp_path, checkpoint, faces):
    folder = tmp_path / "session"
    folder.mkdir()
    images = faces.images
    np.save(folder / "a_stack.npy", images[:3])
    np.save(folder / "b_mask.npy", faces.masks[0])  # a stray uint8 mask among the frames
    np.save(folder / "c_frame.npy", images[3])
    np.save(folder / "d_frame.npy", images[4])
    before = {p.name: sha256(p) for p in folder.iterdir()}
    out = tmp_path / "pred"
    res = _invoke("-c", checkpoint, folder, "--out", out, "--fps", 8.7, "--percentiles", "5,50,95", "--no-progress")
    assert res.exit_code == 0, res.output
    assert "b_mask.npy" in res.output and "skipped 1 file(s)" in res.output
    assert "overlays on" in res.output
    names = ["a_stack_00000", "a_stack_00001", "a_stack_00002", "c_frame", "d_frame"]
    assert all((out / f"{n}_mask.png").is_file() and (out / f"{n}_overlay.png").is_file() for n in names)
    rows = read_regions_csv(out / "session_regions.csv")
    assert [r["output"] for r in rows] == names
    assert [int(r["frame"]) for r in rows] == list(range(5))
    assert [float(r["timestamp"]) for r in rows] == pytest.approx([k / 8.7 for k in range(5)], abs=1e-6)
    labels = reference_labels(checkpoint, images[:5])
    for k, row in enumerate(rows):
        _check_statistics(row, images[k], labels[k], (5.0, 50.0, 95.0))
    assert {p.name: sha256(p) for p in folder.iterdir()} == before


def test_recording_frames_keep_their_position_and_fps_timestamps(tmp_path, checkpoint):
    rng = np.random.default_rng(3)
    stream = tmp_path / "rec.bin"
    temps = [face_temperatures(32, 40, seed=k) for k in range(5)]
    stream.write_bytes(np.stack([tc001_frame(t, rng) for t in temps]).astype("<u2").tobytes())
    out = tmp_path / "pred"
    args = ["--format", "tc001", "--raw-size", "64x40", "--every", "2", "--fps", "25", "--percentiles", "10"]
    res = _invoke("-c", checkpoint, stream, "--out", out, *args, "--no-progress")
    assert res.exit_code == 0, res.output
    assert "camera input, streamed" in res.output and "overlays off (--overlays" in res.output
    rows = read_regions_csv(out / "rec_regions.csv")
    assert [int(r["frame"]) for r in rows] == [0, 2, 4]
    assert [float(r["timestamp"]) for r in rows] == pytest.approx([0, 0.08, 0.16])
    assert "skin_min_c" in rows[0] and "skin_p10_c" in rows[0]


@pytest.mark.parametrize("bad", ["5,abc", "150"])
def test_bad_percentiles_are_refused_before_anything_is_written(tmp_path, checkpoint, faces, bad):
    np.save(tmp_path / "f.npy", faces.images[0])
    res = _invoke("-c", checkpoint, tmp_path / "f.npy", "--out", tmp_path / "pred", "--percentiles", bad)
    assert res.exit_code == 1 and "--percentiles" in res.output
    assert not (tmp_path / "pred").exists()
