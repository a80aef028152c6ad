"""CLI plumbing shared by the ``tiaug`` and ``samcl-*`` commands: size options, error reporting, stop signals,
the progress bar, and the options every command set uses."""

from __future__ import annotations

import contextlib
import re
import signal
import sys
import threading
from collections.abc import Iterable, Iterator
from typing import Any

import click

from tiaug.io.codecs import COMPRESSIONS, DEFAULT_COMPRESSION, dataset_filters
from tiaug.io.errors import TiaugIOError

#: click settings of every command: -h as --help, help text up to 100 columns.
CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}
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


_STOP_REQUESTED: list[int] = []  # signal numbers received, for loops to re-check (see ``check_stop``)


def _raise_for(signum: int) -> None:
    if signum == signal.SIGINT:
        raise KeyboardInterrupt
    raise SystemExit(128 + signum)


def exit_cleanly_on_sigterm() -> None:
    """Make SIGTERM (and Ctrl-C) stop the command so whole-or-nothing outputs delete their temporary files.

    The handler raises ``SystemExit(143)`` (``KeyboardInterrupt`` for SIGINT) and remembers the signal: an
    exception raised while Python runs a finalizer is swallowed, so long loops also call :func:`check_stop`
    (``progress_bar`` does it for every item) and the command stops at the next item anyway.
    """
    if threading.current_thread() is not threading.main_thread():
        return

    def _handler(signum: int, frame: Any) -> None:
        _STOP_REQUESTED.append(signum)
        _raise_for(signum)

    for signum in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(ValueError, OSError):
            signal.signal(signum, _handler)


def check_stop() -> None:
    """Raise again if a stop signal arrived whose exception was swallowed (see ``exit_cleanly_on_sigterm``)."""
    if _STOP_REQUESTED:
        _raise_for(_STOP_REQUESTED[0])


class Progress:
    """The one progress bar of every command: tqdm on stderr, drawn only when stderr is a terminal (logs stay
    clean), and every update first honours a stop signal (:func:`check_stop`).

    Library functions report ``progress(done, total)`` (absolute counts), so a command never opens an input
    only to count its rows: pass :meth:`to` as their ``progress`` callback. Loops over an iterable use
    :meth:`iterate` (or :func:`progress_bar`).
    """

    def __init__(self, total: int | None = None, desc: str = "", *, unit: str = "img", enabled: bool = True,
                 initial: int = 0, leave: bool = False) -> None:  # fmt: skip
        self.done, self.total = initial, total  # as last reported (also when the bar is not drawn)
        from tqdm import tqdm  # here, not at the top: commands start without it

        self.bar = tqdm(total=total, initial=initial, desc=desc, unit=unit, file=sys.stderr, dynamic_ncols=True,
                        leave=leave, disable=None if enabled else True)  # fmt: skip

    def to(self, done: int, total: int | None = None) -> None:
        """Show ``done`` of ``total`` (the total may become known with the first report)."""
        check_stop()
        if total is not None and total != self.total:
            self.total = self.bar.total = total
        self.bar.update(done - self.done)
        self.done = done

    def postfix(self, **values: object) -> None:
        """Short ``key=value`` figures after the bar (e.g. the loss)."""
        self.bar.set_postfix(values, refresh=False)

    def iterate(self, iterable: Iterable) -> Iterator:
        """Yield the items of ``iterable``, one step of the bar each."""
        for item in iterable:
            check_stop()
            yield item
            self.bar.update(1)

    def close(self) -> None:
        self.bar.close()

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def progress_bar(
    iterable: Iterable, *, total: int | None = None, desc: str = "", unit: str = "img", enabled: bool = True
) -> Iterator:
    """``iterable`` with a :class:`Progress` bar (closed when the iteration ends)."""
    with Progress(total, desc, unit=unit, enabled=enabled) as bar:
        yield from bar.iterate(iterable)


progress_flag = click.option(
    "--progress/--no-progress",
    default=True,
    show_default=True,
    help="Progress bar on stderr (on a terminal).",
)
overwrite_flag = click.option("--overwrite", is_flag=True, help="Replace OUT if it exists (refused otherwise).")


def _compression(ctx: click.Context, param: click.Parameter, value: str) -> str:
    """Refuse a compression whose optional dependency is missing before any work is done."""
    try:
        dataset_filters(value)
    except ImportError as e:
        raise click.BadParameter(str(e), ctx=ctx, param=param) from None
    return value


compression_option = click.option(
    "--compression",
    type=click.Choice(COMPRESSIONS),
    default=DEFAULT_COMPRESSION,
    show_default=True,
    callback=_compression,
    help="HDF5 compression of the output datasets: none is the fastest and opens everywhere; blosc2-zstd gives "
    "the smallest files (readers need hdf5plugin, see tiaug.io.codecs).",
)
