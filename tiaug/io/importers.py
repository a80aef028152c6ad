"""Import thermal images into the HDF5 contract: the Thermal Face Database and plain folders.

Thermal Face Database (``import_tfdb``): temperature arrays (``.npy``, degrees Celsius) beside menpo
``.ljson`` landmark files of the same name, searched recursively. Masks are built from the landmark groups
(``tiaug.io.landmarks.mask_from_landmarks``) after the optional centre crop and resize, so they stay sharp.
The subject of a file is the second ``_``-separated field of its name (``irface_sub012_seq03_frm00042.npy``
-> ``sub012``); a subject-wise split sends all images of a subject to the same side.

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
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import h5py
import numpy as np

from tiaug.io import landmarks as lmk
from tiaug.io.atomic import PathLike, atomic_outputs, check_output_path
from tiaug.io.errors import ThermalDataError
from tiaug.io.h5 import JSON, STR, ThermalH5Writer
from tiaug.io.readers import ReadOptions, folder_files, open_source
from tiaug.io.readers.units import to_celsius
from tiaug.validation import check_mask

Size = tuple[int, int]
Progress = Callable[[Iterable], Iterable]
TFDB_COLUMNS = {"source_file": STR, "subject": STR}
FOLDER_COLUMNS = {"source_file": STR, "frame_index": np.int64, "source_meta": JSON}


def _no_progress(it: Iterable) -> Iterable:
    return it


# ---------------------------------------------------------------------------------------------------------
# Loading and converting


def load_raw(path: PathLike) -> np.ndarray:
    """Load a ``.npy`` or ``.tif``/``.tiff`` array as stored (no conversion)."""
    p = Path(path)
    try:
        if p.suffix.lower() == ".npy":
            return np.load(p, allow_pickle=False)
        try:
            import tifffile  # installed with scikit-image

            return tifffile.imread(p)
        except ImportError:  # pragma: no cover - OpenCV fallback
            arr = cv2.imread(str(p), cv2.IMREAD_UNCHANGED)
            if arr is None:
                raise OSError("OpenCV cannot read it") from None
            return arr
    except (OSError, ValueError) as e:
        raise ThermalDataError(p, None, f"cannot read the image ({e})") from None


# ---------------------------------------------------------------------------------------------------------
# Geometry: centre crop and resize, applied to an image, its mask and its landmarks alike


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


def _reshape(
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


# ---------------------------------------------------------------------------------------------------------
# Thermal Face Database


@dataclass(frozen=True)
class TfdbItem:
    """One Thermal Face Database image: its temperature array, its landmark file and its subject id."""

    image: Path
    ljson: Path
    subject: str


def subject_of(path: PathLike, required: bool = True) -> str:
    """Subject id of a Thermal Face Database file: the second ``_``-separated field of its name.

    A name without one is refused when ``required``, else gives an empty string.
    """
    parts = Path(path).stem.split("_")
    if len(parts) < 2 or not parts[1]:
        if not required:
            return ""
        raise ThermalDataError(
            path, None, "no subject id: a subject-wise split needs names like <prefix>_<subject>_<rest>.npy"
        )
    return parts[1]


def find_tfdb_items(folder: PathLike, *, skip_unlabelled: bool = False, need_subject: bool = False) -> list[TfdbItem]:
    """Pair every ``.npy`` under ``folder`` (recursively, sorted) with the ``.ljson`` of the same name."""
    root = Path(folder)
    if not root.is_dir():
        raise ThermalDataError(folder, None, "is not a folder")
    items, missing = [], []
    for npy in sorted(p for p in root.rglob("*") if p.suffix.lower() == ".npy" and p.is_file()):
        lj = npy.with_suffix(".ljson")
        if not lj.is_file():
            missing.append(npy)
            continue
        items.append(TfdbItem(npy, lj, subject_of(npy, required=need_subject)))
    if missing and not skip_unlabelled:
        shown = ", ".join(str(p.relative_to(root)) for p in missing[:3])
        raise ThermalDataError(
            folder,
            None,
            f"{len(missing)} .npy file(s) have no .ljson landmark file beside them (e.g. {shown}); "
            "add the landmarks or pass --skip-unlabelled",
        )
    if not items:
        raise ThermalDataError(folder, None, "no .npy temperature arrays with .ljson landmark files found")
    return items


def split_subjects(subjects: Iterable[str], fraction: float, seed: int) -> set[str]:
    """Pick the validation subjects: ``round(fraction * n)`` of them (at least 1, at most n - 1) at random."""
    unique = sorted(set(subjects))
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"the validation fraction must be between 0 and 1, got {fraction}")
    if len(unique) < 2:
        raise ValueError(f"a subject-wise split needs at least 2 subjects, found {len(unique)}: {unique}")
    n_val = min(len(unique) - 1, max(1, round(fraction * len(unique))))
    order = np.random.default_rng(seed).permutation(len(unique))
    return {unique[i] for i in order[:n_val]}


def split_paths(out: PathLike) -> tuple[Path, Path]:
    """``OUT.h5`` -> (``OUT_train.h5``, ``OUT_val.h5``), the two files of a subject-wise split."""
    p = Path(out)
    suffix = p.suffix or ".h5"
    return p.with_name(f"{p.stem}_train{suffix}"), p.with_name(f"{p.stem}_val{suffix}")


@dataclass
class _Sink:
    """A writer created lazily on the first image (whose size fixes the file's)."""

    file: h5py.File
    masks: bool
    landmarks: int | None
    columns: dict[str, Any]  # extra per-row column -> dtype (STR, JSON or a numpy dtype)
    compression: str | None
    attrs: dict
    writer: ThermalH5Writer | None = None
    shape: Size | None = None

    def append(
        self, image: np.ndarray, mask: np.ndarray | None, points: np.ndarray | None, extra: dict, source: PathLike
    ) -> None:
        """Append one image (and its mask, landmarks and string columns); the first one creates the datasets."""
        if self.writer is None:
            self.shape = image.shape
            self.writer = ThermalH5Writer(
                self.file,
                *image.shape,
                masks=self.masks,
                landmarks=self.landmarks,
                compression=self.compression,
                attrs=self.attrs,
            )
            for c, dtype in self.columns.items():
                self.writer.add_column(c, dtype)
        elif image.shape != self.shape:
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


def import_tfdb(
    folder: PathLike,
    out: PathLike,
    *,
    crop: Size | None = None,
    size: Size | None = None,
    split_val: float | None = None,
    seed: int = 0,
    overwrite: bool = False,
    scale: float | None = None,
    offset: float | None = None,
    forehead: float = 0.45,
    brow_thickness: float = 0.09,
    skip_unlabelled: bool = False,
    compression: str | None = "lzf",
    progress: Progress = _no_progress,
) -> dict[str, int]:
    """Import a Thermal Face Database folder; return {output path: number of images}.

    Without ``split_val`` everything goes to ``out``; with it, to ``split_paths(out)`` (train, val), the
    validation side holding about ``split_val`` of the subjects, chosen with ``seed``.
    """
    root = Path(folder)
    items = find_tfdb_items(root, skip_unlabelled=skip_unlabelled, need_subject=split_val is not None)
    outputs = [Path(out)] if split_val is None else list(split_paths(out))
    for p in outputs:  # refuse a bad output before reading anything
        check_output_path(p, overwrite=overwrite)
    val_subjects = split_subjects([i.subject for i in items], split_val, seed) if split_val is not None else set()
    marks = [lmk.read_ljson(i.ljson) for i in items]
    counts = {len(pts) for pts, _ in marks}
    n_points = counts.pop() if len(counts) == 1 else None
    attrs = {
        "tiaug/import": {
            "source": "thermal-face-database",
            "crop": crop,
            "resize": size,
            "forehead": forehead,
            "brow_thickness": brow_thickness,
            "scale": scale,
            "offset": offset,
            "split_val": split_val,
            "seed": seed,
        }
    }
    with atomic_outputs(outputs, overwrite=overwrite) as tmps:
        files = [h5py.File(t, "w") for t in tmps]
        try:
            sinks = [
                _Sink(
                    f, True, n_points, {"source_file": STR, "subject": STR}, compression, {**attrs, "tiaug/split": name}
                )
                for f, name in zip(files, ["all"] if split_val is None else ["train", "val"], strict=True)
            ]
            for item, (pts, groups) in progress(list(zip(items, marks, strict=True))):
                image = to_celsius(load_raw(item.image), item.image, scale, offset or 0.0)
                image, _, pts = _reshape(image, None, pts, crop, size, item.image)
                mask = lmk.mask_from_landmarks(
                    pts, groups, image.shape, forehead=forehead, brow_thickness=brow_thickness
                )
                sink = sinks[1] if item.subject in val_subjects else sinks[0]
                extra = {"source_file": str(item.image.relative_to(root)), "subject": item.subject}
                sink.append(image, mask, pts if n_points else None, extra, item.image)
            result = {}
            for p, s in zip(outputs, sinks, strict=True):
                if s.writer is None:
                    raise ThermalDataError(p, None, "no images would go to this output")
                result[str(p)] = s.writer.finish()
        finally:
            for f in files:
                f.close()
    return result


# ---------------------------------------------------------------------------------------------------------
# Plain folder


def load_mask_png(path: PathLike, image_shape: Size, n_classes: int, binary: bool = False) -> np.ndarray:
    """Load a PNG of class indices (single channel, or grey stored as RGB) and check it fits the image."""
    m = cv2.imread(os.fspath(path), cv2.IMREAD_UNCHANGED)
    if m is None:
        raise ThermalDataError(path, None, "cannot read the mask PNG")
    if m.ndim == 3:
        if not (m[..., :3] == m[..., :1]).all():
            raise ThermalDataError(path, None, "is a colour picture; masks hold one class index per pixel")
        m = m[..., 0]
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
            "for 0/255 face masks pass --binary-masks",
        )
    return m.astype(np.uint8)


def find_folder_items(
    folder: PathLike, masks_dir: PathLike | None, mask_suffix: str, fmt: str = "auto"
) -> list[tuple[Path, Path | None]]:
    """Files of a folder that ``fmt`` reads (sorted) with their mask PNGs (or None); masks for all or none."""
    root = Path(folder)
    mdir = Path(masks_dir) if masks_dir is not None else root
    images = folder_files(root, fmt)
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


def _file_rows(
    path: Path, mask_path: Path | None, fmt: str, options: ReadOptions, binary_masks: bool, crop, size
) -> list[tuple[np.ndarray, np.ndarray | None, dict]]:
    """(image, mask, extra columns) of every frame of one file, or ThermalDataError for the file."""
    with open_source(path, fmt, options) as source:
        frames = list(source.frames())  # the whole file is checked before any of it is written
    if mask_path is not None and len(frames) != 1:
        raise ThermalDataError(path, None, f"holds {len(frames)} frames; a mask PNG pairs with a one-frame file")
    rows = []
    for frame in frames:
        mask = load_mask_png(mask_path, frame.image.shape, 6, binary_masks) if mask_path is not None else None
        image, mask, _ = _reshape(frame.image, mask, None, crop, size, path)
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
    crop: Size | None = None,
    size: Size | None = None,
    overwrite: bool = False,
    scale: float | None = None,
    offset: float | None = None,
    strict: bool = False,
    on_skip: Callable[[ThermalDataError], None] | None = None,
    compression: str | None = "lzf",
    progress: Progress = _no_progress,
) -> dict[str, int]:
    """Import every readable file of a folder (and PNG masks); return {out: number of images}.

    ``fmt``: a reader format or ``auto``; ``options`` (or ``scale``/``offset``) as in
    :class:`~tiaug.io.readers.ReadOptions`. A file refused by its reader is passed to ``on_skip`` and left
    out (``strict``: raised instead); if no file can be imported the error lists the refusals. Output rows
    record ``source_file``, ``frame_index`` (frame within that file) and ``source_meta`` (JSON: format,
    camera, emissivity, timestamp, ...); the attribute ``tiaug/skipped`` lists the files left out.
    """
    root = Path(folder)
    options = options or ReadOptions(scale=scale, offset=offset)
    pairs = find_folder_items(root, masks_dir, mask_suffix, fmt)
    check_output_path(out, overwrite=overwrite)
    has_masks = pairs[0][1] is not None
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
    skipped: list[ThermalDataError] = []
    with atomic_outputs([out], overwrite=overwrite) as (tmp,), h5py.File(tmp, "w") as f:
        sink = _Sink(f, has_masks, None, FOLDER_COLUMNS, compression, attrs)
        for img_path, mask_path in progress(pairs):
            try:
                rows = _file_rows(img_path, mask_path, fmt, options, binary_masks, crop, size)
            except ThermalDataError as e:
                if strict:
                    raise
                skipped.append(e)
                if on_skip is not None:
                    on_skip(e)
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
