"""Nothing lost by samcl-train: no earlier run replaced, no ignore index that crashes step 1, no traceback for a bad
value.
"""

from __future__ import annotations

import json

import h5py
import numpy as np
import pytest
import yaml
from click.testing import CliRunner

from samcl.artifacts.checkpoint import load_checkpoint
from samcl.cli.train_cmd import train
from tests.refusals import assert_one_error_line, digest, listing
from tiaug.io import create_thermal_h5, write_thermal_h5
from tiaug.synth import generate_faces

from .conftest import SIZE, TINY, run_train

RUN_FILES = ("best.pt", "last.pt", "metrics.csv", "summary.json", "curves.png")


def _invoke(*args: object):
    """samcl-train in-process (refusals come before any training step)."""
    return CliRunner().invoke(train, [str(a) for a in args], catch_exceptions=False)


def _earlier_run(folder):
    folder.mkdir()
    for name in RUN_FILES:
        (folder / name).write_bytes(f"earlier {name}".encode())
    return folder


def test_an_earlier_run_is_refused_without_resume(dataset, tmp_path):
    train_h5, val_h5 = dataset
    run = _earlier_run(tmp_path / "run")
    before = digest(run)
    res = _invoke("--data", train_h5, "--val", val_h5, "--out", run, *TINY, "--iters", "2")
    assert res.exit_code == 1
    assert_one_error_line(res.stderr, str(run), "earlier run", "--resume", "--overwrite")
    assert digest(run) == before


def test_overwrite_replaces_an_earlier_run(dataset, tmp_path):
    train_h5, val_h5 = dataset
    run = _earlier_run(tmp_path / "run")
    res = run_train(train_h5, val_h5, run, "--iters", "2", "--batch-size", "2", "--val-every", "2", "--overwrite")
    assert res.returncode == 0, res.stderr
    assert load_checkpoint(run / "best.pt")["iteration"] == 2
    assert json.loads((run / "summary.json").read_text())["iterations"] == 2
    assert b"earlier" not in (run / "metrics.csv").read_bytes()


def test_out_naming_a_file_is_refused_with_a_message(dataset, tmp_path):
    train_h5, val_h5 = dataset
    res = _invoke("--data", train_h5, "--val", val_h5, "--out", train_h5, *TINY)
    assert res.exit_code == 1
    line = assert_one_error_line(res.stderr, "--out", "is a file")
    assert "Errno" not in line


@pytest.fixture(scope="module")
def ignore9(tmp_path_factory):
    """Train and val files whose masks mark occluded pixels with 9 (what tiaug augment --mask-policy ignore
    --ignore-index 9 writes), with the attribute ignore_index = 9."""
    folder = tmp_path_factory.mktemp("ignore9")
    paths = []
    for name, n, seed in (("train", 16, 4), ("val", 4, 5)):
        faces = generate_faces(n, *SIZE, seed=seed)
        masks = faces.masks.copy()
        masks[:, 10:20, 10:30] = 9
        path = folder / f"{name}.h5"
        with create_thermal_h5(path, *SIZE, ignore_index=9) as writer:
            writer.append(faces.images, masks)
        paths.append(path)
    return paths


@pytest.mark.parametrize("loss", ["ce", "dice"])
def test_the_data_ignore_index_is_the_one_the_loss_skips(ignore9, tmp_path, loss):
    train_h5, val_h5 = ignore9
    out = tmp_path / "run"
    res = run_train(train_h5, val_h5, out, "--iters", "2", "--batch-size", "2", "--val-every", "2", "--loss", loss)
    assert res.returncode == 0, res.stderr
    assert load_checkpoint(out / "best.pt")["ignore_index"] == 9


def test_a_configured_ignore_index_that_contradicts_the_data_is_refused(ignore9, tmp_path):
    train_h5, val_h5 = ignore9
    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump({"ignore_index": 7}))
    out = tmp_path / "run"
    res = _invoke("--data", train_h5, "--val", val_h5, "--out", out, "--config", config, *TINY)
    assert res.exit_code == 1
    assert_one_error_line(res.stderr, "ignore_index", "9", "7")
    assert not out.exists()


@pytest.mark.parametrize(
    ("flags", "config", "words"),
    [
        (["--model-arg", "base_width=abc"], None, ["--model", "base_width='abc'"]),
        (["--model-arg", "base_width=0"], None, ["--model", "base_width=0"]),
        (["--model-arg", "no_such_argument=3"], None, ["--model", "no_such_argument"]),
        (["--lr", "nan"], None, ["--lr"]),
        (["--seed", "-1"], None, ["--seed"]),
        ([], {"iters": [1]}, ["iters", "integer"]),
        ([], {"crop": 64}, ["crop", "HxW"]),
        ([], {"crop": "64 by 80"}, ["crop", "HxW"]),
        ([], {"lr": "fast"}, ["lr", "number"]),
        ([], {"model_kwargs": 5}, ["model_kwargs", "mapping"]),
    ],
)
def test_bad_values_name_the_option_without_a_traceback(dataset, tmp_path, flags, config, words):
    train_h5, val_h5 = dataset
    extra = []
    if config is not None:
        (tmp_path / "c.yaml").write_text(yaml.safe_dump(config))
        extra = ["--config", tmp_path / "c.yaml"]
    before = listing(tmp_path)
    # flags override the config file: keep only those it does not set (and a short run, should it start)
    quick = {
        "workers": ["--workers", "0"],
        "device": ["--device", "cpu"],
        "iters": ["--iters", "2"],
        "model_kwargs": ["--model-arg", "base_width=4"],
    }
    tiny = ["--no-progress", *(arg for key, args in quick.items() if key not in (config or {}) for arg in args)]
    res = _invoke("--data", train_h5, "--val", val_h5, "--out", tmp_path / "run", *tiny, *flags, *extra)
    assert res.exit_code in (1, 2), res.stderr
    assert_one_error_line(res.stderr, *words)
    assert listing(tmp_path) == before  # no run directory left behind


def test_masks_marked_with_an_undeclared_label_are_refused_before_training(dataset, tmp_path):
    faces = generate_faces(8, *SIZE, seed=6)
    masks = faces.masks.copy()
    masks[3, 5, 5] = 9
    bad = tmp_path / "bad.h5"
    write_thermal_h5(bad, faces.images, np.zeros_like(masks))
    with h5py.File(bad, "r+") as f:
        f["masks"][...] = masks
    res = _invoke("--data", bad, "--val", dataset[1], "--out", tmp_path / "run", *TINY)
    assert res.exit_code == 1
    assert_one_error_line(res.stderr, "bad.h5", "masks", "9")
    assert not (tmp_path / "run").exists()
