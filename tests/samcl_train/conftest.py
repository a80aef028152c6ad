"""Small synthetic data sets and a runner for samcl-train as a real subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from tiaug.io import write_thermal_h5
from tiaug.synth import generate_faces

torch.set_num_threads(1)  # pytest-xdist: one worker per core (the runs below are subprocesses with 1 thread)

REPO = Path(__file__).resolve().parents[2]
SIZE = (64, 80)
TINY = ["--model-arg", "base_width=4", "--crop", "64x80", "--workers", "0", "--no-progress", "--device", "cpu"]


def env() -> dict[str, str]:
    return dict(os.environ, PYTHONPATH=str(REPO), OMP_NUM_THREADS="1")


def train_args(data: Path, val: Path, out: Path, *extra: str) -> list[str]:
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
    return subprocess.run(
        train_args(data, val, out, *extra), capture_output=True, text=True, env=env(), timeout=timeout
    )


@pytest.fixture(scope="session")
def dataset(tmp_path_factory) -> tuple[Path, Path]:
    """(train.h5 with 48 faces, val.h5 with 12 faces) at 64x80."""
    folder = tmp_path_factory.mktemp("data")
    train, val = folder / "train.h5", folder / "val.h5"
    faces = generate_faces(48, *SIZE, seed=1)
    write_thermal_h5(train, faces.images, faces.masks)
    faces = generate_faces(12, *SIZE, seed=2)
    write_thermal_h5(val, faces.images, faces.masks)
    return train, val
