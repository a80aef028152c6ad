"""Import thermal images into the HDF5 contract: plain folders, and what every importer shares.

The Thermal Face Database (``import_tfdb``) has its own module, :mod:`tiaug.io.tfdb`.

Plain folder (``import_folder``): ``.npy``, ``.tif`` or ``.tiff`` temperature images (not recursive) with
optional PNG masks of class indices named ``<image stem><mask_suffix>.png``.

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

import cv2
import h5py
import numpy as np

from tiaug.io.atomic import PathLike, atomic_outputs, check_output_path
from tiaug.io.errors import ThermalDataError
from tiaug.io.h5_writer import DEFAULT_COMPRESSION, STR, ThermalH5Writer
from tiaug.validation import PLAUSIBLE_C, check_float_pixels, check_mask, check_thermal_image

Size = tuple[int, int]
Progress = Callable[[Iterable], Iterable]
IMAGE_SUFFIXES = (".npy", ".tif", ".tiff")


def no_progress(it: Iterable) -> Iterable:
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


def to_celsius(raw: np.ndarray, path: PathLike, scale: float | None = None, offset: float = 0.0) -> np.ndarray:
    """Convert a stored array to an (H, W) float32 image in degrees Celsius: ``raw * scale + offset``.

    Integer arrays need an explicit ``scale`` (raw camera counts are never guessed). Refuses RGB arrays,
    NaN/inf pixels and images whose median is outside -60..200 C (probably Kelvin or counts).
    """
    raw = np.asarray(raw)
    try:
        check_float_pixels(raw.dtype, "", allow_integers=scale is not None, reason=" and no --scale given")
        view = check_thermal_image(np.asarray(raw, dtype=np.float32), name="image")[0]
    except ValueError as e:
        raise ThermalDataError(path, None, str(e)) from None
    image = view * np.float32(1.0 if scale is None else scale) + np.float32(offset)
    median = float(np.median(image))
    if not PLAUSIBLE_C[0] <= median <= PLAUSIBLE_C[1]:
        raise ThermalDataError(
            path,
            None,
            f"median {median:.1f} after conversion is not a plausible temperature in degrees Celsius: Kelvin "
            "needs --offset -273.15, raw counts need --scale and --offset from the camera's calibration",
        )
    return np.ascontiguousarray(image, dtype=np.float32)


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
    columns: tuple[str, ...]
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
            for c in self.columns:
                self.writer.add_column(c, STR)
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


def find_folder_items(folder: PathLike, masks_dir: PathLike | None, mask_suffix: str) -> list[tuple[Path, Path | None]]:
    """Images of a folder (sorted) with their mask PNGs (or None); masks must exist for all or none."""
    root = Path(folder)
    if not root.is_dir():
        raise ThermalDataError(folder, None, "is not a folder")
    mdir = Path(masks_dir) if masks_dir is not None else root
    if not mdir.is_dir():
        raise ThermalDataError(mdir, None, "mask folder not found")
    images = sorted(p for p in root.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    if not images:
        raise ThermalDataError(folder, None, f"no temperature images ({', '.join(IMAGE_SUFFIXES)}) found")
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


def import_folder(
    folder: PathLike,
    out: PathLike,
    *,
    masks_dir: PathLike | None = None,
    mask_suffix: str = "_mask",
    binary_masks: bool = False,
    crop: Size | None = None,
    size: Size | None = None,
    overwrite: bool = False,
    scale: float | None = None,
    offset: float = 0.0,
    compression: str | None = DEFAULT_COMPRESSION,
    progress: Progress = no_progress,
) -> dict[str, int]:
    """Import a folder of ``.npy``/``.tif`` temperature images (and PNG masks); return {out: n images}."""
    root = Path(folder)
    pairs = find_folder_items(root, masks_dir, mask_suffix)
    inputs = [root, *([masks_dir] if masks_dir is not None else [])]
    check_output_path(out, overwrite=overwrite, inputs=inputs)
    has_masks = pairs[0][1] is not None
    attrs = {"tiaug/import": {"source": "folder", "crop": crop, "resize": size, "scale": scale, "offset": offset}}
    with atomic_outputs([out], overwrite=overwrite, inputs=inputs) as (tmp,), h5py.File(tmp, "w") as f:
        sink = ImageSink(f, has_masks, None, ("source_file",), compression, attrs)
        for img_path, mask_path in progress(pairs):
            image = to_celsius(load_raw(img_path), img_path, scale, offset)
            mask = load_mask_png(mask_path, image.shape, 6, binary_masks) if mask_path is not None else None
            image, mask, _ = crop_and_resize(image, mask, None, crop, size, img_path)
            sink.append(image, mask, None, {"source_file": img_path.name}, img_path)
        n = sink.writer.finish()
    return {str(out): n}
