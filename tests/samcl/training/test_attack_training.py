"""samcl-train with the self-adversarial augmentation: seeded, resumable bit for bit, whatever the workers; K = 0
changes nothing; the metrics show the attack, the bandit's weights and the consistency term."""

from __future__ import annotations

import csv
import math

import torch

from samcl.artifacts.checkpoint import load_checkpoint
from tests.helpers.training import run_torchrun, run_train, straight_and_resumed

SHORT = ("--iters", "6", "--batch-size", "4", "--val-every", "6", "--lr", "0.05", "--seed", "2")
ATTACK = ("--adversarial-k", "2", "--bandit", "--consistency", "1", "--samcl", "--log-every", "2")


def run_state(run) -> dict[str, torch.Tensor]:
    return load_checkpoint(run / "last.pt")["model_state"]


def _same(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def _rows(run) -> list[dict[str, str]]:
    with (run / "metrics.csv").open() as handle:
        return list(csv.DictReader(handle))


def test_k0_changes_nothing(dataset, tmp_path):
    plain = run_train(*dataset, tmp_path / "plain", *SHORT)
    assert plain.returncode == 0, plain.stderr
    # settings of the attack that are off: the same run, bit for bit, with the same metrics.csv columns
    off = (
        "--adversarial-k",
        "0",
        "--adversarial-temperature",
        "0.5",
        "--adversarial-scale",
        "0.5",
        "--no-bandit",
        "--bandit-arg",
        "lag=30",
        "--consistency",
        "0",
    )
    res = run_train(*dataset, tmp_path / "off", *SHORT, *off)
    assert res.returncode == 0, res.stderr
    assert _same(run_state(tmp_path / "plain"), run_state(tmp_path / "off"))
    assert list(_rows(tmp_path / "plain")[0]) == list(_rows(tmp_path / "off")[0])
    assert not any(c.startswith(("attack", "bandit", "consistency")) for c in _rows(tmp_path / "off")[0])


def test_attack_is_seeded_whatever_the_workers_and_logs_its_metrics(dataset, tmp_path):
    one = run_train(*dataset, tmp_path / "w0", *SHORT, *ATTACK)
    assert one.returncode == 0, one.stderr
    two = run_train(*dataset, tmp_path / "w2", *SHORT, *ATTACK, "--workers", "2")
    assert two.returncode == 0, two.stderr
    assert _same(run_state(tmp_path / "w0"), run_state(tmp_path / "w2"))  # the bandit's lag keeps workers out
    rows = _rows(tmp_path / "w0")
    columns = list(rows[0])
    assert "attack_gain" in columns and "consistency_loss" in columns and "active_s0" in columns
    assert "attack_loss" not in columns and "grad_attack_loss" not in columns  # it adds no loss term
    weights = [c for c in columns if c.startswith("bandit_configuration_")]
    assert len(weights) == 3
    for row in rows:
        assert float(row["attack_gain"]) >= 0  # the trained draw is never easier than draw 0
        assert math.isclose(sum(float(row[c]) for c in weights), 1.0, rel_tol=1e-6)
        assert float(row["consistency_loss"]) >= 0
    assert (tmp_path / "w0" / "curves.png").stat().st_size > 0


def test_killed_and_resumed_attack_reaches_the_same_weights(dataset, tmp_path):
    train, val = dataset
    args = (
        "--iters",
        "12",
        "--batch-size",
        "4",
        "--checkpoint-every",
        "4",
        "--val-every",
        "12",
        "--seed",
        "3",
        *ATTACK,
        "--aug-warmup",  # killed in the warm-up: its candidates draw without TiAug and the scene steps
        "0.5",
    )
    straight_and_resumed(train, val, tmp_path, args, kill_at=4)


def test_attack_under_torchrun(dataset, tmp_path):

    res = run_torchrun(*dataset, tmp_path / "ddp", *SHORT, *ATTACK)
    assert res.returncode == 0, res.stderr[-3000:]
    rows = _rows(tmp_path / "ddp")
    weights = [c for c in rows[0] if c.startswith("bandit_room_")]
    assert len(rows) == 3 and all(math.isclose(sum(float(r[c]) for c in weights), 1.0, rel_tol=1e-6) for r in rows)
    assert load_checkpoint(tmp_path / "ddp" / "last.pt")["iteration"] == 6
