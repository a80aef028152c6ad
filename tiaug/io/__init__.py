"""Thermal datasets on disk, in three subpackages and a dataset class:

- :mod:`tiaug.io.h5`: the HDF5 data contract (reader, writer, codecs, direct row writes) and whole-or-nothing
  outputs (``atomic``), which any tool writing a file uses;
- :mod:`tiaug.io.readers`: camera files (FLIR, TC001, Lepton, arrays) as frames in degrees Celsius;
- :mod:`tiaug.io.importers`: folders, recordings and the Thermal Face Database into the HDF5 contract.

Reading (validating, streaming)::

    with open_thermal("in.h5") as r:              # refuses missing keys, wrong units, RGB, shape mismatch
        for batch in r.iter_batches(64):           # NaN/inf checked per batch; memory = one batch
            batch.images, batch.masks, batch.index

Writing (whole-or-nothing, appending in batches)::

    with create_thermal_h5("out.h5", H, W, inputs=["in.h5"], overwrite=False) as w:
        w.add_column("source_index", np.int64)
        w.add_column("tiaug/params", JSON)
        w.append(images, masks, extra={"source_index": idx, "tiaug/params": [dict(...), ...]})

``atomic_output`` / ``atomic_h5`` / ``atomic_folder`` give the same guarantee to any other file or folder.
"""

from __future__ import annotations

from tiaug._lazy import lazy_exports

#: public name -> the submodule defining it, imported on first use (PEP 562): `import tiaug.io.errors` or the
#: command line's start do not load h5py
_EXPORTS = {
    **dict.fromkeys(("OutputPathError", "ThermalDataError", "TiaugIOError"), "errors"),
    **dict.fromkeys(("COMPRESSIONS", "DEFAULT_COMPRESSION"), "h5.codecs"),
    **dict.fromkeys(
        (
            "DEFAULT_CLASSES",
            "UNITS",
            "ThermalBatch",
            "ThermalH5Reader",
            "open_thermal",
            "read_thermal_h5",
            "validate_file",
        ),
        "h5.reader",
    ),
    **dict.fromkeys(("JSON", "STR", "ThermalH5Writer", "create_thermal_h5", "write_thermal_h5"), "h5.writer"),
    **dict.fromkeys(
        ("atomic_folder", "atomic_h5", "atomic_output", "atomic_outputs", "check_output_path"), "h5.atomic"
    ),
    "ThermalH5Dataset": "dataset",
}

__all__ = sorted(_EXPORTS)


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
