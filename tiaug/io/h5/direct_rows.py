"""Whole rows written straight to disk: preallocated, uncompressed one-row chunks filled with ``O_DIRECT`` writes.

Writing through the page cache costs the kernel a copy and its bookkeeping for every byte; for uncompressed
float32 faces that, not the disk, can limit ``tiaug augment`` (``benchmarks/README.md``, section 2). When the number
of rows is known in advance, :class:`tiaug.io.ThermalH5Writer` allocates every chunk of ``images`` and ``masks``
when it creates them (the file stays a plain HDF5 file: same datasets, shapes, chunks and values), and
:class:`DirectRows` writes each batch's rows into those chunks' bytes with ``pwrite`` on a file descriptor opened
with ``O_DIRECT``. HDF5 never writes these chunks itself, so nothing it holds goes stale.

``O_DIRECT`` wants file offsets, lengths and memory aligned to the device's block size (:data:`ALIGNMENT` covers
every common one). Where that cannot hold (rows whose size is not a multiple of it, compressed chunks, a system
without ``O_DIRECT``, a file system that refuses it, a file HDF5 holds through another driver than its default
``sec2``, e.g. in memory), :meth:`DirectRows.open` gives None, or
:meth:`DirectRows.write` gives False, and the writer writes the rows through HDF5 as before.
"""

from __future__ import annotations

import errno
import itertools
import mmap
import os
from typing import Any

import h5py
import numpy as np

#: bytes: file offsets, lengths and buffers of O_DIRECT writes are multiples of this (4 KiB sectors and pages)
ALIGNMENT = 4096
#: ``h5py.File`` keyword arguments placing every object of ALIGNMENT bytes or more at a multiple of ALIGNMENT
FILE_ALIGNMENT = {"alignment_threshold": ALIGNMENT, "alignment_interval": ALIGNMENT}
#: bytes staged per write when the rows' memory is not aligned (numpy's own allocations are not)
_STAGING_BYTES = 8 << 20
# errors that mean "this file system or device does not take O_DIRECT writes like this": fall back to HDF5
_REFUSED = {errno.EINVAL, errno.EOPNOTSUPP, errno.ENOTSUP}


def preallocated_chunks() -> dict[str, Any]:
    """``create_dataset`` keyword arguments allocating every chunk at creation and never writing fill values."""
    dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
    dcpl.set_alloc_time(h5py.h5d.ALLOC_TIME_EARLY)
    return {"dcpl": dcpl, "fill_time": "never"}


def _chunk_offsets(dataset: h5py.Dataset) -> np.ndarray | None:
    """Byte offset in the file of each row's chunk (int64, one per row), or None if any chunk is not allocated
    (or this h5py cannot tell: ``chunk_iter`` needs HDF5 1.12.3+, ``get_chunk_info`` 1.10.5+)."""
    offsets = np.full(dataset.shape[0], -1, dtype=np.int64)

    def visit(info: Any) -> None:
        offsets[info.chunk_offset[0]] = info.byte_offset

    if hasattr(dataset.id, "chunk_iter"):
        dataset.id.chunk_iter(visit)
    elif hasattr(dataset.id, "get_chunk_info"):
        for index in range(dataset.id.get_num_chunks()):
            visit(dataset.id.get_chunk_info(index))
    else:
        return None
    return None if (offsets < 0).any() else offsets


class DirectRows:
    """Writes whole rows of one preallocated dataset (uncompressed, one row per chunk) past the page cache.

    ``write(start, rows)`` puts rows (B, ...) at rows ``start .. start + B - 1``: one ``pwrite`` per run of chunks
    that lie end to end in the file. Close it before the HDF5 file is closed.
    """

    def __init__(self, fd: int, offsets: np.ndarray, row_bytes: int) -> None:
        self._fd: int | None = fd
        self.offsets = offsets
        self.row_bytes = row_bytes
        self._rows_per_write = max(1, _STAGING_BYTES // row_bytes)
        self._staging: mmap.mmap | None = None  # page-aligned, made on first unaligned write

    @classmethod
    def open(cls, dataset: h5py.Dataset) -> DirectRows | None:
        """A writer for ``dataset``'s rows, or None when they cannot go straight to disk (see the module doc)."""
        direct = getattr(os, "O_DIRECT", None)
        row_bytes = dataset.dtype.itemsize * int(np.prod(dataset.shape[1:]))
        if (
            direct is None
            or dataset.file.driver != "sec2"  # the default: HDF5 writes the file itself, not a copy held elsewhere
            or dataset.id.get_create_plist().get_nfilters()  # any filter, compression or other
            or dataset.chunks != (1, *dataset.shape[1:])
            or row_bytes % ALIGNMENT
        ):
            return None
        offsets = _chunk_offsets(dataset)
        if offsets is None or (offsets % ALIGNMENT).any():
            return None
        try:
            fd = os.open(dataset.file.filename, os.O_WRONLY | direct)
        except OSError as error:
            if error.errno in _REFUSED:
                return None
            raise
        return cls(fd, offsets, row_bytes)

    def write(self, start: int, rows: np.ndarray) -> bool:
        """Write ``rows`` (B, ...) of the dataset's dtype and row shape at row ``start``; False when the file system
        refused the direct write (nothing to rely on was written; write the rows another way from then on)."""
        if self._fd is None:
            return False
        data = np.ascontiguousarray(rows).reshape(len(rows), self.row_bytes // rows.itemsize)
        offsets = self.offsets[start : start + len(data)]
        breaks = np.flatnonzero(np.diff(offsets) != self.row_bytes) + 1
        bounds = [0, *breaks.tolist(), len(data)]
        try:
            for a, z in itertools.pairwise(bounds):
                for first in range(a, z, self._rows_per_write):
                    last = min(z, first + self._rows_per_write)
                    self._pwrite(data[first:last], int(offsets[first]))
        except OSError as error:
            if error.errno not in _REFUSED:
                raise
            self.close()
            return False
        return True

    def _pwrite(self, block: np.ndarray, offset: int) -> None:
        view = block.data.cast("B")
        if block.ctypes.data % ALIGNMENT:  # stage through page-aligned memory
            if self._staging is None:
                self._staging = mmap.mmap(-1, self._rows_per_write * self.row_bytes)
            staged = memoryview(self._staging)[: view.nbytes]
            staged[:] = view
            view = staged
        done = 0
        assert self._fd is not None, "written after close"
        while done < view.nbytes:  # pwrite may write less than asked
            done += os.pwrite(self._fd, view[done:], offset + done)

    def close(self) -> None:
        """Close the file descriptor (idempotent); data written so far stays written."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        self._staging = None  # freed with its last view (a traceback may still hold one)
