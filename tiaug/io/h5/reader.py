"""HDF5 thermal datasets: the data contract and its validating, streaming reader (writer: :mod:`.writer`).

Contract (the data contract of docs/data.md):

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
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from tiaug.errors import one_line
from tiaug.io.errors import ThermalDataError, guarded
from tiaug.io.h5.atomic import PathLike
from tiaug.io.h5.codecs import missing_filter
from tiaug.io.h5.contained import check_contained
from tiaug.io.readers.formats import MAX_FRAME
from tiaug.labels import DEFAULT_CLASSES
from tiaug.validation import (
    check_finite_rows,
    check_float_pixels,
    check_labels,
    check_plausible_rows,
    check_single_channel,
)

UNITS = "degC"
#: Most bytes of images and masks one batch holds (a row of 4000x4000 pixels is 64 MB: a file of such rows is
#: read a few rows at a time, whatever batch size is asked for).
MAX_BATCH_BYTES = 256 << 20
_CELSIUS = {"degc", "c", "°c", "celsius", "degree_celsius", "degrees_celsius", "degrees celsius", "deg c"}
_KELVIN = {"k", "kelvin", "degk"}


def rows_within(max_bytes: int, row_bytes: int, rows: int) -> int:
    """``rows``, lowered (to one at least) so that they hold at most ``max_bytes`` of ``row_bytes`` each."""
    return max(1, min(rows, max_bytes // max(1, row_bytes)))


@contextlib.contextmanager
def _as_data_error(path: PathLike, key: str) -> Iterator[None]:
    """A ``tiaug.validation`` refusal as a ``ThermalDataError`` naming the file and the key."""
    try:
        yield
    except ValueError as e:
        raise ThermalDataError(path, key, str(e)) from None


def _ignore_index_of(path: PathLike, f: h5py.File) -> int | None:
    if "ignore_index" not in f.attrs:
        return None
    raw = f.attrs["ignore_index"]
    try:
        value = int(raw) if np.ndim(raw) == 0 and not isinstance(raw, str | bytes) else None
    except (TypeError, ValueError):
        value = None
    if value is None or float(raw) != value or not 0 <= value <= 255:
        raise ThermalDataError(path, "ignore_index", f"attribute must be a label 0..255 (an integer), got {raw!r}")
    return value


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
    The file must stay inside itself (:mod:`.contained`): external storage, external links and virtual
    datasets are refused unless ``trusted``, as are rows declared but never written and oversized attributes.
    """

    def __init__(self, path: PathLike, *, require_masks: bool = False, trusted: bool = False) -> None:
        self.path = Path(path)
        if not self.path.exists():
            raise ThermalDataError(path, None, "file not found")
        if self.path.is_dir():
            raise ThermalDataError(path, None, "is a folder, not an HDF5 file")
        try:
            self._f = h5py.File(self.path, "r")
        except OSError as e:
            raise ThermalDataError(path, None, f"not a readable HDF5 file ({e})") from None
        try:  # a damaged file's metadata can make HDF5 raise anything: one refusal naming the file
            guarded(self.path, check_contained, self.path, self._f, trusted)
            guarded(self.path, self._validate_structure, require_masks)
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
        with _as_data_error(path, "images"):
            check_single_channel(shape, "", image_ndims=(3,))
        if len(shape) != 3:
            raise ThermalDataError(path, "images", f"must have shape (N, H, W), got {shape}")
        if 0 in shape:
            raise ThermalDataError(path, "images", f"is empty (shape {shape}): there are no images to read")
        if shape[1] > MAX_FRAME[0] or shape[2] > MAX_FRAME[1]:
            raise ThermalDataError(
                path, "images", f"images of {shape[1]}x{shape[2]} pixels; at most {MAX_FRAME[0]}x{MAX_FRAME[1]}"
            )
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
        with _as_data_error(path, "images"):
            check_float_pixels(dtype, "", allow_integers=units is not None, reason=" and no 'units' attribute")
        for key in ("images", "masks"):
            problem = missing_filter(f[key]) if key in f and isinstance(f[key], h5py.Dataset) else None
            if problem:
                raise ThermalDataError(path, key, problem)
        self.n, self.height, self.width = (int(v) for v in shape)
        self.units = units or UNITS
        self.classes = _classes_of(path, f)
        self.ignore_index = _ignore_index_of(path, f)

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
        with _as_data_error(self.path, "images"):
            check_finite_rows(images, "", first_row)
            check_plausible_rows(images, "", first_row)
        return images

    def _check_masks(self, masks: np.ndarray, first_row: int) -> np.ndarray:
        with _as_data_error(self.path, "masks"):
            check_labels(masks, self.classes, self.ignore_index, "", first_row)
        return masks.astype(np.uint8, copy=False)

    def _rows(self, key: str, start: int, stop: int) -> np.ndarray:
        """Rows of a dataset; a damaged file (unreadable chunk) is refused naming the file, key and rows."""
        try:
            return self._f[key][start:stop]
        except Exception as e:  # HDF5 raises many kinds of error on damaged data
            raise ThermalDataError(
                self.path, key, f"rows {start}..{stop - 1} cannot be read ({one_line(e)}): the file is damaged"
            ) from None

    def read_batch(self, start: int, stop: int) -> ThermalBatch:
        """Read and validate rows ``start .. stop - 1``."""
        start, stop = max(0, int(start)), min(self.n, int(stop))
        images = self._check_images(self._rows("images", start, stop), start)
        masks = self._check_masks(self._rows("masks", start, stop), start) if self.has_masks else None
        lm = self._rows("landmarks", start, stop).astype(np.float32) if self.has_landmarks else None
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

    def rows_per_batch(self, batch_size: int) -> int:
        """``batch_size``, lowered so that one batch of images and masks holds at most :data:`MAX_BATCH_BYTES` (at
        least one row): memory is bounded by bytes whatever the rows' size."""
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        return rows_within(MAX_BATCH_BYTES, self.height * self.width * (4 + self.has_masks), batch_size)

    def iter_batches(self, batch_size: int = 64, start: int = 0, stop: int | None = None) -> Iterator[ThermalBatch]:
        """Stream validated batches of at most ``batch_size`` rows and :data:`MAX_BATCH_BYTES` (see
        :meth:`rows_per_batch`); memory is one batch whatever N is."""
        batch_size = self.rows_per_batch(batch_size)
        stop = self.n if stop is None else min(self.n, stop)
        for a in range(start, stop, batch_size):
            yield self.read_batch(a, min(a + batch_size, stop))

    def validate_all(self, batch_size: int = 64) -> int:
        """Read every row batch by batch, validating every pixel and label; return the number of images."""
        for _ in self.iter_batches(batch_size):
            pass
        return self.n

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


def open_thermal(path: PathLike, *, require_masks: bool = False, trusted: bool = False) -> ThermalH5Reader:
    """Open and validate a thermal HDF5 file (see ``ThermalH5Reader``)."""
    return ThermalH5Reader(path, require_masks=require_masks, trusted=trusted)


def validate_file(path: PathLike, *, batch_size: int = 64, require_masks: bool = False) -> int:
    """Read the whole file batch by batch, validating every pixel; return the number of images."""
    with open_thermal(path, require_masks=require_masks) as r:
        return r.validate_all(batch_size)


def read_thermal_h5(path: PathLike) -> tuple[np.ndarray, np.ndarray | None]:
    """Read a whole (small) file into memory: (images (N, H, W) float32, masks (N, H, W) uint8 or None)."""
    with open_thermal(path) as r:
        b = r.read_batch(0, r.n)
        return b.images, b.masks
