"""Fixtures for the samcl tests (they need torch; tiaug's tests never import this): a tiny trained U-Net
checkpoint and small thermal files."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from samcl.artifacts.checkpoint import save_checkpoint
from samcl.models import build_model
from tests.helpers.checkpoints import CLASSES, NORMALIZATION, checkpoint_payload
from tiaug.io import write_thermal_h5
from tiaug.synth import generate_faces

torch.set_num_threads(1)  # pytest-xdist: one worker per core

SIZE = (32, 40)  # (height, width): not a multiple of the U-Net's 16, so padding and cropping back are exercised


@pytest.fixture(scope="session")
def trained_state() -> dict:
    """A tiny U-Net (base width 4) trained for 40 Adam steps on synthetic faces: it finds background and skin,
    so occlusion has something to break."""
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
    """Six small synthetic faces at ``SIZE`` (shared, read-only)."""
    return generate_faces(6, *SIZE, seed=11)


@pytest.fixture
def test_h5(tmp_path, faces) -> Path:
    path = tmp_path / "data" / "test.h5"
    path.parent.mkdir()
    write_thermal_h5(path, faces.images, faces.masks)
    return path
