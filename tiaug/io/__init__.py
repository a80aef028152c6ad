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

from tiaug.io.atomic import atomic_folder, atomic_h5, atomic_output, atomic_outputs, check_output_path
from tiaug.io.dataset import ThermalH5Dataset
from tiaug.io.errors import OutputPathError, ThermalDataError, TiaugIOError
from tiaug.io.h5_reader import (
    DEFAULT_CLASSES,
    UNITS,
    ThermalBatch,
    ThermalH5Reader,
    open_thermal,
    read_thermal_h5,
    validate_file,
)
from tiaug.io.h5_writer import JSON, STR, ThermalH5Writer, create_thermal_h5, write_thermal_h5

__all__ = [
    "DEFAULT_CLASSES",
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
    "atomic_folder",
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
