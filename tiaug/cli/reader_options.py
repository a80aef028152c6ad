"""Options of the commands that read camera files: --format, --raw-size, --raw-dtype, --scale, --offset."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import click

from tiaug.cli.common import FiniteFloat, size_option
from tiaug.io.readers.formats import FORMATS, RAW_DTYPES, format_help, format_listing

if TYPE_CHECKING:
    from tiaug.io.readers.base import ReadOptions

format_option = click.option(
    "--format", "fmt", type=click.Choice(FORMATS), default="auto", show_default=True, help=format_help()
)
scale_option = click.option(
    "--scale",
    type=FiniteFloat(),
    default=None,
    help="Convert integer counts: T_C = raw * SCALE + OFFSET (e.g. centi-kelvin: --scale 0.01 --offset -273.15; "
    "0.04 K per count: --scale 0.04 --offset -273.15). Float files are degrees Celsius as stored; --format raw "
    "converts every value.",
)
offset_option = click.option(
    "--offset",
    type=FiniteFloat(),
    default=None,
    help="See --scale; Kelvin floats: --offset -273.15.  [default: 0, or the format's own: -273.15 for lepton]",
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


def with_format_listing(command: Callable) -> Callable:
    """Put the readable files, one line per format (:func:`format_listing`), where the command's docstring has
    the line ``{formats}`` (place this decorator below ``@command``)."""
    doc = command.__doc__ or ""
    line = next(line for line in doc.splitlines() if line.strip() == "{formats}")
    indent = line[: len(line) - len(line.lstrip())]
    command.__doc__ = doc.replace(line, "\n".join(indent + row for row in format_listing().splitlines()))
    return command


def read_options(scale: float | None, offset: float | None, raw_size, raw_dtype: str) -> ReadOptions:
    """The :class:`ReadOptions` of the option values (ValueError for an unusable combination)."""
    from tiaug.io.readers.base import ReadOptions  # NumPy loads when a command runs, not for --help

    return ReadOptions(scale=scale, offset=offset, raw_size=raw_size, raw_dtype=raw_dtype)
