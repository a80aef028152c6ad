"""Helpers shared by the sub-commands: size options, error reporting, SIGTERM, progress bars."""

from __future__ import annotations

import contextlib
import re
import signal
import sys
import threading
from collections.abc import Iterable, Iterator
from typing import Any

import click
from tqdm import tqdm

from tiaug.io.errors import TiaugIOError

_SIZE = re.compile(r"^\s*(\d+)\s*[xX×,]\s*(\d+)\s*$")


def parse_size(text: str) -> tuple[int, int]:
    """``"256x320"`` -> (256, 320): height x width in pixels."""
    m = _SIZE.match(text)
    if not m or int(m.group(1)) < 1 or int(m.group(2)) < 1:
        raise ValueError(f"size must be HxW in pixels (height x width), e.g. 256x320; got {text!r}")
    return int(m.group(1)), int(m.group(2))


def size_option(ctx: click.Context, param: click.Parameter, value: str | None) -> tuple[int, int] | None:
    """click callback for HxW options."""
    if value is None:
        return None
    try:
        return parse_size(value)
    except ValueError as e:
        raise click.BadParameter(str(e), ctx=ctx, param=param) from None


@contextlib.contextmanager
def reported_errors() -> Iterator[None]:
    """Turn refused input or output (``TiaugIOError``, ``ValueError``, ``OSError``) into a one-line CLI error.

    click prints ``Error: <message>`` and exits with status 1. Bugs (other exceptions) keep their traceback.
    """
    try:
        yield
    except (TiaugIOError, ValueError, OSError) as e:
        raise click.ClickException(str(e)) from e


def exit_cleanly_on_sigterm() -> None:
    """Make SIGTERM raise ``SystemExit`` (143) so whole-or-nothing outputs delete their temporary files."""
    if threading.current_thread() is not threading.main_thread():
        return

    def _handler(signum: int, frame: Any) -> None:
        raise SystemExit(128 + signum)

    with contextlib.suppress(ValueError, OSError):
        signal.signal(signal.SIGTERM, _handler)


def progress_bar(
    iterable: Iterable, *, total: int | None = None, desc: str = "", unit: str = "img", enabled: bool = True
) -> Iterable:
    """A tqdm progress bar on stderr when stderr is a terminal (logs stay clean), else the bare iterable."""
    if not enabled:
        return iterable
    return tqdm(
        iterable,
        total=total,
        desc=desc,
        unit=unit,
        file=sys.stderr,
        dynamic_ncols=True,
        leave=False,
        disable=None,
    )


progress_flag = click.option(
    "--progress/--no-progress",
    default=True,
    show_default=True,
    help="Progress bar on stderr (on a terminal).",
)
overwrite_flag = click.option("--overwrite", is_flag=True, help="Replace OUT if it exists (refused otherwise).")
compression_option = click.option(
    "--compression",
    type=click.Choice(["none", "lzf", "gzip"]),
    default="lzf",
    show_default=True,
    help="HDF5 compression of the output datasets.",
)
