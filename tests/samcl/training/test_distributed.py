"""samcl-train under torchrun: two CPU processes with the gloo backend."""

from __future__ import annotations

import csv
import json

import pytest

from samcl.artifacts.checkpoint import load_checkpoint
from tests.helpers.training import run_torchrun, val_miou


def test_torchrun_two_processes_gloo(dataset, tmp_path):
    train, val = dataset
    out = tmp_path / "ddp"
    res = run_torchrun(train, val, out, "--iters", "12", "--batch-size", "4", "--val-every", "6", "--lr", "0.05")
    assert res.returncode == 0, res.stderr[-3000:]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["environment"]["world_size"] == 2 and summary["iterations"] == 12
    assert res.stderr.count("best val mIoU") == 1  # only rank 0 reports (and writes)
    # the validation confusion matrices were summed over both processes: the logged best mIoU is the mIoU of
    # best.pt over the WHOLE validation set, computed here in one process
    best = load_checkpoint(out / "best.pt")
    assert val_miou(best, val) == pytest.approx(summary["best_miou"], abs=1e-9)
    last = load_checkpoint(out / "last.pt")
    assert last["iteration"] == 12 and last["config"]["batch_size"] == 4


def test_torchrun_with_a_samcl_warmup(dataset, tmp_path):
    """At lambda 0 (the first warm-up step) the auxiliary network is not in the graph: DDP must not stop on its
    unused parameters (it did: "Expected to have finished reduction in the prior iteration")."""
    train, val = dataset
    out = tmp_path / "ddp"
    res = run_torchrun(
        train,
        val,
        out,
        "--iters",
        "4",
        "--batch-size",
        "2",
        "--val-every",
        "4",
        "--log-every",
        "1",
        "--samcl-warmup",
        "0.5",
        "--samcl-lambda",
        "0.5",
    )
    assert res.returncode == 0, res.stderr[-3000:]
    rows = list(csv.DictReader((out / "metrics.csv").open()))
    assert [float(r["lam"]) for r in rows] == [0.0, 0.25, 0.5, 0.5]
    assert load_checkpoint(out / "last.pt")["iteration"] == 4
