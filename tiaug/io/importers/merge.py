"""Combine thermal HDF5 files (e.g. several imports) into one, row after row, whole or nothing (``tiaug merge``).

Every input must have the same image size, the same class names and ignore index, and masks in all or none.
The output keeps images and masks, landmarks when every input has the same number of them, and records each
row's ``source_file`` (the input's name) and ``source_index`` (its row there); other per-row datasets of the
inputs are left out. Memory is one batch.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import numpy as np

from tiaug.io.errors import ThermalDataError
from tiaug.io.h5.atomic import PathLike, check_output_path
from tiaug.io.h5.codecs import DEFAULT_COMPRESSION
from tiaug.io.h5.reader import ThermalH5Reader, open_thermal
from tiaug.io.h5.writer import STR, create_thermal_h5


def _same(readers: Sequence[ThermalH5Reader], what: str, value: Callable[[ThermalH5Reader], object]) -> None:
    """Refuse inputs whose ``value`` differs from the first one's, naming both files."""
    first = value(readers[0])
    for r in readers[1:]:
        if value(r) != first:
            raise ThermalDataError(r.path, None, f"{what} {value(r)} differs from {readers[0].path}'s {first}")


def merge_h5(
    inputs: Sequence[PathLike],
    out: PathLike,
    *,
    overwrite: bool = False,
    compression: str | None = DEFAULT_COMPRESSION,
    batch_size: int = 64,
) -> dict[str, int]:
    """Write the rows of every file of ``inputs``, in order, to ``out``; return {input name: rows}."""
    if len(inputs) < 2:
        raise ValueError(f"merge needs at least two input files, got {len(inputs)}")
    check_output_path(out, overwrite=overwrite, inputs=inputs)  # before anything is read
    with contextlib.ExitStack() as stack:
        readers = [stack.enter_context(open_thermal(p)) for p in inputs]
        _same(readers, "image size", lambda r: (r.height, r.width))
        _same(readers, "classes", lambda r: list(r.classes))
        _same(readers, "ignore index", lambda r: r.ignore_index)
        _same(readers, "masks:", lambda r: "yes" if r.has_masks else "no")
        counts = {r.file["landmarks"].shape[1] if r.has_landmarks else None for r in readers}
        landmarks = counts.pop() if len(counts) == 1 else None
        first = readers[0]
        attrs = {"tiaug/merge": {"inputs": [Path(p).name for p in inputs], "rows": [r.n for r in readers]}}
        with create_thermal_h5(
            out,
            first.height,
            first.width,
            overwrite=overwrite,
            inputs=inputs,
            masks=first.has_masks,
            landmarks=landmarks,
            classes=first.classes,
            compression=compression,
            attrs=attrs,
            ignore_index=first.ignore_index,
            rows=sum(r.n for r in readers),
        ) as writer:
            writer.add_column("source_file", STR)
            writer.add_column("source_index", np.int64)
            for r in readers:
                for batch in r.iter_batches(batch_size):
                    n = len(batch.index)
                    extra: dict[str, Iterable[object]] = {"source_file": [r.path.name] * n, "source_index": batch.index}
                    writer.append(batch.images, batch.masks, batch.landmarks if landmarks else None, extra)
    return {Path(p).name: r.n for p, r in zip(inputs, readers, strict=True)}
