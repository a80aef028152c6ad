"""Fixtures for the data tests: small synthetic files, bad input files, CLI runners."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest
from click.testing import CliRunner

from tiaug.cli import main
from tiaug.io import write_thermal_h5
from tiaug.synth import generate_faces

REPO = Path(__file__).resolve().parents[2]
SIZE = (48, 60)  # tiny images keep the I/O and CLI tests fast


def sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def run_module(*args: str, timeout: float = 120, **kwargs) -> subprocess.CompletedProcess:
    """Run ``python -m tiaug ARGS`` in a real subprocess with this checkout on PYTHONPATH."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return subprocess.run(
        [sys.executable, "-m", "tiaug", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        **kwargs,
    )


@pytest.fixture
def cli():
    """Invoke the click group in-process; returns the click Result."""
    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(main, [str(a) for a in args], catch_exceptions=False)

    return invoke


@pytest.fixture(scope="session")
def faces():
    """Eight small synthetic faces (shared, read-only)."""
    return generate_faces(8, *SIZE, seed=3)


@pytest.fixture
def good_h5(tmp_path, faces) -> Path:
    path = tmp_path / "good.h5"
    write_thermal_h5(path, faces.images, faces.masks, landmarks=faces.landmarks)
    return path


def _write_raw(path: Path, datasets: dict, attrs: dict | None = None) -> Path:
    with h5py.File(path, "w") as f:
        for k, v in datasets.items():
            f.create_dataset(k, data=v)
        for k, v in (attrs or {}).items():
            f.attrs[k] = v
    return path


@pytest.fixture
def bad_h5(tmp_path, faces):
    """Factory of the bad inputs named in the design notes: (path, words the error message must contain)."""
    img, msk = faces.images[:4], faces.masks[:4]
    units = {
        "units": "degC",
        "classes": json.dumps(["background", "skin", "mouth", "eyes", "eyebrows", "nose"]),
    }
    nan = img.copy()
    nan[3, 5, 7] = np.nan
    cases = {
        "integer_no_units": (
            {"images": (img * 100).astype(np.uint16), "masks": msk},
            {},
            ["integer", "units"],
        ),
        "nan_pixels": ({"images": nan, "masks": msk}, units, ["nan", "row 3"]),
        "inf_pixels": (
            {"images": np.where(msk > 0, np.inf, img).astype(np.float32), "masks": msk},
            units,
            ["infinite"],
        ),
        "rgb": ({"images": np.repeat(img[..., None], 3, axis=3), "masks": msk}, units, ["rgb"]),
        "mask_shape": ({"images": img, "masks": msk[:, :-2]}, units, ["masks", "shape"]),
        "missing_images": ({"temperatures": img, "masks": msk}, units, ["images", "missing"]),
        "empty": (
            {"images": np.zeros((0, *SIZE), np.float32), "masks": np.zeros((0, *SIZE), np.uint8)},
            units,
            ["empty"],
        ),
        "kelvin": ({"images": img + np.float32(273.15), "masks": msk}, {"units": "K"}, ["units", "273.15"]),
    }

    def make(name: str) -> tuple[Path, list[str]]:
        data, attrs, words = cases[name]
        return _write_raw(tmp_path / f"{name}.h5", data, attrs), words

    make.names = sorted(cases)
    return make
