"""HDF5 thermal datasets: an appending writer for the data contract (see :mod:`.reader`), whole or nothing.

Every dataset is chunked one row per chunk (small per-row values: about 64 KiB per chunk), so writing a batch
touches only that batch and memory stays flat whatever the file size. When the number of rows is known in advance
(``rows=``), uncompressed images and masks go straight to disk, past the page cache (:mod:`tiaug.io.h5.direct_rows`).
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import h5py
import numpy as np

from tiaug.io.h5.atomic import PathLike, atomic_h5
from tiaug.io.h5.codecs import dataset_filters
from tiaug.io.h5.direct_rows import FILE_ALIGNMENT, DirectRows, preallocated_chunks
from tiaug.io.h5.reader import DEFAULT_CLASSES, UNITS
from tiaug.validation import check_finite_rows, check_float_pixels, check_labels

JSON = "json"  # dtype marker for ``ThermalH5Writer.add_column``: one JSON string per row
STR = "str"  # dtype marker for ``ThermalH5Writer.add_column``: one UTF-8 string per row


class ThermalH5Writer:
    """Append rows to the contract datasets of an HDF5 file open for writing (normally a temporary file).

    Rows are appended in batches (``append``); every dataset grows together, chunked one row per chunk.
    Extra per-row datasets are declared with ``add_column`` (``JSON`` for one JSON string per row, or a numpy
    dtype). ``finish()`` checks every dataset got the same number of rows. Prefer ``create_thermal_h5``,
    which also makes the output whole-or-nothing.

    ``rows``, when the final number of rows is known, preallocates ``images`` and ``masks`` at that many rows
    (``finish()`` then insists on exactly that many) and, uncompressed, writes them past the page cache.
    """

    def __init__(
        self,
        file: h5py.File,
        height: int,
        width: int,
        *,
        masks: bool = True,
        landmarks: int | None = None,
        classes: Sequence[str] = DEFAULT_CLASSES,
        compression: str | None = None,
        attrs: Mapping[str, Any] | None = None,
        ignore_index: int | None = None,
        rows: int | None = None,
    ) -> None:
        if height < 1 or width < 1:
            raise ValueError(f"image size must be positive, got {height}x{width}")
        if rows is not None and rows < 0:
            raise ValueError(f"rows must be >= 0, got {rows}")
        self.file = file
        self.rows = rows
        self.height, self.width = int(height), int(width)
        self.classes = tuple(classes)
        self.ignore_index = ignore_index
        self._filters = dataset_filters(compression)  # see tiaug.io.h5.codecs
        self.n = 0
        self._columns: dict[str, str] = {}  # key -> "array", JSON or STR
        self._datasets: dict[str, h5py.Dataset] = {}  # the handles create_dataset returned, not looked up per append
        self._direct: dict[str, DirectRows | None] = {}  # preallocated datasets (rows=) -> their direct writer
        try:
            self._make("images", np.float32, (self.height, self.width))
            if masks:
                self._make("masks", np.uint8, (self.height, self.width))
            if landmarks is not None:
                self._make("landmarks", np.float32, (int(landmarks), 2))
            file.attrs["classes"] = json.dumps(list(self.classes))
            file.attrs["units"] = UNITS
            if ignore_index is not None:
                file.attrs["ignore_index"] = int(ignore_index)
            for k, v in (attrs or {}).items():
                self.set_attr(k, v)
        except BaseException:
            self.close()  # the direct writers' descriptors, when a later step fails
            raise

    def _make(self, key: str, dtype: Any, row_shape: tuple[int, ...]) -> None:
        if key in self._columns or key in self.file:
            raise ValueError(f"dataset {key!r} already exists")
        if isinstance(dtype, str) and dtype in (JSON, STR):
            self._datasets[key] = self.file.create_dataset(
                key, shape=(0,), maxshape=(None,), dtype=h5py.string_dtype("utf-8"), chunks=(1024,)
            )
            self._columns[key] = dtype
            return
        row_shape = tuple(int(v) for v in row_shape)
        row_bytes = max(1, int(np.prod(row_shape)) * np.dtype(dtype).itemsize)
        # images and masks: one row per chunk (a training read of one row touches one chunk), always written
        # whole, so they skip HDF5's chunk cache (one copy less: 1 byte, as h5py ignores 0); small per-row
        # values: chunks of about 64 KiB, cached while a batch fills them
        whole_rows = key in ("images", "masks")
        rows_per_chunk = 1 if whole_rows else max(1, (1 << 16) // row_bytes)
        preallocate = whole_rows and self.rows is not None
        self._datasets[key] = self.file.create_dataset(
            key,
            shape=(self.rows if preallocate else 0, *row_shape),
            maxshape=(None, *row_shape),
            dtype=dtype,
            chunks=(rows_per_chunk, *row_shape),
            rdcc_nbytes=1 if whole_rows else None,
            **self._filters,
            **(preallocated_chunks() if preallocate and not self._filters else {}),
        )
        if preallocate:
            self._direct[key] = DirectRows.open(self._datasets[key])
        self._columns[key] = "array"

    def add_column(self, key: str, dtype: Any, row_shape: tuple[int, ...] = ()) -> None:
        """Declare an extra per-row dataset: e.g. ``("source_index", np.int64)``, ``("tiaug/params", JSON)``.

        ``JSON`` columns take JSON strings or JSON-serialisable objects, ``STR`` columns plain strings.

        Declare columns before the first ``append``.
        """
        if self.n:
            raise ValueError(f"declare column {key!r} before appending rows")
        self._make(key, dtype, row_shape)

    def set_attr(self, key: str, value: Any) -> None:
        """Set a file attribute; dicts and lists are stored as JSON strings."""
        self.file.attrs[key] = json.dumps(value) if isinstance(value, dict | list | tuple) else value

    def append(
        self,
        images: np.ndarray,
        masks: np.ndarray | None = None,
        landmarks: np.ndarray | None = None,
        extra: Mapping[str, Iterable[Any]] | None = None,
    ) -> None:
        """Append B rows: images (B, H, W) float degrees Celsius, masks (B, H, W) int, landmarks (B, K, 2).

        ``extra`` gives one value per row for every column declared with ``add_column`` (for ``JSON``
        columns a JSON string or any JSON-serialisable object). Refuses NaN/inf, integer images and
        mismatched shapes.
        """
        images = np.asarray(images)
        if images.ndim == 2:
            images = images[None]
        b = len(images)
        if images.shape[1:] != (self.height, self.width):
            raise ValueError(f"images shape {images.shape} does not match (B, {self.height}, {self.width})")
        check_float_pixels(images.dtype, "images")
        check_finite_rows(images, "images", self.n)
        batch: dict[str, Any] = {"images": images.astype(np.float32, copy=False)}
        if "masks" in self._columns:
            if masks is None:
                raise ValueError("this file has masks: pass masks with every append")
            masks = np.asarray(masks)
            if masks.ndim == 2:
                masks = masks[None]
            if masks.shape != images.shape:
                raise ValueError(f"masks shape {masks.shape} does not match images shape {images.shape}")
            check_labels(masks, self.classes, self.ignore_index, "masks", self.n)
            batch["masks"] = masks.astype(np.uint8, copy=False)
        elif masks is not None:
            raise ValueError("this file was created without masks (masks=False)")
        if "landmarks" in self._columns:
            if landmarks is None:
                raise ValueError("this file has landmarks: pass landmarks with every append")
            landmarks = np.asarray(landmarks, dtype=np.float32)
            if landmarks.ndim == 2:
                landmarks = landmarks[None]
            if landmarks.shape != (b, *self._datasets["landmarks"].shape[1:]):
                raise ValueError(f"landmarks shape {landmarks.shape} does not match ({b}, K, 2)")
            batch["landmarks"] = landmarks
        extra = dict(extra or {})
        for key, kind in self._columns.items():
            if key in ("images", "masks", "landmarks"):
                continue
            if key not in extra:
                raise ValueError(f"missing values for column {key!r}")
            values = extra.pop(key)
            if kind == JSON:
                arr = np.array([v if isinstance(v, str) else json.dumps(v) for v in values], dtype=object)
            elif kind == STR:
                arr = np.array([str(v) for v in values], dtype=object)
            else:
                arr = np.asarray(values, dtype=self._datasets[key].dtype)
            if len(arr) != b:
                raise ValueError(f"column {key!r} got {len(arr)} values for {b} rows")
            batch[key] = arr
        if extra:
            raise ValueError(f"unknown columns {sorted(extra)}; declare them with add_column first")
        if self.rows is not None and self.n + b > self.rows:
            raise ValueError(f"this file was created for {self.rows} rows: {self.n + b} do not fit")
        for key, arr in batch.items():
            ds = self._datasets[key]
            if key in self._direct:  # preallocated
                direct = self._direct[key]
                if direct is None or not direct.write(self.n, arr):
                    self._direct[key] = None
                    ds[self.n : self.n + b] = arr
                continue
            ds.resize(self.n + b, axis=0)
            ds[self.n : self.n + b] = arr
        self.n += b

    def finish(self) -> int:
        """Check every dataset has the same number of rows (``rows``, when given); return it."""
        self.close()
        if self.rows is not None and self.n != self.rows:
            raise ValueError(f"this file was created for {self.rows} rows, but {self.n} were written")
        for key in self._columns:
            if self._datasets[key].shape[0] != self.n:
                raise ValueError(f"dataset {key!r} has {self._datasets[key].shape[0]} rows, expected {self.n}")
        return self.n

    def close(self) -> None:
        """Release the direct writers' file descriptors (idempotent); ``finish()`` does it too."""
        for direct in filter(None, self._direct.values()):
            direct.close()


@contextlib.contextmanager
def create_thermal_h5(
    path: PathLike,
    height: int,
    width: int,
    *,
    overwrite: bool = False,
    inputs: Iterable[PathLike] = (),
    masks: bool = True,
    landmarks: int | None = None,
    classes: Sequence[str] = DEFAULT_CLASSES,
    compression: str | None = None,
    attrs: Mapping[str, Any] | None = None,
    allow_empty: bool = False,
    ignore_index: int | None = None,
    rows: int | None = None,
) -> Iterator[ThermalH5Writer]:
    """Create a thermal HDF5 file whole-or-nothing and yield a ``ThermalH5Writer`` to append rows to.

    The output is written to a temporary file beside ``path`` and renamed when the block ends without an
    exception; any exception (Ctrl-C included) deletes it. ``path`` equal to one of ``inputs`` and an existing
    ``path`` without ``overwrite`` are refused before anything is written. An output with no rows is refused
    unless ``allow_empty``. ``rows``: the number of rows the block will append, when known (see
    ``ThermalH5Writer``): faster, and the file is refused unless exactly that many are appended.
    """
    alignment = {} if rows is None else FILE_ALIGNMENT
    with atomic_h5(path, overwrite=overwrite, inputs=inputs, **alignment) as f:
        writer = ThermalH5Writer(
            f,
            height,
            width,
            masks=masks,
            landmarks=landmarks,
            classes=classes,
            compression=compression,
            attrs=attrs,
            ignore_index=ignore_index,
            rows=rows,
        )
        try:
            yield writer
        finally:
            writer.close()
        if writer.finish() == 0 and not allow_empty:
            raise ValueError(f"{os.fspath(path)}: no images were written; refusing to create an empty dataset")


def write_thermal_h5(
    path: PathLike,
    images: np.ndarray,
    masks: np.ndarray | None = None,
    *,
    landmarks: np.ndarray | None = None,
    classes: Sequence[str] = DEFAULT_CLASSES,
    overwrite: bool = False,
    compression: str | None = None,
    attrs: Mapping[str, Any] | None = None,
    batch_size: int = 256,
) -> None:
    """Write in-memory arrays (images (N, H, W) degrees Celsius, optional masks and landmarks) to ``path``."""
    images = np.asarray(images)
    if images.ndim != 3:
        raise ValueError(f"images must have shape (N, H, W), got {images.shape}")
    with create_thermal_h5(
        path,
        images.shape[1],
        images.shape[2],
        overwrite=overwrite,
        masks=masks is not None,
        landmarks=None if landmarks is None else np.asarray(landmarks).shape[1],
        classes=classes,
        compression=compression,
        attrs=attrs,
    ) as w:
        for a in range(0, len(images), batch_size):
            sl = slice(a, a + batch_size)
            w.append(
                images[sl],
                None if masks is None else masks[sl],
                None if landmarks is None else landmarks[sl],
            )
