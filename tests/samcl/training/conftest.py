"""Fixtures local to the samcl-train tests: a small synthetic training and validation set, a configuration on it."""

from __future__ import annotations

from pathlib import Path

import pytest

from samcl.training.config import TrainConfig
from tests.helpers.training import SIZE
from tiaug.io import write_thermal_h5
from tiaug.synth import generate_faces


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


@pytest.fixture
def config(dataset) -> TrainConfig:
    """samcl-train's defaults on :func:`dataset`, 48x64 crops, seed 3 (for the data-loading tests)."""
    train, val = dataset
    return TrainConfig(data=str(train), val=str(val), out="unused", crop=(48, 64), seed=3)
