"""Frames stored as arrays: .npy, (multi-page) .tiff and headerless raw streams, with their unit conversions.

Containers (how frames are stored) and formats (what a value means) are independent:

- ``npy``/``tiff``: float temperatures in degrees Celsius (integers need ``scale``/``offset``);
- ``lepton``: FLIR Lepton radiometric (TLinear) counts in centi-kelvin: ``raw * 0.01 - 273.15``;
- ``tc001``: TOPDON TC001 / InfiRay P2-class UVC frames, 256 wide and twice the sensor's height: the top half
  is a palette picture, the bottom half uint16 temperatures in 1/64 K: ``raw / 64 - 273.15``. A frame may be
  stored as (2H, W) uint16 or as OpenCV gives it without RGB conversion, (2H, W, 2) uint8 byte pairs;
- ``raw``: counts with a documented ``scale`` and ``offset`` (e.g. 0.04 K per count: 0.04 and -273.15).

A .npy array holds one frame ((H, W) or (H, W, 1)) or a stack ((N, H, W)); a .tiff one frame per page; a
headerless file N frames of ``raw_size`` pixels of ``raw_dtype`` back to back. Raw files are read frame by frame
and .npy files memory-mapped: one frame is read at a time.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from tiaug.io.errors import ThermalDataError
from tiaug.io.readers.base import Frame, FrameSource, ReadOptions, ReadOptionsError
from tiaug.io.readers.filebytes import FileBytes
from tiaug.io.readers.formats import MAX_FRAME, RAW_DTYPES
from tiaug.io.readers.png import PngFrames
from tiaug.io.readers.units import KELVIN_OFFSET, stored_to_celsius, to_celsius

TC001_FRAME = (384, 256)  # rows x columns of one UVC frame: 192 picture rows above 192 temperature rows
LEPTON_FRAME = (120, 160)  # Lepton 3.x; Lepton 2.x is 60x80 (--raw-size 60x80)
TC001_SCALE = 1.0 / 64.0
LEPTON_SCALE = 0.01
CAMERA_NAMES = {"tc001": "TOPDON TC001 / InfiRay P2-class", "lepton": "FLIR Lepton"}

Convert = Callable[[np.ndarray, str], np.ndarray]


def _rgb_refusal(shape: tuple[int, ...]) -> str:
    return (
        f"array of shape {shape} looks like RGB/RGBA pictures; thermal frames are single-channel temperature "
        "maps or camera counts, not colour-mapped renders"
    )


def load_npy_stack(path: Path) -> np.ndarray:
    """A .npy file as a memory-mapped (N, H, W) stack, or (N, H, W, 2) for uint8 byte pairs (TC001 via OpenCV)."""
    try:
        a = np.load(path, mmap_mode="r", allow_pickle=False)
    except (ValueError, OSError, EOFError) as e:
        raise ThermalDataError(path, None, f"not a readable .npy array ({e})") from None
    shape = a.shape
    pairs = a.dtype == np.uint8 and shape[-1:] == (2,)
    if a.ndim in (3, 4) and shape[-1] in (3, 4):
        raise ThermalDataError(path, None, _rgb_refusal(shape))
    if a.ndim == 2 or (a.ndim == 3 and (shape[-1] == 1 or pairs)):
        a = a[None]
    if a.ndim == 4 and (shape[-1] == 1 or pairs):
        a = a if pairs else a[..., 0]
    elif a.ndim != 3:
        raise ThermalDataError(path, None, f"array must have shape (H, W) or (N, H, W), got {shape}")
    if 0 in a.shape:
        raise ThermalDataError(path, None, f"array is empty (shape {shape})")
    check_frame_size(a.shape[1:3], path)
    return a


def check_frame_size(size: tuple[int, ...], where: Any) -> None:
    """Refuse a frame of (height, width) ``size`` outside 1x1 .. :data:`MAX_FRAME` (a damaged or hostile file)."""
    if not all(0 < n <= limit for n, limit in zip(size, MAX_FRAME, strict=False)):
        raise ThermalDataError(
            where, None, f"frames of {size[0]}x{size[1]} pixels; frames are 1x1 to {MAX_FRAME[0]}x{MAX_FRAME[1]}"
        )


class TiffPages:
    """The pages of a (multi-page) TIFF as a lazily read sequence of 2-D arrays."""

    def __init__(self, path: Path) -> None:
        import tifffile  # installed with scikit-image

        try:
            self._file = tifffile.TiffFile(path)
            self._pages = self._file.pages
            n = len(self._pages)
        except (OSError, ValueError, struct.error, tifffile.TiffFileError) as e:
            raise ThermalDataError(path, None, f"not a readable TIFF, damaged or cut short ({e})") from None
        if n == 0:
            raise ThermalDataError(path, None, "TIFF holds no pages")
        self.path = path
        self.shape = (n, *self._page(0).shape)
        check_frame_size(self.shape[1:3], path)

    def _page(self, index: int) -> Any:
        try:
            return self._pages[index]
        except (OSError, ValueError, IndexError, struct.error, RuntimeError) as e:
            raise ThermalDataError(self.path, None, f"page {index} cannot be read ({e})") from None

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, index: int) -> np.ndarray:
        page = self._page(index)
        check_frame_size(page.shape[:2], f"{self.path} page {index}")
        try:
            page = page.asarray()
        except (OSError, ValueError, IndexError, struct.error, RuntimeError, MemoryError) as e:
            raise ThermalDataError(self.path, None, f"page {index} cannot be read ({e})") from None
        if page.ndim == 3 and page.shape[-1] == 1:
            page = page[..., 0]
        if page.ndim != 2:
            raise ThermalDataError(self.path, None, _rgb_refusal(page.shape) if page.ndim == 3 else "not 2-D")
        return page

    def close(self) -> None:
        self._file.close()


class RawFrames:
    """A headerless file of frames of ``size`` (H, W) and ``dtype`` back to back, read one frame at a time.

    Refuses a file that is not a whole number of frames.
    """

    def __init__(self, path: Path, size: tuple[int, int], dtype: str) -> None:
        self.dtype = np.dtype(RAW_DTYPES[dtype])
        self.size = size
        self.frame_bytes = size[0] * size[1] * self.dtype.itemsize
        self._bytes = FileBytes(path)
        total = len(self._bytes)
        n, rest = divmod(total, self.frame_bytes)
        if total == 0 or rest or n == 0:
            self.close()
        if total == 0:
            raise ThermalDataError(path, None, "is empty (0 bytes)")
        if rest or n == 0:
            raise ThermalDataError(
                path,
                None,
                f"wrong raw size: {total} bytes is not a whole number of {size[0]}x{size[1]} {dtype} frames "
                f"({self.frame_bytes} bytes each: {n} frames and {rest} bytes left over); check --raw-size HxW "
                "and --raw-dtype, or the recording is cut short",
            )
        self.count = n

    def __len__(self) -> int:
        return self.count

    def __getitem__(self, index: int) -> np.ndarray:
        if not 0 <= index < self.count:
            raise IndexError(f"frame {index} of {self.count}")
        data = self._bytes.read(index * self.frame_bytes, self.frame_bytes)
        return np.frombuffer(data, dtype=self.dtype).reshape(self.size)

    def close(self) -> None:
        self._bytes.close()


# ---------------------------------------------------------------------------------------------------------
# Conversions: one stored frame -> (H, W) float32 degrees Celsius


def tc001_counts(frame: np.ndarray, where: str) -> np.ndarray:
    """The temperature half of a TC001/InfiRay UVC frame, as uint16 counts of 1/64 K (H, W)."""
    frame = np.asarray(frame)
    if frame.ndim == 3 and frame.dtype == np.uint8 and frame.shape[-1] == 2:
        frame = np.ascontiguousarray(frame).view("<u2")[..., 0]  # OpenCV's unconverted YUYV: low byte first
    if frame.ndim != 2 or frame.dtype.kind not in "iu":
        raise ThermalDataError(
            where,
            None,
            f"a TC001 frame is a 256x384 (W x H) uint16 frame pair, got {frame.dtype} {frame.shape}",
        )
    if frame.shape[0] % 2:
        raise ThermalDataError(
            where, None, f"a TC001 frame pair has an even number of rows (picture, then temperatures): {frame.shape}"
        )
    return frame[frame.shape[0] // 2 :]


def tc001_to_celsius(frame: np.ndarray, where: str) -> np.ndarray:
    """A TC001/InfiRay frame pair (see :func:`tc001_counts`) -> (H, W) float32 degrees Celsius."""
    return to_celsius(tc001_counts(frame, where), where, TC001_SCALE, KELVIN_OFFSET)


def _converter(fmt: str, opts: ReadOptions) -> Convert:
    if fmt == "tc001":
        return tc001_to_celsius
    if fmt == "lepton":
        scale = LEPTON_SCALE if opts.scale is None else opts.scale
        offset = KELVIN_OFFSET if opts.offset is None else opts.offset

        def lepton(f: np.ndarray, where: str) -> np.ndarray:
            if np.asarray(f).dtype.kind not in "iu":
                raise ThermalDataError(where, None, f"Lepton frames are integer counts (centi-kelvin), got {f.dtype}")
            return to_celsius(f, where, scale, offset)

        return lepton
    if fmt == "raw" and opts.scale is None:
        raise ReadOptionsError(
            "--format raw needs --scale (and --offset) from the camera's documentation, e.g. 0.04 K per count: "
            "--scale 0.04 --offset -273.15"
        )
    offset = 0.0 if opts.offset is None else opts.offset
    if fmt == "raw":
        return lambda f, where: to_celsius(f, where, opts.scale, offset)

    return lambda f, where: stored_to_celsius(f, where, opts.scale, offset)


class ArraySource(FrameSource):
    """Frames of an array container (memory-mapped .npy or raw stream, TIFF pages) through a conversion."""

    def __init__(self, path: Path, fmt: str, container: Any, convert: Convert, meta: dict[str, Any]) -> None:
        super().__init__(str(path), fmt, len(container), meta)
        self.path = path
        self._container = container
        self._convert = convert

    def read(self, index: int) -> Frame:
        where = self.where(index)
        return Frame(self._convert(np.asarray(self._container[index]), where), index, dict(self.meta))

    def close(self) -> None:
        close = getattr(self._container, "close", None)
        if close is not None:
            close()
        self._container = []


#: Files that hold frames as arrays: format name -> the sequence of its frames.
CONTAINERS: dict[str, Callable[[Path], Any]] = {"npy": load_npy_stack, "tiff": TiffPages, "png": PngFrames}


def open_array(path: Path, fmt: str, opts: ReadOptions) -> ArraySource:
    """Open ``path`` (an npy, tiff or png file, or a headerless one) as format ``fmt`` (one of those containers,
    tc001, lepton, raw); ``scale``/``offset`` convert integer pixels (every pixel for ``raw``).

    The container is told by the file's first bytes: a file of another known format is refused, as is a file
    that ``fmt`` npy or tiff names but that is not one.
    """
    from tiaug.io.readers.detect import magic_format

    container_kind = magic_format(path)
    if fmt in CONTAINERS and container_kind != fmt:
        raise ThermalDataError(path, None, f"is not a {fmt} file (--format {fmt})")
    if container_kind is not None and container_kind not in CONTAINERS:
        raise ThermalDataError(path, None, f"is a {container_kind} file, not frames for --format {fmt}")
    convert = _converter(fmt, opts)
    if container_kind is not None:
        container: Any = CONTAINERS[container_kind](path)
    else:
        default = {"tc001": TC001_FRAME, "lepton": LEPTON_FRAME}.get(fmt)
        size = opts.raw_size or default
        if size is None:
            raise ReadOptionsError(f"{path}: a headerless file needs --raw-size HxW (pixels of one frame)")
        container = RawFrames(path, size, opts.raw_dtype)
    meta: dict[str, Any] = {"camera": CAMERA_NAMES[fmt]} if fmt in CAMERA_NAMES else {}
    if fmt == "raw" or (fmt in CONTAINERS and opts.scale is not None):
        meta.update(scale=opts.scale, offset=0.0 if opts.offset is None else opts.offset)
    return ArraySource(path, fmt, container, convert, meta)
