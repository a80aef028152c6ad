"""Checkpoints are data: a crafted pickle runs nothing in eval, predict or --resume; model arguments are bounded;
a link planted at a streamed output's name never lets samcl-predict write into its input."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from samcl.artifacts.checkpoint import FORMAT, VERSION, load_checkpoint, save_checkpoint
from samcl.cli.eval_cmd import eval_main
from samcl.cli.predict_cmd import predict_main
from samcl.cli.train_cmd import train
from tests.helpers.camera_files import face_temperatures, tc001_frame
from tests.helpers.checkpoints import checkpoint_payload
from tests.helpers.files import sha256


class _WritesAFile:
    """Unpickling this object writes ``marker``: what a crafted checkpoint would do with a shell command."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (exec, (f"open({self.marker!r}, 'w').write('code ran')",))


def _crafted(path, marker, trained_state) -> None:
    payload = {"format": FORMAT, "version": VERSION, **checkpoint_payload(trained_state)}
    payload["config"] = {"note": _WritesAFile(str(marker))}
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(payload, path)


def _refused(res, *words: str) -> None:
    assert res.exit_code == 1, res.output
    errors = [line for line in res.output.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and "Traceback" not in res.output, res.output
    for word in words:
        assert word in errors[0], (word, errors[0])


def _invoke(command, *args):
    return CliRunner().invoke(command, [str(a) for a in args])


def test_the_crafted_pickle_would_run_code_if_unpickled(tmp_path, trained_state):
    """The hostile file is real: loaded the old way (weights_only=False), it writes the marker."""
    marker = tmp_path / "ran"
    _crafted(tmp_path / "evil.pt", marker, trained_state)
    torch.load(tmp_path / "evil.pt", weights_only=False)
    assert marker.read_text() == "code ran"


def test_crafted_checkpoint_is_refused_by_eval_and_predict(tmp_path, trained_state, test_h5):
    marker = tmp_path / "ran"
    evil = tmp_path / "run" / "best.pt"
    _crafted(evil, marker, trained_state)
    frame = tmp_path / "frame.npy"
    np.save(frame, np.full((32, 40), 30.0, np.float32))
    res = _invoke(eval_main, "-c", evil, "--data", test_h5, "--json", tmp_path / "scores.json", "--no-progress")
    _refused(res, str(evil), "never allowed to run code")
    res = _invoke(predict_main, "-c", evil, frame, "--out", tmp_path / "pred", "--no-progress")
    _refused(res, str(evil), "never allowed to run code")
    assert not marker.exists() and not (tmp_path / "scores.json").exists() and not (tmp_path / "pred").exists()


def test_crafted_last_pt_is_refused_by_resume(tmp_path, trained_state, test_h5):
    marker = tmp_path / "ran"
    run = tmp_path / "run"
    _crafted(run / "last.pt", marker, trained_state)
    before = sha256(run / "last.pt")
    res = _invoke(train, "--resume", run, "--no-progress")
    _refused(res, "last.pt", "never allowed to run code")
    assert not marker.exists() and sha256(run / "last.pt") == before


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"kwargs": {"base_width": 10**6}}, ["parameters", "more than"]),
        ({"kwargs": {"base_width": [1, 2]}}, ["not a plain value"]),
        ({"kwargs": {"depth": -2}}, ["cannot build model"]),
        ({"num_classes": 10**9}, ["num_classes"]),
        ({"input_size": [0, -3]}, ["input_size"]),
        ({"input_size": [10**6, 64]}, ["input_size"]),
    ],
)
def test_model_arguments_out_of_bounds_are_refused_before_building(tmp_path, trained_state, change, words):
    payload = checkpoint_payload(trained_state)
    payload["model"].update({k: v for k, v in change.items() if k != "input_size"})
    if "input_size" in change:
        payload["input_size"] = change["input_size"]
    path = tmp_path / "bounds.pt"
    save_checkpoint(path, payload)
    with pytest.raises(ValueError, match=str(path)) as caught:
        load_checkpoint(path)
    for word in words:
        assert word in str(caught.value)


def test_a_sane_checkpoint_still_loads(checkpoint):
    assert load_checkpoint(checkpoint)["model"]["kwargs"] == {"base_width": 4}


@pytest.mark.parametrize("link", ["symlink", "hardlink"])
def test_overwrite_never_writes_through_a_link_to_the_input(tmp_path, checkpoint, link):
    stream = tmp_path / "rec.bin"
    rng = np.random.default_rng(0)
    frames = [tc001_frame(face_temperatures(32, 40, seed=k), rng) for k in range(3)]
    stream.write_bytes(np.stack(frames).astype("<u2").tobytes())
    before = sha256(stream)
    out = tmp_path / "pred"
    out.mkdir()
    planted = out / "rec_regions.csv"
    os.symlink(stream, planted) if link == "symlink" else os.link(stream, planted)
    args = ["--format", "tc001", "--raw-size", "64x40", "--no-progress", "--overwrite", "--h5"]
    res = _invoke(predict_main, "-c", checkpoint, stream, "--out", out, *args)
    _refused(res, str(planted), "input")
    assert sha256(stream) == before
    assert sorted(p.name for p in out.iterdir()) == ["rec_regions.csv"]
