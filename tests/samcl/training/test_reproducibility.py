"""Repeatable training: a fixed intra-op thread count and deterministic algorithms, recorded in summary.json;
the same seed and thread count give the same weights whatever the DataLoader workers."""

from __future__ import annotations

import json
import os

import torch

from samcl.artifacts.checkpoint import load_checkpoint
from samcl.training.reproducibility import reproducible, torch_settings
from tests.helpers.training import run_train

SHORT = ("--iters", "4", "--batch-size", "4", "--val-every", "4", "--lr", "0.05", "--loss", "dice")


def _run(dataset, out, *extra):
    res = run_train(*dataset, out, *SHORT, *extra)
    assert res.returncode == 0, res.stderr
    summary = json.loads((out / "summary.json").read_text())
    return summary, load_checkpoint(out / "last.pt")["model_state"]


def test_threads_and_determinism_are_applied_and_recorded(dataset, tmp_path):
    one, weights_one = _run(dataset, tmp_path / "one", "--threads", "1", "--workers", "0")
    settings = one["environment"]["torch_settings"]
    assert one["config"]["threads"] == 1 and settings["threads"] == 1
    assert one["config"]["deterministic"] is True and settings["deterministic_algorithms"] is True
    assert settings["cpu_capability"] == torch.backends.cpu.get_cpu_capability() and settings["cpu"]
    assert one["environment"]["opencv"]
    again, weights_again = _run(dataset, tmp_path / "again", "--threads", "1", "--workers", "2")
    assert again["best_miou"] == one["best_miou"]
    assert all(torch.equal(weights_one[k], weights_again[k]) for k in weights_one)  # workers change nothing
    two, _ = _run(dataset, tmp_path / "two", "--threads", "2", "--no-deterministic", "--workers", "0")
    assert two["environment"]["torch_settings"]["threads"] == 2
    assert two["environment"]["torch_settings"]["deterministic_algorithms"] is False


def test_settings_hold_inside_the_block_and_are_restored_after():
    before = torch_settings()
    with reproducible(threads=1, deterministic=True) as inside:
        assert inside["threads"] == torch.get_num_threads() == 1
        assert torch.are_deterministic_algorithms_enabled() and torch.is_deterministic_algorithms_warn_only_enabled()
        assert torch.backends.cudnn.deterministic and not torch.backends.cudnn.benchmark
    assert torch_settings() == before
    with reproducible(threads=None, deterministic=False) as untouched:
        assert untouched == before


def test_default_threads_honour_omp_num_threads(monkeypatch):
    from samcl.training.loop import default_threads

    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "1")
    assert default_threads() == 1  # tests and busy machines ask for one thread: a run must not take the cores
    monkeypatch.delenv("OMP_NUM_THREADS")
    assert default_threads() == max(1, os.cpu_count() or 1)
    monkeypatch.setenv("LOCAL_WORLD_SIZE", str(2 * (os.cpu_count() or 1)))
    assert default_threads() == 1
