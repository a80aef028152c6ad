"""Options of the commands that read camera files: --format, --raw-size, --raw-dtype, --scale, --offset."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import click

from tiaug.cli.common import FiniteFloat, size_option
from tiaug.io.readers.formats import FORMATS, RAW_DTYPES

if TYPE_CHECKING:
    from tiaug.io.readers.base import ReadOptions

FORMAT_HELP = (
    "File format: auto (by content and name), npy, tiff (temperatures; integers need --scale), rjpeg (FLIR "
    "radiometric JPEG, needs the [cameras] extra), fff, seq (FLIR frames / sequences), tc001 (TOPDON TC001 / "
    "InfiRay 256x384 frame pairs, 1/64 K), lepton (FLIR Lepton centi-kelvin), raw (headerless, with --raw-size "
    "and --scale). Headerless files are never guessed."
)

format_option = click.option(
    "--format", "fmt", type=click.Choice(FORMATS), default="auto", show_default=True, help=FORMAT_HELP
)
scale_option = click.option(
    "--scale",
    type=FiniteFloat(),
    default=None,
    help="Convert stored values: T_C = raw * SCALE + OFFSET. Required for integer raw counts "
    "(e.g. centi-kelvin: --scale 0.01 --offset -273.15; 0.04 K per count: --scale 0.04 --offset -273.15).",
)
offset_option = click.option(
    "--offset",
    type=FiniteFloat(),
    default=None,
    help="See --scale (default 0, or the format's own: -273.15 for lepton); Kelvin floats: --offset -273.15.",
)
raw_size_option = click.option(
    "--raw-size",
    callback=size_option,
    metavar="HxW",
    help="Pixels of one frame of a headerless file (.bin/.raw): required for --format raw; lepton defaults "
    "to 120x160, tc001 to 384x256 (the whole UVC frame).",
)
raw_dtype_option = click.option(
    "--raw-dtype",
    type=click.Choice(list(RAW_DTYPES)),
    default="uint16",
    show_default=True,
    help="Pixel type of a headerless file (uint16 little-endian, uint16be, float32).",
)


def reader_options(command: Callable) -> Callable:
    """Add --format, --raw-size, --raw-dtype, --scale and --offset to a click command."""
    for option in (offset_option, scale_option, raw_dtype_option, raw_size_option, format_option):
        command = option(command)
    return command


def read_options(scale: float | None, offset: float | None, raw_size, raw_dtype: str) -> ReadOptions:
    """The :class:`ReadOptions` of the option values (ValueError for an unusable combination)."""
    from tiaug.io.readers.base import ReadOptions  # NumPy loads when a command runs, not for --help

    return ReadOptions(scale=scale, offset=offset, raw_size=raw_size, raw_dtype=raw_dtype)
