"""``tiaug import-tfdb`` and ``tiaug import-folder``: bring existing thermal images into the HDF5 contract."""

from __future__ import annotations

from pathlib import Path

import click

from tiaug.cli.common import (
    compression_option,
    exit_cleanly_on_sigterm,
    overwrite_flag,
    progress_bar,
    progress_flag,
    reported_errors,
    size_option,
)
from tiaug.cli.reader_options import offset_option, read_options, reader_options, scale_option

_crop = click.option(
    "--crop",
    callback=size_option,
    metavar="HxW",
    help="Cut the central HxW window (height x width, pixels) first.",
)
_resize = click.option(
    "--resize",
    callback=size_option,
    metavar="HxW",
    help="Then resize to HxW pixels (the paper used 256x320).",
)
_scale = scale_option
_offset = offset_option


def _report(result: dict[str, int], skipped: int = 0) -> None:
    note = f" ({skipped} file(s) skipped, listed above)" if skipped else ""
    for path, n in result.items():
        click.echo(f"wrote {n} images to {path}{note}", err=True)


@click.command("import-tfdb")
@click.argument("folder", metavar="DIR", type=click.Path(file_okay=False, path_type=Path))
@click.argument("out", metavar="OUT.h5", type=click.Path(dir_okay=False, path_type=Path))
@_crop
@_resize
@click.option(
    "--split-val",
    type=click.FloatRange(0.0, 1.0, min_open=True, max_open=True),
    default=None,
    metavar="FRACTION",
    help="Subject-wise split: about FRACTION of the subjects go to OUT_val.h5, the rest to "
    "OUT_train.h5 (instead of OUT.h5).",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the subject-wise split.")
@_scale
@_offset
@click.option(
    "--forehead",
    type=click.FloatRange(min=0.0),
    default=0.45,
    show_default=True,
    help="Skin mask: lift the brow points by this fraction of the brow-chin distance (landmarks stop "
    "at the brows; 0.45 follows the facial thirds).",
)
@click.option(
    "--brow-thickness",
    type=click.FloatRange(min=0.0),
    default=0.09,
    show_default=True,
    help="Eyebrow mask thickness as a fraction of the distance between the eye centres.",
)
@click.option("--skip-unlabelled", is_flag=True, help="Skip .npy files without a .ljson (refused otherwise).")
@overwrite_flag
@compression_option
@progress_flag
def import_tfdb_cmd(
    folder: Path,
    out: Path,
    crop,
    resize,
    split_val,
    seed,
    scale,
    offset,
    forehead,
    brow_thickness,
    skip_unlabelled,
    overwrite,
    compression,
    progress,
) -> None:
    """Import the Thermal Face Database (Kopaczka et al.) from DIR into OUT.h5.

    \b
    DIR (searched recursively) holds temperature arrays NAME.npy (degrees Celsius) beside menpo landmark
    files NAME.ljson: {"landmarks": {"points": [[y, x], ...]}, "labels": [{"label": "chin", "mask": [...]},
    ...]} with groups such as chin, leyebrow, reyebrow, leye, reye, centernose, bottomnose, outermouth,
    innermouth (menpo's iBUG names work too; 68 points without labels use the iBUG ranges).

    \b
    Masks (uint8, 0 background, 1 skin, 2 mouth, 3 eyes, 4 eyebrows, 5 nose) come from the landmark groups
    after crop and resize: skin = convex hull of the jaw and brows (brows lifted by --forehead), then the
    convex hulls of mouth, each eye and the nose, and a band under each brow line, painted in that order.
    OUT.h5 also gets landmarks (x, y) and per-row source_file and subject (the second _-separated field of
    the file name, e.g. irface_sub012_... -> sub012). Outputs are whole or not at all; DIR is only read.
    """
    exit_cleanly_on_sigterm()
    from tiaug.io.tfdb import import_tfdb  # OpenCV and h5py load when the command runs

    with reported_errors():
        result = import_tfdb(
            folder,
            out,
            crop=crop,
            size=resize,
            split_val=split_val,
            seed=seed,
            overwrite=overwrite,
            scale=scale,
            offset=offset,
            forehead=forehead,
            brow_thickness=brow_thickness,
            skip_unlabelled=skip_unlabelled,
            compression=compression,
            progress=lambda it: progress_bar(it, desc="import-tfdb", enabled=progress),
        )
    _report(result)


@click.command("import-folder")
@click.argument("folder", metavar="DIR", type=click.Path(file_okay=False, path_type=Path))
@click.argument("out", metavar="OUT.h5", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--masks",
    "masks_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder of PNG masks (default: DIR itself).",
)
@click.option(
    "--mask-suffix",
    default="_mask",
    show_default=True,
    help="Mask of NAME.npy is NAME<suffix>.png (in a separate --masks folder NAME.png works too).",
)
@click.option("--binary-masks", is_flag=True, help="Masks are 0/255 face masks: any non-zero pixel -> skin (1).")
@_crop
@_resize
@reader_options
@click.option("--strict", is_flag=True, help="Stop at the first file that cannot be read (default: skip it).")
@overwrite_flag
@compression_option
@progress_flag
def import_folder_cmd(
    folder: Path,
    out: Path,
    masks_dir,
    mask_suffix,
    binary_masks,
    crop,
    resize,
    fmt,
    raw_size,
    raw_dtype,
    scale,
    offset,
    strict,
    overwrite,
    compression,
    progress,
) -> None:
    """Import a folder of thermal images and camera files (and optional PNG masks) into OUT.h5, in degrees Celsius.

    \b
    Files found by content and name (--format forces one format for all):
      .npy, .tif/.tiff  temperatures in degrees Celsius (one frame or a stack; integer
                        counts need --scale/--offset, or --format tc001 / lepton)
      .jpg/.jpeg        FLIR radiometric JPEGs (needs pip install 'tiaug-samcl[cameras]')
      .fff, .seq        FLIR frames and sequences (every frame)
      .bin/.raw/.dat    headerless frames: only with --format tc001, lepton or raw
    \b
    A file that cannot be read (truncated, no radiometric data, wrong raw size, NaN or
    integer pixels, ...) is skipped with its name and problem, the rest is imported and
    the summary says how many were skipped (--strict: stop instead). Masks are single-
    channel PNGs of class indices 0..5 (0 background, 1 skin, 2 mouth, 3 eyes,
    4 eyebrows, 5 nose) named NAME_mask.png, for every file or for none. All images must
    have one size after --crop/--resize. Files are taken in name order, not recursively;
    OUT.h5 records each row's source_file, frame_index and source_meta (JSON: format,
    camera, emissivity, timestamp). Outputs are whole or not at all; DIR is only read.
    """
    exit_cleanly_on_sigterm()
    from tiaug.io.importers import import_folder  # OpenCV and h5py load when the command runs

    skipped: list[str] = []

    def skip(error: Exception) -> None:
        skipped.append(str(error))
        click.echo(f"skipped {error}", err=True)

    with reported_errors():
        result = import_folder(
            folder,
            out,
            fmt=fmt,
            options=read_options(scale, offset, raw_size, raw_dtype),
            masks_dir=masks_dir,
            mask_suffix=mask_suffix,
            binary_masks=binary_masks,
            crop=crop,
            size=resize,
            overwrite=overwrite,
            strict=strict,
            on_skip=skip,
            compression=compression,
            progress=lambda it: progress_bar(it, desc="import-folder", enabled=progress),
        )
    _report(result, len(skipped))
