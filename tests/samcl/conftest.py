"""Shared fixtures for the samcl tests (these need torch; tiaug's tests never import this): random batches,
a tiny trained U-Net checkpoint and small thermal files."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from samcl.artifacts.checkpoint import load_checkpoint, model_from_checkpoint, normalization_of, save_checkpoint
from samcl.inference.predictor import predict_labels
from samcl.models import build_model
from tiaug.io import DEFAULT_CLASSES, write_thermal_h5
from tiaug.synth import generate_faces

torch.set_num_threads(1)  # pytest-xdist: one worker per core

REPO = Path(__file__).resolve().parents[2]
CLASSES = list(DEFAULT_CLASSES)
SIZE = (32, 40)  # not a multiple of the U-Net's 16: exercises padding and cropping back
NORMALIZATION = {"mean": 27.0, "std": 5.0}


def sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def listing(folder: Path) -> list[str]:
    """Every path under ``folder`` (hidden ones included), relative, sorted."""
    return sorted(str(p.relative_to(folder)) for p in Path(folder).rglob("*"))


def checkpoint_payload(state: dict, *, kwargs: dict | None = None, classes: list[str] | None = None) -> dict:
    classes = CLASSES if classes is None else classes
    return {
        "model": {"name": "unet", "kwargs": kwargs or {"base_width": 4}, "num_classes": len(classes), "in_channels": 1},
        "classes": classes,
        "ignore_index": 255,
        "normalization": dict(NORMALIZATION),
        "input_size": [32, 48],
        "model_state": state,
        "iteration": 40,
        "config": {},
    }


@pytest.fixture(scope="session")
def trained_state() -> dict:
    """A tiny U-Net (base width 4) trained for 40 Adam steps on synthetic faces: it finds background and skin,
    so occlusion has something to break (about 0.6 s)."""
    faces = generate_faces(8, 32, 48, seed=5)
    torch.manual_seed(0)
    model = build_model("unet", num_classes=len(CLASSES), base_width=4)
    x = torch.from_numpy((faces.images - NORMALIZATION["mean"]) / NORMALIZATION["std"]).unsqueeze(1)
    y = torch.from_numpy(faces.masks).long()
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(40):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
    return {k: v.clone() for k, v in model.state_dict().items()}


@pytest.fixture
def checkpoint(tmp_path, trained_state) -> Path:
    path = tmp_path / "ckpt" / "best.pt"
    save_checkpoint(path, checkpoint_payload(trained_state))
    return path


@pytest.fixture(scope="session")
def faces():
    return generate_faces(6, *SIZE, seed=11)


@pytest.fixture
def test_h5(tmp_path, faces) -> Path:
    path = tmp_path / "data" / "test.h5"
    path.parent.mkdir()
    write_thermal_h5(path, faces.images, faces.masks)
    return path


def reference_labels(checkpoint: Path, images: np.ndarray) -> np.ndarray:
    """What the checkpoint predicts, computed without the commands."""
    payload = load_checkpoint(checkpoint)
    model = model_from_checkpoint(payload).eval()
    return predict_labels(model, images, normalization_of(payload))


@pytest.fixture
def invoke():
    """Run a click command in-process: invoke(command, *args) -> click Result."""
    runner = CliRunner()

    def run(command, *args):
        return runner.invoke(command, [str(a) for a in args], catch_exceptions=False)

    return run


def run_module(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """``python -m samcl.cli ARGS`` in a real subprocess, this checkout first on PYTHONPATH."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env["OMP_NUM_THREADS"] = "1"
    return subprocess.run(
        [sys.executable, "-m", "samcl.cli", *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
    )


@pytest.fixture
def rng():
    g = torch.Generator().manual_seed(1234)
    return g


def random_batch(b=2, c=4, h=32, w=40, ignore_frac=0.1, seed=0, ignore_index=255):
    """Random logits (B, C, H, W) and targets (B, H, W) with a fraction of ignored pixels."""
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(b, c, h, w, generator=g)
    target = torch.randint(0, c, (b, h, w), generator=g)
    if ignore_frac > 0:
        target[torch.rand(b, h, w, generator=g) < ignore_frac] = ignore_index
    return logits, target
