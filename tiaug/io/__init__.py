"""Thermal datasets on disk: HDF5 read/write, whole-or-nothing outputs, importers, a dataset class.

Reading (validating, streaming)::

    with open_thermal("in.h5") as r:              # refuses missing keys, wrong units, RGB, shape mismatch
        for batch in r.iter_batches(64):           # NaN/inf checked per batch; memory = one batch
            batch.images, batch.masks, batch.index

Writing (whole-or-nothing, appending in batches)::

    with create_thermal_h5("out.h5", H, W, inputs=["in.h5"], overwrite=False) as w:
        w.add_column("source_index", np.int64)
        w.add_column("tiaug/params", JSON)
        w.append(images, masks, extra={"source_index": idx, "tiaug/params": [dict(...), ...]})

``atomic_output`` / ``atomic_h5`` give the same guarantee to any other file.
"""

from __future__ import annotations

import importlib
from typing import Any

#: public name -> the submodule defining it, imported on first use (PEP 562): `import tiaug.io.errors` or the
#: command line's start do not load h5py and OpenCV
_EXPORTS = {
    "CODECS": "codecs",
    "DEFAULT_CODEC": "codecs",
    "DEFAULT_CLASSES": "h5",
    "JSON": "h5",
    "OutputPathError": "errors",
    "STR": "h5",
    "ThermalBatch": "h5",
    "ThermalDataError": "errors",
    "ThermalH5Dataset": "dataset",
    "ThermalH5Reader": "h5",
    "ThermalH5Writer": "h5",
    "TiaugIOError": "errors",
    "UNITS": "h5",
    "atomic_h5": "atomic",
    "atomic_output": "atomic",
    "atomic_outputs": "atomic",
    "check_output_path": "atomic",
    "create_thermal_h5": "h5",
    "open_thermal": "h5",
    "read_thermal_h5": "h5",
    "validate_file": "h5",
    "write_thermal_h5": "h5",
}

__all__ = [
    "CODECS",
    "DEFAULT_CLASSES",
    "DEFAULT_CODEC",
    "JSON",
    "STR",
    "UNITS",
    "OutputPathError",
    "ThermalBatch",
    "ThermalDataError",
    "ThermalH5Dataset",
    "ThermalH5Reader",
    "ThermalH5Writer",
    "TiaugIOError",
    "atomic_h5",
    "atomic_output",
    "atomic_outputs",
    "check_output_path",
    "create_thermal_h5",
    "open_thermal",
    "read_thermal_h5",
    "validate_file",
    "write_thermal_h5",
]


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'tiaug.io' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"tiaug.io.{_EXPORTS[name]}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})
