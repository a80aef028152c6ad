"""Small HDF5 inputs for the tiaug tests: the image size they share, raw files that skip the writer's checks, and
the words the CLI must say about each bad file of the ``bad_h5`` fixture."""

from __future__ import annotations

from pathlib import Path

import h5py

SIZE = (48, 60)  # (height, width) in pixels: tiny images keep the I/O and CLI tests fast

BAD_WORDS_CLI = {  # bad_h5 case -> words the CLI message must contain, beyond the file name
    "integer_no_units": ["integer", "units"],
    "nan_pixels": ["NaN"],
    "inf_pixels": ["infinite"],
    "rgb": ["RGB"],
    "mask_shape": ["masks", "does not match"],
    "missing_images": ["images", "missing"],
    "empty": ["empty"],
    "kelvin": ["units", "273.15"],
}


def write_raw_h5(path: Path, datasets: dict, attrs: dict | None = None) -> Path:
    """Write ``datasets`` and file ``attrs`` exactly as given (bad inputs included) and return ``path``."""
    with h5py.File(path, "w") as f:
        for key, value in datasets.items():
            f.create_dataset(key, data=value)
        for key, value in (attrs or {}).items():
            f.attrs[key] = value
    return path
