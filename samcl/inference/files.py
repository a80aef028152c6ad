"""Segmenting thermal images from files: masks as PNG, overlays, and optionally one HDF5 of masks.

Inputs (:func:`find_sources`):

- an HDF5 file of the data contract (``images`` float32 (N, H, W) degrees Celsius; masks, if any, unused);
- a ``.npy`` file: float temperatures in degrees Celsius, (H, W) or (H, W, 1) for one image, (N, H, W) or
  (N, H, W, 1) for a stack; integer, boolean, RGB(A), empty, NaN and infinite arrays are refused;
- a folder of such files (``*.npy``, ``*.h5``, ``*.hdf5``, not recursive, in name order); a file that cannot be
  read as temperatures (a stray uint8 mask, a damaged file) is skipped and named, the others are segmented.

Outputs (:func:`predict_to_folder`), named after the input so they can be traced back:

- ``<stem>_mask.png`` (one image per ``.npy``) or ``<stem>_<row:05d>_mask.png`` (stacks and HDF5 rows):
  8-bit greyscale PNG, lossless, pixel value = class index (0 background, 1 skin, ...; nearly black to the
  eye); with ``colour_masks=True`` also ``<same>_mask_colour.png``, the classes in their colours (RGB);
- ``<same>_overlay.png``: the temperatures in a thermal colour map with their colour bar in degrees Celsius
  and the predicted class outlines, beside an opaque map of the predicted classes, with a legend (class, %
  of pixels);
- ``<input stem>_regions.csv``: one row per image with each class's pixel count and mean, maximum, minimum (and
  chosen percentiles of) temperature in degrees Celsius (:mod:`samcl.inference.regions`); ``frame`` counts the
  images across the input in file order and, with ``fps``, ``timestamp`` is ``frame / fps`` seconds;
- with ``h5=True``, ``<input stem>_masks.h5``: a file of the data contract holding every image (``images``,
  a copy of the input temperatures), the predicted ``masks`` uint8 (N, H, W), ``source`` (input file name,
  one string per row), ``source_index`` (row in that file) and attributes ``classes`` (the checkpoint's)
  and ``samcl/predict`` (JSON: checkpoint, model, input). All images must then have one size.

Everything is written into a hidden staging folder beside the output folder and moved into place when every
image is done: a refused input or an interrupted run leaves the output folder as it was. Inputs are only read.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from samcl.inference.regions import RegionsCSV
from tiaug.display import class_colour, class_palette, colourbar_extend, robust_range
from tiaug.io import STR, atomic_folder, create_thermal_h5, open_thermal
from tiaug.validation import check_float_pixels, check_single_channel, check_thermal_image

if TYPE_CHECKING:  # torch loads with the model, not with the module
    from matplotlib.figure import Figure

    from samcl.inference.predictor import Predictor

NPY_SUFFIXES = (".npy",)
MASK_PNG_COMPRESSION = 1  # zlib level: lossless either way; level 6 (PIL's default) costs 10x the time per mask
H5_SUFFIXES = (".h5", ".hdf5")


@dataclass(frozen=True)
class Source:
    """One input file: ``count`` images of ``shape`` (H, W); ``stacked``: output names carry row numbers."""

    path: Path
    kind: str  # "npy" or "h5"
    count: int
    shape: tuple[int, int]
    stacked: bool
    label: str = ""  # name shown in messages and stored in the HDF5 output's ``source`` column

    def base_name(self, row: int) -> str:
        return f"{self.path.stem}_{row:05d}" if self.stacked else self.path.stem

    def batches(self, batch_size: int) -> Iterator[tuple[list[int], np.ndarray]]:
        """(rows, images (B, H, W) float32 degrees Celsius), every image validated."""
        if self.kind == "h5":
            with open_thermal(self.path) as reader:
                for batch in reader.iter_batches(batch_size):
                    yield batch.index.tolist(), batch.images
            return
        array = _load_npy(self.path)
        stack = array.reshape(self.count, *self.shape)
        for a in range(0, self.count, batch_size):
            rows = list(range(a, min(a + batch_size, self.count)))
            images = np.empty((len(rows), *self.shape), np.float32)
            for k, row in enumerate(rows):
                name = f"{self.path}" + (f" image {row}" if self.stacked else "")
                view, _, _ = check_thermal_image(np.asarray(stack[row]), name=name)
                images[k] = view
            yield rows, images


def _load_npy(path: Path) -> np.ndarray:
    try:
        return np.load(path, mmap_mode="r", allow_pickle=False)
    except (ValueError, OSError, EOFError) as e:
        raise ValueError(f"{path}: not a readable .npy array ({e})") from None


def npy_source(path: Path, label: str = "") -> Source:
    """Read a ``.npy`` header (memory-mapped, no pixels) and check its shape and dtype."""
    array = _load_npy(path)
    shape, dtype = array.shape, array.dtype
    check_float_pixels(dtype, f"{path}: array")
    check_single_channel(shape, f"{path}: array", image_ndims=(2, 3))
    if len(shape) == 2:
        count, hw, stacked = 1, shape, False
    elif len(shape) == 3 and shape[2] == 1:
        count, hw, stacked = 1, shape[:2], False
    elif len(shape) == 3 or (len(shape) == 4 and shape[3] == 1):
        count, hw, stacked = shape[0], shape[1:3], True
    else:
        raise ValueError(f"{path}: array must have shape (H, W) or (N, H, W) (degrees Celsius), got {shape}")
    if count == 0 or 0 in hw:
        raise ValueError(f"{path}: array is empty (shape {shape}): there are no images to segment")
    return Source(path, "npy", int(count), (int(hw[0]), int(hw[1])), stacked, label or path.name)


def h5_source(path: Path, label: str = "") -> Source:
    """Open and validate the structure of a thermal HDF5 file (pixels are checked while streaming)."""
    with open_thermal(path) as reader:
        return Source(path, "h5", reader.n, (reader.height, reader.width), True, label or path.name)


def find_sources(path: str | Path, skipped: list[str] | None = None) -> list[Source]:
    """The input files of INPUT (a ``.npy`` file, an HDF5 file, or a folder of them), validated up front.

    In a folder, a file whose header cannot be read as temperatures is left out and described in ``skipped``
    (whatever its reader raised); a folder with no readable file is an error naming the first problems.
    """
    path = Path(path)
    if not path.exists():
        raise ValueError(f"{path}: input not found")
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in NPY_SUFFIXES + H5_SUFFIXES)
        if not files:
            raise ValueError(f"{path}: the folder holds no .npy or .h5 files to segment")
        sources, problems = [], []
        for p in files:
            try:
                sources.append(npy_source(p) if p.suffix.lower() in NPY_SUFFIXES else h5_source(p))
            except Exception as e:  # any reader failure skips the file, never the folder
                problems.append(str(e) if str(p) in str(e) else f"{p}: {e}")
        if not sources:
            raise ValueError(f"{path}: no file could be read: {'; '.join(problems[:3])}")
        if skipped is not None:
            skipped.extend(problems)
        return sources
    suffix = path.suffix.lower()
    if suffix in NPY_SUFFIXES:
        return [npy_source(path)]
    if suffix in H5_SUFFIXES:
        return [h5_source(path)]
    raise ValueError(f"{path}: expected a .npy file, an HDF5 file (.h5, .hdf5) or a folder of them")


# ---------------------------------------------------------------------------------------------------------
# Pictures


def _checked_mask(mask: np.ndarray) -> np.ndarray:
    mask = np.asarray(mask)
    if mask.ndim != 2 or mask.dtype.kind not in "iub" or (mask.size and (mask.min() < 0 or mask.max() > 255)):
        raise ValueError(f"mask must be (H, W) integers in 0..255, got {mask.dtype} {mask.shape}")
    return np.ascontiguousarray(mask, dtype=np.uint8)


def write_mask_png(mask: np.ndarray, path: str | Path) -> None:
    """An (H, W) class-index mask as an 8-bit greyscale PNG (lossless; pixel value = class index)."""
    from PIL import Image

    Image.fromarray(_checked_mask(mask)).save(path, format="PNG", compress_level=MASK_PNG_COMPRESSION)


def write_colour_mask_png(mask: np.ndarray, path: str | Path) -> None:
    """An (H, W) class-index mask in the class colours (8-bit RGB PNG, for the eye; the index PNG is the data)."""
    from PIL import Image

    Image.fromarray(class_palette()[_checked_mask(mask)]).save(path, format="PNG")


def read_mask_png(path: str | Path) -> np.ndarray:
    """Read a mask written by :func:`write_mask_png`: (H, W) uint8 class indices."""
    from PIL import Image

    with Image.open(path) as im:
        if im.mode != "L":
            raise ValueError(f"{path}: expected an 8-bit greyscale mask PNG, got mode {im.mode}")
        return np.asarray(im, dtype=np.uint8).copy()


def overlay_figure(
    image: np.ndarray, mask: np.ndarray, classes: Sequence[str], *, title: str = "", cmap: str = "inferno"
) -> Figure:
    """Two panels: the temperatures (thermal colour map with its colour bar in degrees Celsius, the predicted
    class outlines in the class colours) and, beside them, the predicted classes as an opaque map, with a
    legend of the class names and their share of the pixels.

    The colour range is the 2nd to 98th percentile of the image (:func:`tiaug.display.robust_range`). Opaque
    classes and outlines keep their colours whatever the temperature under them, unlike tints blended into
    the colour map (skin over a hot background would look like another class).
    """
    from matplotlib.colors import Normalize
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    vmin, vmax = robust_range(image)
    norm = Normalize(vmin, vmax, clip=True)
    h, w = image.shape
    cell = 3.2
    fig = Figure(figsize=(2 * cell * w / max(h, w) + 1.4, cell * h / max(h, w) + 1.0), layout="constrained")
    ax_t, ax_c = fig.subplots(1, 2)
    shown = ax_t.imshow(image, cmap=cmap, norm=norm, interpolation="nearest")
    present = [c for c in range(1, len(classes)) if (mask == c).any()]
    for c in present:
        ax_t.contour(mask == c, levels=[0.5], colors=[class_colour(c)], linewidths=0.8)
    ax_c.imshow(class_palette()[mask], interpolation="nearest")
    ax_t.set_title("temperature, predicted outlines", fontsize=8)
    ax_c.set_title("predicted classes", fontsize=8)
    for ax in (ax_t, ax_c):
        ax.set_axis_off()
    bar = fig.colorbar(shown, ax=ax_t, fraction=0.046, pad=0.02, extend=colourbar_extend(image, vmin, vmax))
    bar.set_label("temperature (°C)", fontsize=8)
    bar.ax.tick_params(labelsize=7)
    handles = [
        Patch(facecolor=class_colour(c), edgecolor="#888888", label=f"{name} {100 * np.mean(mask == c):.1f}%")
        for c, name in enumerate(classes)
    ]
    if handles:
        fig.legend(handles=handles, loc="outside lower center", ncol=min(len(handles), 6), fontsize=7, frameon=False)
    if title:
        fig.suptitle(title, fontsize=8)
    return fig


def render_overlay(
    image: np.ndarray,
    mask: np.ndarray,
    classes: Sequence[str],
    path: str | Path,
    *,
    title: str = "",
    cmap: str = "inferno",
) -> None:
    """Write :func:`overlay_figure` of one image (H, W) degrees Celsius and its class mask (H, W) to a PNG."""
    overlay_figure(image, mask, classes, title=title, cmap=cmap).savefig(
        path, format="png", dpi=110, bbox_inches="tight"
    )


# ---------------------------------------------------------------------------------------------------------
# The whole job


@dataclass
class PredictionSummary:
    """What :func:`predict_to_folder` wrote (file names relative to ``out``)."""

    out: Path
    images: int = 0
    masks: list[str] = field(default_factory=list)
    colour_masks: list[str] = field(default_factory=list)
    overlays: list[str] = field(default_factory=list)
    h5: str | None = None
    csv: str | None = None
    skipped: list[str] = field(default_factory=list)


def _plan(
    sources: Sequence[Source], input_path: Path, h5: bool, suffixes: Sequence[str]
) -> tuple[list[str], str | None, str]:
    stem = input_path.stem if input_path.is_file() else input_path.name
    names: dict[str, Source] = {}
    for s in sources:
        for row in range(s.count):
            base = s.base_name(row)
            for name in [f"{base}{suffix}" for suffix in suffixes]:
                if name in names:
                    raise ValueError(
                        f"{names[name].path} and {s.path} would both write {name}; rename one of the inputs"
                    )
                names[name] = s
    h5_name = None
    if h5:
        shapes = sorted({s.shape for s in sources})
        if len(shapes) > 1:
            by_shape = {s.shape: s.path.name for s in sources}
            listed = ", ".join(f"{hh}x{ww} ({by_shape[(hh, ww)]})" for hh, ww in shapes[:4])
            raise ValueError(f"--h5 needs images of one size; {input_path} holds {listed}")
        h5_name = f"{stem}_masks.h5"
    return list(names), h5_name, f"{stem}_regions.csv"


def predict_to_folder(
    model: Predictor,
    input_path: str | Path,
    out: str | Path,
    *,
    h5: bool = False,
    overlays: bool = True,
    colour_masks: bool = False,
    overwrite: bool = False,
    batch_size: int = 8,
    fps: float | None = None,
    percentiles: tuple[float, ...] = (),
    progress: Callable[[int, int], None] | None = None,
) -> PredictionSummary:
    """Segment every image of ``input_path`` with ``model`` and write the outputs described above into ``out``.

    ``fps``: frames per second of the images in file order (fills the CSV's ``timestamp``); ``percentiles``:
    0..100, extra CSV columns per class. ``progress(images done, images)`` is called after each batch; files of a
    folder that cannot be read are listed in the summary's ``skipped``. Raises ``ValueError`` /
    ``ThermalDataError`` / ``OutputPathError`` naming the problem; then ``out`` is left as it was.
    """
    if batch_size < 1:
        raise ValueError(f"batch size must be >= 1, got {batch_size}")
    input_path, out = Path(input_path), Path(out)
    summary = PredictionSummary(out)
    sources = find_sources(input_path, summary.skipped)
    suffixes = ["_mask.png"] + (["_mask_colour.png"] if colour_masks else []) + (["_overlay.png"] if overlays else [])
    names, h5_name, csv_name = _plan(sources, input_path, h5, suffixes)
    names = [*names, csv_name, *([h5_name] if h5_name else [])]
    total = sum(s.count for s in sources)
    with atomic_folder(out, names, overwrite=overwrite, inputs=[input_path, model.source]) as staging:
        with contextlib.ExitStack() as stack:
            regions = stack.enter_context(RegionsCSV(staging / csv_name, model.classes, percentiles=percentiles))
            writer = None
            if h5_name is not None:
                meta = {"checkpoint": str(model.source), "model": model.spec["name"], "input": str(input_path)}
                writer = stack.enter_context(
                    create_thermal_h5(
                        staging / h5_name,
                        *sources[0].shape,
                        classes=model.classes,
                        compression="lzf",
                        attrs={"samcl/predict": meta},
                    )
                )
                writer.add_column("source", STR)
                writer.add_column("source_index", np.int64)
            for source in sources:
                for rows, images in source.batches(batch_size):
                    labels = model.predict(images)
                    stats = []
                    for k, row in enumerate(rows):
                        base = source.base_name(row)
                        frame = summary.images + k
                        stamp = frame / fps if fps else None
                        stats.append((source.label, frame, base, stamp, images[k], labels[k]))
                        write_mask_png(labels[k], staging / f"{base}_mask.png")
                        summary.masks.append(f"{base}_mask.png")
                        if colour_masks:
                            write_colour_mask_png(labels[k], staging / f"{base}_mask_colour.png")
                            summary.colour_masks.append(f"{base}_mask_colour.png")
                        if overlays:
                            title = source.label + (f", image {row}" if source.stacked else "")
                            render_overlay(
                                images[k], labels[k], model.classes, staging / f"{base}_overlay.png", title=title
                            )
                            summary.overlays.append(f"{base}_overlay.png")
                    regions.add(stats)
                    if writer is not None:
                        writer.append(
                            images, labels, extra={"source": [source.label] * len(rows), "source_index": rows}
                        )
                    summary.images += len(rows)
                    if progress is not None:
                        progress(summary.images, total)
        summary.h5 = h5_name
        summary.csv = csv_name
    return summary


def describe_outputs(summary: PredictionSummary) -> dict[str, Any]:
    """A JSON-able listing of what was written."""
    return {
        "out": str(summary.out),
        "images": summary.images,
        "masks": summary.masks,
        "colour_masks": summary.colour_masks,
        "overlays": summary.overlays,
        "h5": summary.h5,
        "csv": summary.csv,
    }


__all__ = [
    "PredictionSummary",
    "Source",
    "class_colour",
    "describe_outputs",
    "find_sources",
    "overlay_figure",
    "predict_to_folder",
    "read_mask_png",
    "render_overlay",
    "write_colour_mask_png",
    "write_mask_png",
]
