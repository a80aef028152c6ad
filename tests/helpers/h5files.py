"""Small HDF5 inputs for the tiaug tests: the image size they share and raw files that skip the writer's checks."""

from __future__ import annotations

from pathlib import Path

import h5py

SIZE = (48, 60)  # (height, width) in pixels: tiny images keep the I/O and CLI tests fast


def write_raw_h5(path: Path, datasets: dict, attrs: dict | None = None) -> Path:
    """Write ``datasets`` and file ``attrs`` exactly as given (bad inputs included) and return ``path``."""
    with h5py.File(path, "w") as f:
        for key, value in datasets.items():
            f.create_dataset(key, data=value)
        for key, value in (attrs or {}).items():
            f.attrs[key] = value
    return path
