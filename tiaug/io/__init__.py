"""Thermal datasets on disk: HDF5 reading (``h5_reader``) and writing (``h5_writer``), whole-or-nothing outputs,
importers, a dataset class.

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
    "COMPRESSIONS": "codecs",
    "DEFAULT_CLASSES": "h5_reader",
    "DEFAULT_COMPRESSION": "codecs",
    "JSON": "h5_writer",
    "OutputPathError": "errors",
    "STR": "h5_writer",
    "ThermalBatch": "h5_reader",
    "ThermalDataError": "errors",
    "ThermalH5Dataset": "dataset",
    "ThermalH5Reader": "h5_reader",
    "ThermalH5Writer": "h5_writer",
    "TiaugIOError": "errors",
    "UNITS": "h5_reader",
    "atomic_folder": "atomic",
    "atomic_h5": "atomic",
    "atomic_output": "atomic",
    "atomic_outputs": "atomic",
    "check_output_path": "atomic",
    "create_thermal_h5": "h5_writer",
    "open_thermal": "h5_reader",
    "read_thermal_h5": "h5_reader",
    "validate_file": "h5_reader",
    "write_thermal_h5": "h5_writer",
}

__all__ = sorted(_EXPORTS)


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
