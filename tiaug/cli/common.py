"""CLI plumbing shared by the ``tiaug`` and ``samcl-*`` commands: size options, error reporting, stop signals,
the progress bar, and the options every command set uses."""

from __future__ import annotations

import contextlib
import errno
import math
import os
import signal
import sys
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import click
from tqdm import tqdm

from tiaug.errors import one_line
from tiaug.io.h5_writer import COMPRESSIONS, DEFAULT_COMPRESSION
from tiaug.signals import StopSignal, check_stop, stop_on_signals
from tiaug.validation import parse_size

#: click settings of every command: -h as --help, help text up to 100 columns.
CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


class FiniteFloat(click.FloatRange):
    """A float option that also refuses nan and inf (``click.FloatRange`` lets them through)."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> float:
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number", param, ctx)
        return number

    def _describe_range(self) -> str:
        return "finite" if self.min is None and self.max is None else super()._describe_range()


#: Seeds are non-negative integers (numpy's SeedSequence refuses the others).
SEED = click.IntRange(min=0)


def size_option(ctx: click.Context, param: click.Parameter, value: str | None) -> tuple[int, int] | None:
    """click callback for HxW options."""
    if value is None:
        return None
    try:
        return parse_size(value)
    except ValueError as e:
        raise click.BadParameter(str(e), ctx=ctx, param=param) from None


#: Exit statuses: refused input/output (1), command-line usage (2), a bug (70, EX_SOFTWARE), Ctrl-C (130),
#: a closed output pipe (141); a stop signal exits with 128 + its number (SIGTERM: 143).
EXIT_USER, EXIT_USAGE, EXIT_BUG, EXIT_INTERRUPTED, EXIT_BROKEN_PIPE = 1, 2, 70, 130, 141
TRACEBACK_ENV = "TIAUG_TRACEBACK"  # set to 1 to see the traceback of an internal error


def _say(message: str) -> None:
    with contextlib.suppress(OSError, ValueError):
        click.echo(message, err=True)


def report(error: BaseException, ctx: click.Context | None = None) -> int:
    """The one place where a command's failure becomes one ``Error: ...`` line on stderr; returns the exit status.

    User errors (``UserError`` and any ``ValueError`` or ``OSError``: a bad file, flag, value or output path)
    exit with 1, usage errors with 2, Ctrl-C with 130, SIGTERM with 143, a closed pipe quietly with 141; any
    other exception is a bug: one line too (exit 70), the traceback only with ``TIAUG_TRACEBACK=1``.
    """
    if isinstance(error, click.exceptions.Exit):
        return error.exit_code
    if isinstance(error, click.Abort) and isinstance(error.__cause__, KeyboardInterrupt | EOFError):
        error = error.__cause__
    if isinstance(error, BrokenPipeError) or (isinstance(error, OSError) and error.errno == errno.EPIPE):
        with contextlib.suppress(OSError, ValueError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())  # nothing more to say: the reader has gone
        return EXIT_BROKEN_PIPE
    if isinstance(error, StopSignal):
        _say(f"Error: stopped by signal {signal.Signals(error.signum).name}; outputs in progress were removed")
        return int(error.code)
    if isinstance(error, KeyboardInterrupt | click.Abort):
        _say("Error: interrupted (Ctrl-C); outputs in progress were removed")
        return EXIT_INTERRUPTED
    if isinstance(error, SystemExit):
        return error.code if isinstance(error.code, int) else (0 if error.code is None else EXIT_USER)
    if isinstance(error, click.UsageError):
        where = error.ctx.command_path if error.ctx is not None else (ctx.command_path if ctx else "")
        _say(f"Error: {one_line(error.format_message())}" + (f" (see '{where} --help')" if where else ""))
        return EXIT_USAGE
    if isinstance(error, click.ClickException):
        _say(f"Error: {one_line(error.format_message())}")
        return error.exit_code
    if isinstance(error, ValueError | OSError):
        _say(f"Error: {one_line(error)}")
        return EXIT_USER
    if os.environ.get(TRACEBACK_ENV) == "1":
        raise error
    _say(f"Error: internal error ({type(error).__name__}: {one_line(error)}); {TRACEBACK_ENV}=1 shows where")
    return EXIT_BUG


class Command(click.Command):
    """A click command that stops cleanly on signals and reports every failure as one line (:func:`report`)."""

    def main(self, args: Any = None, prog_name: str | None = None, complete_var: str | None = None,
             standalone_mode: bool = True, **extra: Any) -> Any:  # fmt: skip
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        stop_on_signals()
        try:
            result = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except BaseException as error:
            sys.exit(report(error))
        sys.exit(result if isinstance(result, int) else 0)


class Group(Command, click.Group):
    """A click group whose sub-commands' failures are reported by :func:`report` too."""

    command_class = Command


def command(name: str | None = None, **kwargs: Any) -> Callable:
    """``click.command`` for tiaug and samcl: :class:`Command`, ``-h``, 100 columns."""
    return click.command(name, cls=Command, context_settings=CONTEXT, **kwargs)


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
compression_option = click.option(
    "--compression",
    type=click.Choice(COMPRESSIONS),
    default=DEFAULT_COMPRESSION,
    show_default=True,
    help="HDF5 compression of the output datasets.",
)
