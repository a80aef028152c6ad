"""samcl-train notices a class it has not learnt: one warning line and ``lost_classes`` in summary.json."""

from __future__ import annotations

import json

import numpy as np
import pytest

from samcl.training.class_watch import ClassWatch
from tests.helpers.training import SIZE, run_train
from tiaug.io import write_thermal_h5
from tiaug.synth import generate_faces

CLASSES = ("background", "skin", "mouth")


def test_a_present_class_below_the_floor_at_the_last_validations_is_lost():
    watch = ClassWatch(CLASSES, iters=100, after=0.3, patience=2)
    present = [True, True, True]
    assert watch.update(20, [0.9, 0.8, 0.0], present) == []  # before 30 % of the steps: never counts
    assert watch.update(40, [0.9, 0.8, 0.0], present) == []  # one validation past the mark: not yet
    assert watch.update(60, [0.9, 0.8, 0.0], present) == ["mouth"]
    assert watch.update(80, [0.9, 0.8, 0.0], present) == []  # warned once
    assert watch.lost == {"mouth": 60}


@pytest.mark.parametrize(
    ("ious", "present"),
    [
        ([0.9, 0.8, 0.3], [True, True, True]),  # learnt
        ([0.9, 0.8, float("nan")], [True, True, False]),  # absent from ground truth and prediction
        ([0.9, 0.8, 0.0], [True, True, False]),  # predicted but absent from the validation ground truth
    ],
)
def test_silent_when_every_present_class_is_found(ious, present):
    watch = ClassWatch(CLASSES, iters=100)
    assert [watch.update(step, ious, present) for step in (40, 60, 80, 100)] == [[], [], [], []]
    assert watch.lost == {}


def test_a_class_that_recovers_is_not_lost_and_the_last_validation_alone_counts_at_the_end():
    watch = ClassWatch(CLASSES, iters=100)
    assert watch.update(40, [0.9, 0.8, 0.0], [True] * 3) == []
    assert watch.update(60, [0.9, 0.8, 0.2], [True] * 3) == []  # recovered: the window is not all below
    short = ClassWatch(CLASSES, iters=100, after=0.9)
    assert short.update(100, [0.9, 0.0, 0.5], [True] * 3) == ["skin"]  # the run's only validation past the mark


def test_state_round_trip_continues_the_window():
    watch = ClassWatch(CLASSES, iters=100)
    watch.update(40, [0.9, 0.8, 0.0], [True] * 3)
    resumed = ClassWatch(CLASSES, iters=100)
    resumed.load_state(json.loads(json.dumps(watch.state())))
    assert resumed.update(60, [0.9, 0.8, 0.0], [True] * 3) == ["mouth"]


def _faces(path, n, seed, keep_mouth):
    faces = generate_faces(n, *SIZE, seed=seed)
    masks = np.where(faces.masks > 0, 1, 0).astype(np.uint8)
    if keep_mouth:
        masks[faces.masks == 2] = 2
    write_thermal_h5(path, faces.images, masks)


@pytest.mark.parametrize(("warmup", "noticed"), [("0", 30), ("0.5", 40)])
def test_samcl_train_warns_about_a_class_it_never_predicts(tmp_path, warmup, noticed):
    """The mouth is labelled in the validation faces only: the network never predicts it, while background and
    skin are learnt. The warning names the mouth alone; summary.json records it. The watch counts validations
    from 30 % of the steps past the augmentation warm-up and ramp (no ramp here): with 40 steps, validations
    every 10 and 2 of them needed, step 30 (no warm-up), or only the last one (warm-up to step 20: from 32)."""
    train, val = tmp_path / "train.h5", tmp_path / "val.h5"
    _faces(train, 24, seed=1, keep_mouth=False)
    _faces(val, 8, seed=2, keep_mouth=True)
    out = tmp_path / "run"
    flags = ["--iters", "40", "--batch-size", "4", "--val-every", "10", "--lr", "0.05", "--loss", "ce"]
    schedule = ("--aug-warmup", warmup, "--aug-ramp", "0")
    res = run_train(train, val, out, *flags, "--no-samcl", "--no-tiaug", "--no-scene", *schedule)
    assert res.returncode == 0, res.stderr
    warnings = [line for line in res.stderr.splitlines() if line.startswith("Warning:")]
    assert len(warnings) == 1 and "mouth" in warnings[0] and "skin" not in warnings[0], res.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["lost_classes"] == {"mouth": noticed}
