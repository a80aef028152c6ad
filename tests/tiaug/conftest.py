"""Fixtures local to the tiaug tests: small synthetic faces and good and bad HDF5 files made from them."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tests.helpers.h5files import SIZE, write_raw_h5
from tiaug.io import write_thermal_h5
from tiaug.synth import generate_faces


@pytest.fixture(scope="session")
def faces():
    """Eight small synthetic faces (shared, read-only)."""
    return generate_faces(8, *SIZE, seed=3)


@pytest.fixture
def good_h5(tmp_path, faces) -> Path:
    path = tmp_path / "good.h5"
    write_thermal_h5(path, faces.images, faces.masks, landmarks=faces.landmarks)
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
        return write_raw_h5(tmp_path / f"{name}.h5", data, attrs), words

    make.names = sorted(cases)
    return make
