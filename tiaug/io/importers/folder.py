"""Import thermal images into the HDF5 contract: plain folders of image and camera files, and what every
importer shares.

The Thermal Face Database (``import_tfdb``) has its own module, :mod:`tiaug.io.importers.tfdb`.

Plain folder (``import_folder``): every file the camera reader layer (:mod:`tiaug.io.readers`) reads, found by
content and name or forced with ``fmt`` (``.npy``/``.tif`` temperatures, FLIR R-JPEG/``.fff``/``.seq``, TC001,
Lepton and headerless raw frames; not recursive), with optional PNG masks of class indices named
``<image stem><mask_suffix>.png`` for single-frame files. A file that cannot be read (truncated, no radiometric
data, wrong raw size, NaN pixels, ...) is skipped with its name and problem (``on_skip``) and the rest of the
folder is imported, unless ``strict``; each file is read whole before any of its frames is written.

Both: ``T_C = raw * scale + offset`` converts other units (Kelvin: ``offset=-273.15``; integer raw counts
need an explicit ``scale``, they are never guessed), images whose median is outside -60..200 C after
conversion are refused as probable Kelvin or raw counts, all images must end up the same size (use
``crop``/``resize``), and the outputs are written whole-or-nothing. Each output row records its
``source_file`` (path relative to the input folder) and, for the Thermal Face Database, its ``subject``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import h5py
import numpy as np

from tiaug.io.errors import ThermalDataError, TiaugIOError, guarded
from tiaug.io.h5.atomic import PathLike, atomic_outputs, check_output_path
from tiaug.io.h5.codecs import DEFAULT_COMPRESSION
from tiaug.io.h5.writer import JSON, STR, ThermalH5Writer
from tiaug.io.readers import ReadOptions, folder_files, open_source
from tiaug.io.readers.arrays import TiffPages, check_frame_size, load_npy_stack
from tiaug.io.readers.formats import pixel_limit
from tiaug.labels import DEFAULT_CLASSES
from tiaug.progress import ProgressCallback, reported
from tiaug.validation import check_mask

Size = tuple[int, int]
FOLDER_COLUMNS = {"source_file": STR, "frame_index": np.int64, "source_meta": JSON}


# ---------------------------------------------------------------------------------------------------------
# Loading and converting


def load_raw(path: PathLike) -> np.ndarray:
    """One frame of a ``.npy`` or ``.tif``/``.tiff`` file as stored (no conversion); its size is checked before
    it is read (the .npy memory-mapped)."""
    p = Path(path)
    frames = load_npy_stack(p) if p.suffix.lower() == ".npy" else TiffPages(p)
    try:
        if len(frames) != 1:
            raise ThermalDataError(p, None, f"holds {len(frames)} frames; one image per file is expected")
        return guarded(p, lambda: np.array(frames[0]))
    finally:
        if isinstance(frames, TiffPages):
            frames.close()


def center_crop(
    image: np.ndarray,
    size: Size,
    mask: np.ndarray | None = None,
    points: np.ndarray | None = None,
    *,
    path: PathLike = "",
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """Cut the central (h, w) window; landmarks (x, y) move with it."""
    h, w = size
    H, W = image.shape
    if h > H or w > W:
        raise ThermalDataError(path, None, f"is {H}x{W} pixels, smaller than the crop {h}x{w}")
    y0, x0 = (H - h) // 2, (W - w) // 2
    sl = (slice(y0, y0 + h), slice(x0, x0 + w))
    pts = None if points is None else points - np.array([x0, y0], dtype=np.float32)
    return image[sl], (None if mask is None else mask[sl]), pts


def resize(
    image: np.ndarray, size: Size, mask: np.ndarray | None = None, points: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """Resize to (h, w): area averaging when shrinking, linear when enlarging, nearest for masks."""
    h, w = size
    H, W = image.shape
    if (h, w) == (H, W):
        return image, mask, points
    interp = cv2.INTER_AREA if h * w < H * W else cv2.INTER_LINEAR
    out = cv2.resize(image, (w, h), interpolation=interp)
    m = None if mask is None else cv2.resize(mask, (w, h), interpolation=cv2.INTER_NEAREST)
    pts = None
    if points is not None:  # pixel centres map as (p + 0.5) * s - 0.5
        s = np.array([w / W, h / H], dtype=np.float32)
        pts = (points + 0.5) * s - 0.5
    return out, m, pts


def crop_and_resize(
    image: np.ndarray,
    mask: np.ndarray | None,
    points: np.ndarray | None,
    crop: Size | None,
    size: Size | None,
    path: PathLike,
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    if crop is not None:
        image, mask, points = center_crop(image, crop, mask, points, path=path)
    if size is not None:
        image, mask, points = resize(image, size, mask, points)
    return image, mask, points


@dataclass
class ImageSink:
    """A writer created lazily on the first image (whose size fixes the file's)."""

    file: h5py.File
    masks: bool
    landmarks: int | None
    columns: dict[str, Any]  # extra per-row column -> dtype (STR, JSON or a numpy dtype)
    compression: str | None
    attrs: dict
    classes: tuple[str, ...] = DEFAULT_CLASSES
    writer: ThermalH5Writer | None = None
    shape: Size | None = None

    def append(
        self, image: np.ndarray, mask: np.ndarray | None, points: np.ndarray | None, extra: dict, source: PathLike
    ) -> None:
        """Append one image (and its mask, landmarks and extra columns); the first one creates the datasets."""
        if self.writer is None:
            self.shape = image.shape
            self.writer = ThermalH5Writer(
                self.file,
                *image.shape,
                masks=self.masks,
                landmarks=self.landmarks,
                classes=self.classes,
                compression=self.compression,
                attrs=self.attrs,
            )
            for name, dtype in self.columns.items():
                self.writer.add_column(name, dtype)
        elif self.shape is not None and image.shape != self.shape:  # shape: set with the writer
            raise ThermalDataError(
                source,
                None,
                f"is {image.shape[0]}x{image.shape[1]} after crop/resize but earlier images are "
                f"{self.shape[0]}x{self.shape[1]}; all images of a dataset must share one size "
                "(use --crop or --resize)",
            )
        self.writer.append(
            image[None],
            None if mask is None else mask[None],
            None if points is None else points[None],
            {k: [v] for k, v in extra.items()},
        )


# ---------------------------------------------------------------------------------------------------------
# Plain folder


def read_png(path: PathLike) -> np.ndarray:
    """A PNG as stored (OpenCV's ``IMREAD_UNCHANGED``), once its header's size is checked against
    :data:`~tiaug.io.readers.formats.MAX_FRAME` (a decompression bomb is refused before it is decoded)."""
    from PIL import Image

    with pixel_limit(), Image.open(path) as picture:
        check_frame_size(picture.size[::-1], path)
    m = cv2.imread(os.fspath(path), cv2.IMREAD_UNCHANGED)
    if m is None:
        raise ThermalDataError(path, None, "cannot read the mask PNG")
    return m


def load_mask_png(
    path: PathLike, image_shape: Size, n_classes: int, binary: bool = False, resize_to_image: bool = False
) -> np.ndarray:
    """Load a PNG of class indices (single channel, or grey stored as RGB) and check it fits the image
    (``resize_to_image``: a mask of another size is resized to the image's, nearest neighbour)."""
    m = guarded(path, read_png, path)
    if m.ndim == 3:
        if not (m[..., :3] == m[..., :1]).all():
            raise ThermalDataError(path, None, "is a colour picture; masks hold one class index per pixel")
        m = m[..., 0]
    if resize_to_image and m.shape != tuple(image_shape):
        m = cv2.resize(m, (image_shape[1], image_shape[0]), interpolation=cv2.INTER_NEAREST)
    try:
        check_mask(m, image_shape, name="mask")
    except ValueError as e:
        raise ThermalDataError(path, None, str(e)) from None
    if binary:
        m = (m > 0).astype(np.uint8)
    if int(m.max()) >= n_classes:
        raise ThermalDataError(
            path,
            None,
            f"holds value {int(m.max())}, not a class index 0..{n_classes - 1}; "
            "for 0/255 face masks pass --binary-masks, for another label set --classes",
        )
    return m.astype(np.uint8)


def is_mask_name(path: Path, mask_suffix: str) -> bool:
    """Whether ``path`` is named as the mask of another file (``<stem><mask_suffix>.png``)."""
    return path.suffix.lower() == ".png" and path.stem.endswith(mask_suffix)


def unread_files(folder: Path, read: list[Path], masks: list[Path | None]) -> list[Path]:
    """The files of ``folder`` that are neither read as frames nor used as masks (named as skipped)."""
    used = {p.resolve() for p in [*read, *masks] if p is not None}
    return sorted(p for p in folder.iterdir() if p.is_file() and p.resolve() not in used)


def find_folder_items(
    folder: PathLike, masks_dir: PathLike | None, mask_suffix: str, fmt: str = "auto"
) -> list[tuple[Path, Path | None]]:
    """Files of a folder that ``fmt`` reads (sorted) with their mask PNGs (or None); masks for all or none."""
    root = Path(folder)
    mdir = Path(masks_dir) if masks_dir is not None else root
    images = [p for p in folder_files(root, fmt) if not is_mask_name(p, mask_suffix)]
    if not mdir.is_dir():
        raise ThermalDataError(mdir, None, "mask folder not found")
    if not images:
        raise ThermalDataError(
            folder, None, "no temperature images (.npy, .tif, .tiff) or camera files (.jpg, .fff, .seq, ...) found"
        )
    pairs = []
    for img in images:
        candidates = [mdir / f"{img.stem}{mask_suffix}.png"]
        if mdir != root:
            candidates.append(mdir / f"{img.stem}.png")
        pairs.append((img, next((c for c in candidates if c.is_file()), None)))
    with_mask = sum(m is not None for _, m in pairs)
    if 0 < with_mask < len(pairs):
        lacking = [str(i.name) for i, m in pairs if m is None][:3]
        raise ThermalDataError(
            mdir,
            None,
            f"{len(pairs) - with_mask} of {len(pairs)} images have no mask (e.g. {', '.join(lacking)}; "
            f"expected <stem>{mask_suffix}.png); give masks for all images or for none",
        )
    return pairs


@dataclass(frozen=True)
class MaskOptions:
    """How mask PNGs are read: ``classes`` (their names, index = value), ``binary`` (0/255 face masks -> skin),
    ``resize`` (a mask of another size resized to its image's, nearest neighbour)."""

    classes: tuple[str, ...] = DEFAULT_CLASSES
    binary: bool = False
    resize: bool = False


def _file_rows(
    path: Path, mask_path: Path | None, fmt: str, options: ReadOptions, masks: MaskOptions, crop, size
) -> list[tuple[np.ndarray, np.ndarray | None, dict]]:
    """(image, mask, extra columns) of every frame of one file, or ThermalDataError for the file."""
    with open_source(path, fmt, options) as source:
        frames = list(source.frames())  # the whole file is checked before any of it is written
    if mask_path is not None and len(frames) != 1:
        raise ThermalDataError(path, None, f"holds {len(frames)} frames; a mask PNG pairs with a one-frame file")
    rows = []
    for frame in frames:
        mask = (
            load_mask_png(mask_path, frame.image.shape, len(masks.classes), masks.binary, masks.resize)
            if mask_path is not None
            else None
        )
        image, mask, _ = crop_and_resize(frame.image, mask, None, crop, size, path)
        rows.append((image, mask, {"source_file": path.name, "frame_index": frame.index, "source_meta": frame.meta}))
    return rows


def import_folder(
    folder: PathLike,
    out: PathLike,
    *,
    fmt: str = "auto",
    options: ReadOptions | None = None,
    masks_dir: PathLike | None = None,
    mask_suffix: str = "_mask",
    binary_masks: bool = False,
    classes: Sequence[str] | None = None,
    resize_masks: bool = False,
    crop: Size | None = None,
    size: Size | None = None,
    overwrite: bool = False,
    scale: float | None = None,
    offset: float | None = None,
    strict: bool = False,
    on_skip: Callable[[TiaugIOError], None] | None = None,
    compression: str | None = DEFAULT_COMPRESSION,
    progress: ProgressCallback | None = None,
) -> dict[str, int]:
    """Import every readable file of a folder (and PNG masks); return {out: number of images}.

    ``fmt``: a reader format or ``auto``; ``options`` (or ``scale``/``offset``) as in
    :class:`~tiaug.io.readers.ReadOptions`. A file refused by its reader is passed to ``on_skip`` and left
    out (``strict``: raised instead), as is every other file of the folder that is neither read nor a mask; if
    no file can be imported the error lists the refusals. ``classes``: the masks' class names (default: the
    Thermal Face Database's six); ``resize_masks``: masks of another size are resized (nearest). Output rows
    record ``source_file``, ``frame_index`` (frame within that file) and ``source_meta`` (JSON: format,
    camera, emissivity, timestamp, ...); the attribute ``tiaug/skipped`` lists the files left out.
    """
    root = Path(folder)
    options = options or ReadOptions(scale=scale, offset=offset)
    pairs = find_folder_items(root, masks_dir, mask_suffix, fmt)
    inputs = [root, *([masks_dir] if masks_dir is not None else [])]
    check_output_path(out, overwrite=overwrite, inputs=inputs)
    has_masks = pairs[0][1] is not None
    masks = MaskOptions(tuple(classes) if classes else DEFAULT_CLASSES, binary_masks, resize_masks)
    if len(set(masks.classes)) != len(masks.classes) or not 0 < len(masks.classes) <= 256:
        raise ThermalDataError(folder, None, f"classes must be 1..256 distinct names, got {list(masks.classes)}")
    attrs = {
        "tiaug/import": {
            "source": "folder",
            "format": fmt,
            "crop": crop,
            "resize": size,
            "scale": options.scale,
            "offset": options.offset,
        }
    }
    skipped: list[TiaugIOError] = []

    def skip(error: TiaugIOError) -> None:
        skipped.append(error)
        if on_skip is not None:
            on_skip(error)

    for other in unread_files(root, [p for p, _ in pairs], [m for _, m in pairs]):
        skip(ThermalDataError(other, None, "not imported: not a file of a supported format (by its name)"))
    with atomic_outputs([out], overwrite=overwrite, inputs=inputs) as (tmp,), h5py.File(tmp, "w") as f:
        sink = ImageSink(f, has_masks, None, FOLDER_COLUMNS, compression, attrs, classes=masks.classes)
        for img_path, mask_path in reported(pairs, progress):
            try:
                rows = guarded(img_path, _file_rows, img_path, mask_path, fmt, options, masks, crop, size)
            except TiaugIOError as e:  # a missing library too: the file is named with what to install
                if strict:
                    raise
                skip(e)
                continue
            for image, mask, extra in rows:
                sink.append(image, mask, None, extra, img_path)
        if sink.writer is None:
            shown = "; ".join(str(e) for e in skipped[:3]) + (
                f"; and {len(skipped) - 3} more" if len(skipped) > 3 else ""
            )
            raise ThermalDataError(folder, None, f"no file could be imported ({len(skipped)} refused): {shown}")
        sink.writer.set_attr("tiaug/skipped", [str(e) for e in skipped])
        n = sink.writer.finish()
    return {str(out): n}
