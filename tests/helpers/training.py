"""Running samcl-train in the tests: tiny settings, command lines, flags from keyword arguments, a subprocess, two
processes under torchrun, and a run killed and resumed compared with a straight one."""

from __future__ import annotations

import csv
import signal
import subprocess
import sys
from pathlib import Path

import torch

from samcl.artifacts.checkpoint import load_checkpoint, model_from_checkpoint, normalization_of
from samcl.inference.predictor import evaluate_batches
from tests.helpers.processes import env, stop_group, wait_for
from tiaug.io import open_thermal

SIZE = (64, 80)  # (height, width) of the training images, in pixels
TINY = ["--model-arg", "base_width=4", "--crop", "64x80", "--workers", "0", "--no-progress", "--device", "cpu"]


def train_args(data: Path, val: Path, out: Path, *extra: str) -> list[str]:
    """The command line of ``python -m samcl.cli.train_cmd`` with the tiny settings and ``extra`` flags."""
    return [
        sys.executable,
        "-m",
        "samcl.cli.train_cmd",
        "--data",
        str(data),
        "--val",
        str(val),
        "--out",
        str(out),
        *TINY,
        *extra,
    ]


def flags(**options: object) -> list[str]:
    """Command-line flags from keyword arguments: ``batch_size=8`` -> ``--batch-size 8``; True -> ``--name``,
    False -> ``--no-name``."""
    out: list[str] = []
    for name, value in options.items():
        flag = name.replace("_", "-")
        out += [f"--{flag}"] if value is True else [f"--no-{flag}"] if value is False else [f"--{flag}", str(value)]
    return out


def run_train(data: Path, val: Path, out: Path, *extra: str, timeout: float = 300) -> subprocess.CompletedProcess:
    """``samcl-train`` on ``data`` and ``val`` into ``out`` with the tiny settings, as a real subprocess."""
    return subprocess.run(
        train_args(data, val, out, *extra), capture_output=True, text=True, env=env(), timeout=timeout
    )


def val_miou(payload: dict, val: Path) -> float:
    """The mIoU of the checkpoint ``payload`` over the whole validation file ``val``."""
    model = model_from_checkpoint(payload)
    with open_thermal(val) as reader:
        batch = reader.read_batch(0, reader.n)
    matrix = evaluate_batches(model, [(batch.images, batch.masks)], normalization_of(payload), 6)
    return matrix.miou()


def run_state(path: Path) -> dict:
    """What a bit-identical resume must reproduce of the checkpoint at ``path``: weights, add-ons, optimizer, step."""
    payload = load_checkpoint(path)
    return {
        "model": payload["model_state"],
        "addons": _addon_tensors(payload["train_state"]["addons"]),
        "optimizer": payload["train_state"]["optimizer"]["state"],
        "iteration": payload["iteration"],
    }


def _addon_tensors(addons: dict) -> dict:
    """Every add-on's tensors (parameters, buffers, generator states) under one key each."""
    flat = {}
    for name, state in addons.items():
        for key, value in state.items():
            values = value.items() if isinstance(value, dict) else [("", value)]
            flat.update({f"{name}.{key}.{sub}": v for sub, v in values if torch.is_tensor(v)})
    return flat


def assert_same_state(a: dict, b: dict) -> None:
    """Two :func:`run_state` results are equal, tensor for tensor."""
    assert a["iteration"] == b["iteration"]
    for part in ("model", "addons"):
        assert a[part].keys() == b[part].keys()
        for key in a[part]:
            assert torch.equal(a[part][key], b[part][key]), (part, key)
    for index, state in a["optimizer"].items():
        assert torch.equal(state["momentum_buffer"], b["optimizer"][index]["momentum_buffer"])


def straight_and_resumed(train, val, tmp_path, args: tuple[str, ...], kill_at: int) -> tuple:
    """Run ``samcl-train ARGS`` straight through, and again killed (SIGKILL) once its last.pt reaches step
    ``kill_at`` then resumed with ``--resume``; check that both end with the same state, bit for bit.

    Returns (straight run folder, killed-and-resumed run folder, the step the killed run was stopped at).
    """
    iters = int(args[args.index("--iters") + 1])
    straight = tmp_path / "straight"
    res = run_train(train, val, straight, *args)
    assert res.returncode == 0, res.stderr

    killed = tmp_path / "killed"
    proc = subprocess.Popen(
        train_args(train, val, killed, *args), env=env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        wait_for(
            lambda: (killed / "last.pt").exists() and load_checkpoint(killed / "last.pt")["iteration"] >= kill_at,
            proc,
            f"a checkpoint at step {kill_at}",
            timeout=240,
        )
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        stop_group(proc)
    assert proc.returncode == -signal.SIGKILL
    stopped_at = load_checkpoint(killed / "last.pt")["iteration"]
    assert kill_at <= stopped_at < iters
    resume = [*train_args(train, val, killed)[:3], "--resume", str(killed), "--no-progress", "--workers", "0"]
    res = subprocess.run(resume, capture_output=True, text=True, env=env(), timeout=300)
    assert res.returncode == 0, res.stderr
    assert_same_state(run_state(straight / "last.pt"), run_state(killed / "last.pt"))
    rows = [int(r["iteration"]) for r in csv.DictReader((killed / "metrics.csv").open())]
    assert rows == sorted(set(rows)) and rows[-1] == iters  # no duplicated steps after the resume
    return straight, killed, stopped_at


def run_torchrun(train: Path, val: Path, out: Path, *extra: str) -> subprocess.CompletedProcess:
    """``samcl-train`` under ``torch.distributed.run`` with two processes and the tiny settings."""
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node",
        "2",
        "-m",
        "samcl.cli.train_cmd",
        "--data",
        str(train),
        "--val",
        str(val),
        "--out",
        str(out),
        *TINY,
        *extra,
    ]
    return subprocess.run(command, capture_output=True, text=True, env=env(), timeout=600)
