"""``tiaug import-tfdb`` and ``tiaug import-folder``: bring existing thermal images into the HDF5 contract."""

from __future__ import annotations

import ast
import functools
import importlib.util
from collections.abc import Callable, Sized
from pathlib import Path
from typing import Any

import click

from tiaug.cli.common import SEED, FiniteFloat, command, h5_output_options, path_argument, progress_flag, size_option
from tiaug.cli.reader_options import (
    offset_option,
    read_options,
    reader_options,
    scale_option,
    with_format_listing,
)
from tiaug.progress import Progress

#: the importers behind the commands, as "module:function" (imported when a command runs: OpenCV, h5py)
TFDB, FOLDER = "tiaug.io.importers.tfdb:import_tfdb", "tiaug.io.importers.folder:import_folder"


@functools.cache
def _signature(spec: str) -> ast.arguments:
    """The arguments of the function ``module:function``, read from its source without importing it."""
    module, _, function = spec.partition(":")
    spec_found = importlib.util.find_spec(module)
    if spec_found is None or spec_found.origin is None:
        raise LookupError(f"no module {module}")
    source = spec_found.origin
    for node in ast.parse(Path(source).read_text(encoding="utf-8")).body:
        if isinstance(node, ast.FunctionDef) and node.name == function:
            return node.args
    raise LookupError(f"no function {function} in {module}")


def _default(spec: str, name: str) -> Any:
    """An importer's default for one of its arguments (the options show and use it), from its signature."""
    args = _signature(spec)
    positional = args.posonlyargs + args.args
    defaults: dict[ast.arg, ast.expr | None] = dict(
        zip(positional[len(positional) - len(args.defaults) :], args.defaults, strict=True)
    )
    defaults.update(zip(args.kwonlyargs, args.kw_defaults, strict=True))
    return next(ast.literal_eval(value) for arg, value in defaults.items() if arg.arg == name and value is not None)


_crop = click.option(
    "--crop",
    callback=size_option,
    metavar="HxW",
    help="Cut the central HxW window (height x width, pixels) first.",
)
_resize = click.option(
    "--resize",
    "size",
    callback=size_option,
    metavar="HxW",
    help="Then resize to HxW pixels (the paper used 256x320).",
)
_scale = scale_option
_offset = offset_option


def _run(
    importer: Callable[..., dict[str, int]], name: str, progress: bool, skipped: Sized = (), **arguments: Any
) -> None:
    """Run an importer with the command's arguments (same names) and report what it wrote (and skipped)."""
    with Progress(desc=name, enabled=progress) as bar:
        result = importer(**arguments, progress=bar.to)
    note = f" ({len(skipped)} file(s) skipped, listed above)" if skipped else ""
    for path, n in result.items():
        click.echo(f"wrote {n} images to {path}{note}", err=True)


@command(
    "import-tfdb",
    examples=(
        "tiaug import-tfdb TFDB_DIR tfdb.h5 --crop 768x1024 --resize 256x320 --split-val 0.2",
        "tiaug import-tfdb TFDB_DIR tfdb.h5 --skip-unlabelled",
    ),
)
@path_argument("folder", "DIR", folder=True)
@path_argument("out", "OUT.h5")
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
@click.option("--seed", type=SEED, default=_default(TFDB, "seed"), show_default=True, help="Seed of the split.")
@_scale
@_offset
@click.option(
    "--forehead",
    type=FiniteFloat(min=0.0),
    default=_default(TFDB, "forehead"),
    show_default=True,
    help="Skin mask: lift the brow points by this fraction of the brow-chin distance (landmarks stop "
    "at the brows; 0.45 follows the facial thirds).",
)
@click.option(
    "--brow-thickness",
    type=FiniteFloat(min=0.0),
    default=_default(TFDB, "brow_thickness"),
    show_default=True,
    help="Eyebrow mask thickness as a fraction of the distance between the eye centres.",
)
@click.option("--skip-unlabelled", is_flag=True, help="Skip .npy files without a .ljson (refused otherwise).")
@h5_output_options
@progress_flag
def import_tfdb_cmd(progress: bool, **arguments: Any) -> None:
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
    from tiaug.io.importers.tfdb import import_tfdb  # OpenCV and h5py load when the command runs

    _run(import_tfdb, "import-tfdb", progress, **arguments)


@command(
    "import-folder",
    examples=(
        "tiaug import-folder flir_jpegs/ faces.h5",
        "tiaug import-folder frames/ data.h5 --masks masks/ --resize 256x320",
        "tiaug import-folder lepton_frames/ lepton.h5 --format lepton",
        "tiaug import-folder lab/ lab.h5 --scale 0.01 --offset -273.15 --classes background,face,glasses",
    ),
)
@with_format_listing
@path_argument("folder", "DIR", folder=True)
@path_argument("out", "OUT.h5")
@click.option(
    "--masks",
    "masks_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder of PNG masks.  [default: DIR itself]",
)
@click.option(
    "--mask-suffix",
    default=_default(FOLDER, "mask_suffix"),
    show_default=True,
    help="Mask of NAME.npy is NAME<suffix>.png (in a separate --masks folder NAME.png works too).",
)
@click.option("--binary-masks", is_flag=True, help="Masks are 0/255 face masks: any non-zero pixel -> skin (1).")
@click.option(
    "--classes",
    callback=lambda ctx, param, value: tuple(n.strip() for n in value.split(",")) if value else None,
    metavar="NAME,...",
    help="The masks' class names, mask value k = the k-th name.  [default: background, skin, mouth, eyes, "
    "eyebrows, nose]",
)
@click.option("--resize-masks", is_flag=True, help="Resize masks of another size to their image's (nearest neighbour).")
@_crop
@_resize
@reader_options
@click.option("--strict", is_flag=True, help="Stop at the first file that cannot be read.  [default: skip it]")
@h5_output_options
@progress_flag
def import_folder_cmd(progress: bool, scale, offset, raw_size, raw_dtype, **arguments: Any) -> None:
    """Import a folder of thermal images and camera files (and optional PNG masks) into OUT.h5, in degrees Celsius.

    \b
    Files found by content and name (--format forces one format for all; every frame of each):
    {formats}
    \b
    A file that cannot be read (truncated, no radiometric data, wrong raw size, NaN or
    integer pixels, ...) is skipped with its name and problem, the rest is imported and
    the summary says how many were skipped (--strict: stop instead); every other file of
    DIR that is neither read nor a mask is named too. Masks are single-channel PNGs of
    class indices (default 0 background, 1 skin, 2 mouth, 3 eyes, 4 eyebrows, 5 nose;
    --classes for another set) named NAME_mask.png, for every file or for none. All images must
    have one size after --crop/--resize. Files are taken in name order, not recursively;
    OUT.h5 records each row's source_file, frame_index and source_meta (JSON: format,
    camera, emissivity, timestamp). Outputs are whole or not at all; DIR is only read.
    """
    from tiaug.io.importers.folder import import_folder  # OpenCV and h5py load when the command runs

    skipped: list[str] = []

    def skip(error: Exception) -> None:
        skipped.append(str(error))
        click.echo(f"skipped {error}", err=True)

    options = read_options(scale, offset, raw_size, raw_dtype)
    _run(import_folder, "import-folder", progress, skipped, options=options, on_skip=skip, **arguments)
