"""samcl-train --teacher: knowledge distillation from a trained network. At weight 0 the teacher changes nothing,
bit for bit; otherwise it changes the training and logs its divergence; its weights stay out of the run's
checkpoints; a killed run resumes exactly; a teacher that cannot serve is refused in one line."""

from __future__ import annotations

import csv
import hashlib

import pytest
import torch

from samcl.artifacts.checkpoint import load_checkpoint, save_checkpoint
from samcl.models import build_model
from tests.helpers.training import run_train, straight_and_resumed

SHORT = ("--iters", "6", "--batch-size", "4", "--val-every", "6", "--lr", "0.05", "--seed", "2", "--log-every", "2")
STUDENT = ("--model", "live", "--model-arg", "base_width=4", *SHORT)


@pytest.fixture(scope="module")
def teacher(dataset, tmp_path_factory):
    """A tiny trained unet run folder."""
    out = tmp_path_factory.mktemp("teacher") / "run"
    res = run_train(*dataset, out, *SHORT)
    assert res.returncode == 0, res.stderr
    return out


def _rows(run) -> list[dict[str, str]]:
    with (run / "metrics.csv").open() as handle:
        return list(csv.DictReader(handle))


def _weights(run) -> dict[str, torch.Tensor]:
    return load_checkpoint(run / "last.pt")["model_state"]


def _digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_weight_zero_changes_nothing_and_a_weight_changes_the_run(dataset, teacher, tmp_path):
    before = _digest(teacher / "best.pt")
    plain = run_train(*dataset, tmp_path / "plain", *STUDENT)
    assert plain.returncode == 0, plain.stderr
    zero = run_train(*dataset, tmp_path / "zero", *STUDENT, "--teacher", str(teacher), "--distill-weight", "0")
    assert zero.returncode == 0, zero.stderr
    taught = run_train(*dataset, tmp_path / "taught", *STUDENT, "--teacher", str(teacher / "best.pt"))
    assert taught.returncode == 0, taught.stderr

    a, b, c = _weights(tmp_path / "plain"), _weights(tmp_path / "zero"), _weights(tmp_path / "taught")
    assert a.keys() == b.keys() == c.keys()  # the teacher's weights are not the run's
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not all(torch.equal(a[k], c[k]) for k in a)
    rows = _rows(tmp_path / "taught")
    assert all(float(r["kd_divergence"]) > 0 and float(r["distill_loss"]) > 0 for r in rows)
    assert "kd_divergence" not in _rows(tmp_path / "plain")[0]
    summary = load_checkpoint(tmp_path / "taught" / "best.pt")["config"]
    assert summary["teacher"] == str(teacher / "best.pt") and summary["distill_weight"] == 1.0
    assert _digest(teacher / "best.pt") == before  # the teacher's file is only read


def test_killed_and_resumed_distillation_reaches_the_same_weights(dataset, teacher, tmp_path):
    args = ("--model", "live", "--model-arg", "base_width=4", "--teacher", str(teacher), "--iters", "12")
    args += ("--batch-size", "4", "--checkpoint-every", "4", "--val-every", "12", "--seed", "3")
    straight_and_resumed(*dataset, tmp_path, args, kill_at=4)


def _three_class_teacher(teacher, path) -> None:
    payload = load_checkpoint(teacher / "best.pt")
    payload["model"] = {**payload["model"], "num_classes": 3}
    payload["classes"] = ["background", "skin", "eyes"]
    payload["model_state"] = build_model("unet", 3, base_width=4).state_dict()
    save_checkpoint(path, payload)


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("missing", "file not found"),
        ("not a checkpoint", "not a readable PyTorch checkpoint"),
        ("three classes", "predicts 3 classes"),
        ("per-image inputs", "cannot be turned back into temperatures"),
    ],
)
def test_a_teacher_that_cannot_serve_is_refused_in_one_line(dataset, teacher, tmp_path, case, expected):
    path, extra = tmp_path / "teacher.pt", ()
    if case == "not a checkpoint":
        path.write_bytes(b"not a checkpoint")
    elif case == "three classes":
        _three_class_teacher(teacher, path)
    elif case == "per-image inputs":
        path, extra = teacher / "best.pt", ("--input-norm", "image")
    res = run_train(*dataset, tmp_path / "run", *STUDENT, "--teacher", str(path), *extra)
    assert res.returncode != 0
    assert "Traceback" not in res.stderr
    last = res.stderr.strip().splitlines()[-1]
    assert last.startswith("Error:") and expected in last and "--teacher" in last
    assert not (tmp_path / "run" / "best.pt").exists()


def test_the_teacher_sees_the_same_temperatures_through_its_own_normalisation():
    from samcl.artifacts.normalization import Normalization
    from samcl.training.addons.distill import teacher_input_map

    temperatures = 25.0 + 10.0 * torch.rand(2, 1, 16, 20, generator=torch.Generator().manual_seed(0))
    run, other = Normalization(30.0, 4.0), Normalization(27.0, 6.0)
    for teacher in (run, other, Normalization(27.0, 6.0, "image")):
        torch.testing.assert_close(teacher_input_map(run, teacher)(run(temperatures)), teacher(temperatures))
    per_image = Normalization(30.0, 4.0, "image")
    inputs = per_image(temperatures)
    assert teacher_input_map(per_image, Normalization(0.0, 1.0, "image"))(inputs) is inputs  # the same per image
