"""HDF5 thermal datasets: a validating, streaming reader and an appending writer for the data contract.

Contract (see the project's design notes):

=====================  ==========================  =================================================
key                    dtype, shape                meaning
=====================  ==========================  =================================================
``images``             float32 (N, H, W)           temperatures in degrees Celsius
``masks`` (optional)   uint8 (N, H, W)             class index per pixel
``landmarks`` (opt.)   float32 (N, K, 2)           (x, y) pixel coordinates, iBUG order when K = 68
attr ``classes``       JSON list of names          default background, skin, mouth, eyes, eyebrows, nose
attr ``units``         ``"degC"``
=====================  ==========================  =================================================

Outputs may carry more per-row datasets, e.g. ``source_index`` int64 (N,) and ``tiaug/params`` (one JSON
string per row). Every dataset is chunked one row per chunk, so reading or writing a batch touches only
that batch and memory stays flat whatever the file size.

Reading validates what can be checked cheaply on open (keys, shapes, dtypes, units) and the pixels batch by
batch while streaming (NaN/inf, mask values), raising ``ThermalDataError`` that names the file, the key and
the problem.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from tiaug.io.atomic import PathLike, atomic_h5
from tiaug.io.codecs import dataset_filters, missing_filter
from tiaug.io.errors import ThermalDataError
from tiaug.validation import INTEGER_IMAGE_HINT

DEFAULT_CLASSES = ("background", "skin", "mouth", "eyes", "eyebrows", "nose")
UNITS = "degC"
_CELSIUS = {"degc", "c", "°c", "celsius", "degree_celsius", "degrees_celsius", "degrees celsius", "deg c"}
_KELVIN = {"k", "kelvin", "degk"}
JSON = "json"  # dtype marker for ``ThermalH5Writer.add_column``: one JSON string per row
STR = "str"  # dtype marker for ``ThermalH5Writer.add_column``: one UTF-8 string per row


def valid_labels(masks: np.ndarray, n_classes: int, ignore_index: int | None = None) -> bool:
    """Whether every mask value is a class index 0..n_classes-1 or the ignore index (attr ``ignore_index``)."""
    if not masks.size:
        return True
    if ignore_index is None:
        return bool(masks.min() >= 0 and masks.max() < n_classes)
    labelled = masks[masks != ignore_index]
    return not labelled.size or bool(labelled.min() >= 0 and labelled.max() < n_classes)


def _units_of(f: h5py.File) -> str | None:
    for holder in (f.attrs, f["images"].attrs):
        if "units" in holder:
            v = holder["units"]
            return v.decode() if isinstance(v, bytes) else str(v)
    return None


def _classes_of(path: PathLike, f: h5py.File) -> tuple[str, ...]:
    if "classes" not in f.attrs:
        return DEFAULT_CLASSES
    raw = f.attrs["classes"]
    raw = raw.decode() if isinstance(raw, bytes) else raw
    try:
        classes = json.loads(raw) if isinstance(raw, str) else [str(c) for c in np.asarray(raw).tolist()]
    except (json.JSONDecodeError, TypeError):
        raise ThermalDataError(path, "classes", f"attribute is not a JSON list of class names: {raw!r}") from None
    if not isinstance(classes, list) or not classes or not all(isinstance(c, str) for c in classes):
        raise ThermalDataError(path, "classes", f"attribute must be a non-empty JSON list of names, got {raw!r}")
    return tuple(classes)


@dataclass(frozen=True)
class ThermalBatch:
    """Rows ``start .. start + len(images) - 1`` of a file (validated).

    images: (B, H, W) float32 degrees Celsius; masks: (B, H, W) uint8 or None; landmarks: (B, K, 2) float32
    (x, y) pixels or None; index: (B,) int64 row numbers.
    """

    index: np.ndarray
    images: np.ndarray
    masks: np.ndarray | None
    landmarks: np.ndarray | None

    @property
    def start(self) -> int:
        return int(self.index[0]) if len(self.index) else 0


class ThermalH5Reader:
    """Validating, streaming reader of a thermal HDF5 file (read-only; the file is never modified).

    Use as a context manager or call ``close()``. ``require_masks=True`` refuses files without ``masks``.
    """

    def __init__(self, path: PathLike, *, require_masks: bool = False) -> None:
        self.path = Path(path)
        if not self.path.exists():
            raise ThermalDataError(path, None, "file not found")
        if self.path.is_dir():
            raise ThermalDataError(path, None, "is a folder, not an HDF5 file")
        try:
            self._f = h5py.File(self.path, "r")
        except OSError as e:
            raise ThermalDataError(path, None, f"not a readable HDF5 file ({e})") from None
        try:
            self._validate_structure(require_masks)
        except BaseException:
            self._f.close()
            raise

    # -- structure ------------------------------------------------------------------------------------------
    def _validate_structure(self, require_masks: bool) -> None:
        f, path = self._f, self.path
        if "images" not in f or not isinstance(f["images"], h5py.Dataset):
            found = ", ".join(sorted(f.keys())) or "none"
            raise ThermalDataError(path, "images", f"missing dataset (found keys: {found})")
        images = f["images"]
        shape = images.shape
        if len(shape) == 4 and shape[-1] in (3, 4):
            raise ThermalDataError(
                path,
                "images",
                f"has shape {shape}: it looks like RGB/RGBA pictures; thermal images are single-channel "
                "temperature maps (N, H, W) in degrees Celsius, not colour-mapped renders",
            )
        if len(shape) != 3:
            raise ThermalDataError(path, "images", f"must have shape (N, H, W), got {shape}")
        if 0 in shape:
            raise ThermalDataError(path, "images", f"is empty (shape {shape}): there are no images to read")
        dtype = images.dtype
        units = _units_of(f)
        norm = units.strip().lower() if units is not None else None
        if norm is not None and norm not in _CELSIUS:
            hint = " Convert with T_C = T_K - 273.15." if norm in _KELVIN else ""
            raise ThermalDataError(
                path,
                "units",
                f"images are in {units!r}; tiaug needs temperatures in degrees Celsius (units='degC').{hint}",
            )
        if dtype.kind in "iub":
            if units is None:
                raise ThermalDataError(
                    path,
                    "images",
                    f"has integer dtype {dtype} and no 'units' attribute: these look like raw camera counts. "
                    + INTEGER_IMAGE_HINT,
                )
        elif dtype.kind != "f":
            raise ThermalDataError(path, "images", f"has dtype {dtype}; temperatures must be real numbers")
        for key in ("images", "masks"):
            problem = missing_filter(f[key]) if key in f and isinstance(f[key], h5py.Dataset) else None
            if problem:
                raise ThermalDataError(path, key, problem)
        self.n, self.height, self.width = (int(v) for v in shape)
        self.units = units or UNITS
        self.classes = _classes_of(path, f)
        self.ignore_index = int(f.attrs["ignore_index"]) if "ignore_index" in f.attrs else None

        self.has_masks = "masks" in f
        if require_masks and not self.has_masks:
            raise ThermalDataError(path, "masks", "missing dataset: this command needs class masks")
        if self.has_masks:
            masks = f["masks"]
            if masks.shape != shape:
                raise ThermalDataError(path, "masks", f"shape {masks.shape} does not match the images shape {shape}")
            if masks.dtype.kind not in "iub":
                raise ThermalDataError(path, "masks", f"has dtype {masks.dtype}; masks hold integer class indices")
        self.has_landmarks = "landmarks" in f
        if self.has_landmarks:
            lm = f["landmarks"]
            if lm.ndim != 3 or lm.shape[0] != self.n or lm.shape[2] != 2:
                raise ThermalDataError(path, "landmarks", f"must have shape ({self.n}, K, 2), got {lm.shape}")

    # -- access -----------------------------------------------------------------------------------------
    def __len__(self) -> int:
        return self.n

    def __enter__(self) -> ThermalH5Reader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._f.close()

    @property
    def file(self) -> h5py.File:
        """The open ``h5py.File`` (read-only), for datasets outside the contract."""
        return self._f

    @property
    def attrs(self) -> dict[str, Any]:
        return dict(self._f.attrs)

    def __contains__(self, key: str) -> bool:
        return key in self._f

    def _check_images(self, images: np.ndarray, first_row: int) -> np.ndarray:
        if images.dtype != np.float32:
            images = images.astype(np.float32)
        if images.size and np.isfinite(images.min()) and np.isfinite(images.max()):  # NaN propagates: no temporary
            return images
        finite = np.isfinite(images)
        if not finite.all():
            bad_rows = np.nonzero(~finite.reshape(len(images), -1).all(axis=1))[0]
            row = first_row + int(bad_rows[0])
            count = int((~finite).sum())
            raise ThermalDataError(
                self.path,
                "images",
                f"row {row} contains NaN or infinite pixels ({count} in rows {first_row}.."
                f"{first_row + len(images) - 1}); temperatures must be finite degrees Celsius "
                "(fill dead pixels, e.g. with the median of their neighbours, first)",
            )
        return images

    def _check_masks(self, masks: np.ndarray, first_row: int) -> np.ndarray:
        if not valid_labels(masks, len(self.classes), self.ignore_index):
            raise ThermalDataError(
                self.path,
                "masks",
                f"rows {first_row}..{first_row + len(masks) - 1} hold class values {int(masks.min())}.."
                f"{int(masks.max())}, outside 0..{len(self.classes) - 1} (classes {list(self.classes)})"
                + ("" if self.ignore_index is None else f" and not the ignore index {self.ignore_index}"),
            )
        return masks.astype(np.uint8, copy=False)

    def read_batch(self, start: int, stop: int) -> ThermalBatch:
        """Read and validate rows ``start .. stop - 1``."""
        start, stop = max(0, int(start)), min(self.n, int(stop))
        images = self._check_images(self._f["images"][start:stop], start)
        masks = self._check_masks(self._f["masks"][start:stop], start) if self.has_masks else None
        lm = self._f["landmarks"][start:stop].astype(np.float32) if self.has_landmarks else None
        return ThermalBatch(np.arange(start, stop, dtype=np.int64), images, masks, lm)

    def read_rows(self, rows: Sequence[int]) -> ThermalBatch:
        """Read and validate the given rows (any order, repeats allowed), one row at a time."""
        rows = [self._row(r) for r in rows]
        parts = [self.read_batch(r, r + 1) for r in rows]
        return ThermalBatch(
            np.asarray(rows, dtype=np.int64),
            np.concatenate([p.images for p in parts]) if parts else np.empty((0, self.height, self.width), np.float32),
            np.concatenate([p.masks for p in parts]) if parts and self.has_masks else None,
            np.concatenate([p.landmarks for p in parts]) if parts and self.has_landmarks else None,
        )

    def _row(self, index: int) -> int:
        i = int(index)
        if i < 0:
            i += self.n
        if not 0 <= i < self.n:
            raise IndexError(f"row {index} out of range for {self.n} images in {self.path}")
        return i

    def read(self, index: int) -> tuple[np.ndarray, np.ndarray | None]:
        """One validated row: (image (H, W) float32 degrees Celsius, mask (H, W) uint8 or None)."""
        i = self._row(index)
        b = self.read_batch(i, i + 1)
        return b.images[0], (b.masks[0] if b.masks is not None else None)

    def iter_batches(self, batch_size: int = 64, start: int = 0, stop: int | None = None) -> Iterator[ThermalBatch]:
        """Stream validated batches of at most ``batch_size`` rows; memory is one batch whatever N is."""
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        stop = self.n if stop is None else min(self.n, stop)
        for a in range(start, stop, batch_size):
            yield self.read_batch(a, min(a + batch_size, stop))

    def json_rows(self, key: str, start: int = 0, stop: int | None = None) -> list[Any]:
        """Decode a per-row JSON string dataset (e.g. ``tiaug/params``); ``ThermalDataError`` if absent."""
        if key not in self._f:
            raise ThermalDataError(self.path, key, "missing dataset")
        ds = self._f[key]
        stop = ds.shape[0] if stop is None else stop
        try:
            return [json.loads(s) for s in ds.asstr()[start:stop]]
        except (json.JSONDecodeError, TypeError, ValueError) as e:
            raise ThermalDataError(self.path, key, f"rows are not JSON strings ({e})") from None


def open_thermal(path: PathLike, *, require_masks: bool = False) -> ThermalH5Reader:
    """Open and validate a thermal HDF5 file (see ``ThermalH5Reader``)."""
    return ThermalH5Reader(path, require_masks=require_masks)


def validate_file(path: PathLike, *, batch_size: int = 64, require_masks: bool = False) -> int:
    """Read the whole file batch by batch, validating every pixel; return the number of images."""
    with open_thermal(path, require_masks=require_masks) as r:
        for _ in r.iter_batches(batch_size):
            pass
        return r.n


# ---------------------------------------------------------------------------------------------------------
# Writing


class ThermalH5Writer:
    """Append rows to the contract datasets of an HDF5 file open for writing (normally a temporary file).

    Rows are appended in batches (``append``); every dataset grows together, chunked one row per chunk.
    Extra per-row datasets are declared with ``add_column`` (``JSON`` for one JSON string per row, or a numpy
    dtype). ``finish()`` checks every dataset got the same number of rows. Prefer ``create_thermal_h5``,
    which also makes the output whole-or-nothing.
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
    ) -> None:
        if height < 1 or width < 1:
            raise ValueError(f"image size must be positive, got {height}x{width}")
        self.file = file
        self.height, self.width = int(height), int(width)
        self.classes = tuple(classes)
        self.ignore_index = ignore_index
        self._filters = dataset_filters(compression)  # see tiaug.io.codecs
        self.n = 0
        self._columns: dict[str, str] = {}  # key -> "array", JSON or STR
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

    def _make(self, key: str, dtype: Any, row_shape: tuple[int, ...]) -> None:
        if key in self._columns or key in self.file:
            raise ValueError(f"dataset {key!r} already exists")
        if isinstance(dtype, str) and dtype in (JSON, STR):
            self.file.create_dataset(
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
        self.file.create_dataset(
            key,
            shape=(0, *row_shape),
            maxshape=(None, *row_shape),
            dtype=dtype,
            chunks=(rows_per_chunk, *row_shape),
            rdcc_nbytes=1 if whole_rows else None,
            **self._filters,
        )
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
        if images.dtype.kind != "f":
            raise ValueError(f"images have dtype {images.dtype}: integer or boolean pixels. {INTEGER_IMAGE_HINT}")
        if images.size and not (np.isfinite(images.min()) and np.isfinite(images.max())):  # NaN propagates
            raise ValueError("images contain NaN or infinite pixels; temperatures must be finite degrees Celsius")
        rows: dict[str, Any] = {"images": images.astype(np.float32, copy=False)}
        if "masks" in self._columns:
            if masks is None:
                raise ValueError("this file has masks: pass masks with every append")
            masks = np.asarray(masks)
            if masks.ndim == 2:
                masks = masks[None]
            if masks.shape != images.shape:
                raise ValueError(f"masks shape {masks.shape} does not match images shape {images.shape}")
            if masks.dtype.kind not in "iub" or not valid_labels(masks, len(self.classes), self.ignore_index):
                extra = "" if self.ignore_index is None else f" or the ignore index {self.ignore_index}"
                raise ValueError(f"masks must hold integer class indices 0..{len(self.classes) - 1}{extra}")
            rows["masks"] = masks.astype(np.uint8, copy=False)
        elif masks is not None:
            raise ValueError("this file was created without masks (masks=False)")
        if "landmarks" in self._columns:
            if landmarks is None:
                raise ValueError("this file has landmarks: pass landmarks with every append")
            landmarks = np.asarray(landmarks, dtype=np.float32)
            if landmarks.ndim == 2:
                landmarks = landmarks[None]
            if landmarks.shape != (b, *self.file["landmarks"].shape[1:]):
                raise ValueError(f"landmarks shape {landmarks.shape} does not match ({b}, K, 2)")
            rows["landmarks"] = landmarks
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
                arr = np.asarray(values, dtype=self.file[key].dtype)
            if len(arr) != b:
                raise ValueError(f"column {key!r} got {len(arr)} values for {b} rows")
            rows[key] = arr
        if extra:
            raise ValueError(f"unknown columns {sorted(extra)}; declare them with add_column first")
        for key, arr in rows.items():
            ds = self.file[key]
            ds.resize(self.n + b, axis=0)
            ds[self.n : self.n + b] = arr
        self.n += b

    def finish(self) -> int:
        """Check every dataset has the same number of rows; return it."""
        for key in self._columns:
            if self.file[key].shape[0] != self.n:
                raise ValueError(f"dataset {key!r} has {self.file[key].shape[0]} rows, expected {self.n}")
        return self.n


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
) -> Iterator[ThermalH5Writer]:
    """Create a thermal HDF5 file whole-or-nothing and yield a ``ThermalH5Writer`` to append rows to.

    The output is written to a temporary file beside ``path`` and renamed when the block ends without an
    exception; any exception (Ctrl-C included) deletes it. ``path`` equal to one of ``inputs`` and an existing
    ``path`` without ``overwrite`` are refused before anything is written. An output with no rows is refused
    unless ``allow_empty``.
    """
    with atomic_h5(path, overwrite=overwrite, inputs=inputs) as f:
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
        )
        yield writer
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


def read_thermal_h5(path: PathLike) -> tuple[np.ndarray, np.ndarray | None]:
    """Read a whole (small) file into memory: (images (N, H, W) float32, masks (N, H, W) uint8 or None)."""
    with open_thermal(path) as r:
        b = r.read_batch(0, r.n)
        return b.images, b.masks
