"""samcl-train end to end on the CPU: outputs, learning, exact resume, refusals."""

from __future__ import annotations

import csv
import json
import subprocess

import h5py
import numpy as np
import pytest
import torch

from samcl.artifacts.checkpoint import load_checkpoint, model_from_checkpoint, save_checkpoint
from samcl.models import build_model
from tests.helpers.processes import env
from tests.helpers.training import (
    flags,
    run_train,
    straight_and_resumed,
    train_args,
    val_miou,
)


def test_train_writes_every_output_and_learns(dataset, tmp_path):
    train, val = dataset
    out = tmp_path / "run"
    options = flags(iters=60, batch_size=8, val_every=30, log_every=10, lr=0.05, loss="ce", workers=2)
    res = run_train(train, val, out, *options)
    assert res.returncode == 0, res.stderr
    assert {p.name for p in out.iterdir()} >= {"best.pt", "last.pt", "metrics.csv", "summary.json", "curves.png"}
    summary = json.loads((out / "summary.json").read_text())
    assert summary["config"]["loss"] == "ce" and summary["config"]["samcl"] is True
    assert summary["iterations"] == 60 and 0 < summary["best_miou"] <= 1
    assert summary["environment"]["torch"] == torch.__version__
    rows = list(csv.DictReader((out / "metrics.csv").open()))
    assert [int(r["iteration"]) for r in rows] == [10, 20, 30, 40, 50, 60]
    validated = [r for r in rows if r["val_miou"]]
    assert [int(r["iteration"]) for r in validated] == [30, 60]
    assert float(rows[0]["samcl_loss"]) > 0 and float(rows[0]["images_per_s"]) > 0
    assert {"iou_background", "iou_nose"} <= set(rows[0])
    best = load_checkpoint(out / "best.pt")
    assert best["model"]["name"] == "unet" and best["classes"][1] == "skin" and "train_state" not in best
    assert best["iteration"] == summary["best_iteration"]
    # learning: clearly better than the same network untrained
    untrained = {**best, "model_state": build_model("unet", 6, base_width=4).state_dict()}
    trained_miou, untrained_miou = val_miou(best, val), val_miou(untrained, val)
    assert trained_miou == pytest.approx(summary["best_miou"], abs=1e-9)
    assert trained_miou > untrained_miou + 0.15, (trained_miou, untrained_miou)


def test_killed_and_resumed_run_reaches_the_same_weights(dataset, tmp_path):
    train, val = dataset
    args = ("--iters", "24", "--batch-size", "4", "--checkpoint-every", "4", "--val-every", "12", "--seed", "3")
    # killed during the augmentation warm-up (12 steps), whose draws must replay as well
    straight_and_resumed(train, val, tmp_path, (*args, "--aug-warmup", "0.5"), kill_at=4)


def test_resume_refusals(dataset, tmp_path):
    train, val = dataset
    empty = tmp_path / "empty"
    empty.mkdir()
    base = train_args(train, val, tmp_path / "x")[:3]
    res = subprocess.run([*base, "--resume", str(empty)], capture_output=True, text=True, env=env(), timeout=120)
    assert res.returncode != 0 and "no last.pt" in res.stderr
    res = subprocess.run([*base, "--resume", str(empty), "--lr", "0.1"], capture_output=True, text=True, env=env())
    assert res.returncode != 0


def _bad_file(path, images, masks=None, classes=None):
    with h5py.File(path, "w") as f:
        f.create_dataset("images", data=images)
        if masks is not None:
            f.create_dataset("masks", data=masks)
        f.attrs["units"] = "degC"
        if classes:
            f.attrs["classes"] = json.dumps(classes)
    return path


@pytest.mark.parametrize("case", ["missing", "not_hdf5", "no_masks", "label_out_of_range", "too_small", "nan"])
def test_bad_training_inputs_refused(dataset, tmp_path, case):
    _, val = dataset
    images = np.full((4, 64, 80), 30.0, np.float32)
    masks = np.zeros((4, 64, 80), np.uint8)
    if case == "missing":
        bad, words = tmp_path / "nope.h5", ["nope.h5", "not found"]
    elif case == "not_hdf5":
        bad = tmp_path / "text.h5"
        bad.write_text("hello")
        words = ["text.h5", "HDF5"]
    elif case == "no_masks":
        bad, words = _bad_file(tmp_path / "nomask.h5", images), ["masks", "missing"]
    elif case == "label_out_of_range":
        masks[0, 0, 0] = 9
        bad, words = _bad_file(tmp_path / "labels.h5", images, masks), ["masks", "9"]
    elif case == "too_small":
        bad = _bad_file(tmp_path / "small.h5", images[:, :8, :8], masks[:, :8, :8])
        words = ["smaller than", "minimum"]
    else:
        images[1, 2, 3] = np.nan
        bad, words = _bad_file(tmp_path / "nan.h5", images, masks), ["NaN"]
    before = bad.read_bytes() if bad.exists() else None
    res = run_train(bad, val, tmp_path / "run", "--iters", "2")
    assert res.returncode != 0
    assert "Traceback" not in res.stderr
    for word in words:
        assert word in res.stderr, (word, res.stderr[-800:])
    assert not (tmp_path / "run" / "last.pt").exists()
    if before is not None:
        assert bad.read_bytes() == before


def test_checkpoint_from_a_different_model_is_refused(tmp_path):
    model = build_model("unet", 6, base_width=4)
    payload = {
        "model": {"name": "attention_unet", "kwargs": {"base_width": 4}, "num_classes": 6, "in_channels": 1},
        "classes": list("abcdef"),
        "ignore_index": 255,
        "normalization": {"mean": 27.0, "std": 5.0},
        "model_state": model.state_dict(),
    }
    save_checkpoint(tmp_path / "mixed.pt", payload)
    with pytest.raises(ValueError, match="different model"):
        model_from_checkpoint(load_checkpoint(tmp_path / "mixed.pt"), "mixed.pt")
    (tmp_path / "junk.pt").write_bytes(b"junk")
    with pytest.raises(ValueError, match="not a readable"):
        load_checkpoint(tmp_path / "junk.pt")
    torch.save({"weights": 1}, tmp_path / "foreign.pt")
    with pytest.raises(ValueError, match="not a samcl checkpoint"):
        load_checkpoint(tmp_path / "foreign.pt")
