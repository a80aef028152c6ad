"""Running samcl-train in the tests: tiny settings, command lines, flags from keyword arguments, a subprocess."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.helpers.processes import env

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
