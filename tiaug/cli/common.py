"""CLI plumbing shared by the ``tiaug`` and ``samcl-*`` commands: size options, error reporting, stop signals,
and the options every command set uses (the progress display is :mod:`tiaug.progress`)."""

from __future__ import annotations

import contextlib
import errno
import math
import os
import signal
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import click

from tiaug.errors import exhaustion, one_line
from tiaug.io.h5.codecs import COMPRESSIONS, DEFAULT_COMPRESSION, dataset_filters
from tiaug.signals import StopSignal, stop_on_signals
from tiaug.sizes import parse_size

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

    User errors (``UserError`` and any ``ValueError`` or ``OSError``: a bad file, flag, value or output path;
    a full disk or a failed allocation, :func:`~tiaug.errors.exhaustion`) exit with 1, usage errors with 2,
    Ctrl-C with 130, SIGTERM with 143, a closed pipe quietly with 141; any other exception is a bug: one line
    too (exit 70), the traceback only with ``TIAUG_TRACEBACK=1``.
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
        return 128 + error.signum  # its exit status
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
    if exhaustion(error) is not None:
        _say(
            f"Error: {exhaustion(error)} ({one_line(error) or type(error).__name__}); outputs in progress were removed"
        )
        return EXIT_USER
    if isinstance(error, ValueError | OSError):
        _say(f"Error: {one_line(error)}")
        return EXIT_USER
    if os.environ.get(TRACEBACK_ENV) == "1":
        raise error
    _say(f"Error: internal error ({type(error).__name__}: {one_line(error)}); {TRACEBACK_ENV}=1 shows where")
    return EXIT_BUG


class Command(click.Command):
    """A click command that stops cleanly on signals and reports every failure as one line (:func:`report`).

    ``examples``: command lines shown, as written, in an "Examples" section at the end of ``--help``.
    """

    def __init__(self, *args: Any, examples: Sequence[str] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.examples = tuple(examples)

    def format_epilog(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        super().format_epilog(ctx, formatter)
        if self.examples:
            with formatter.section("Examples"):
                for line in self.examples:  # as written: click would re-wrap them
                    formatter.write(f"{'':>{formatter.current_indent}}{line}\n")

    def main(
        self,
        args: Any = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
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


def path_argument(name: str, metavar: str, *, folder: bool = False) -> Callable:
    """A positional file (or, with ``folder``, directory) argument, given to the command as a ``Path``."""
    return click.argument(name, metavar=metavar, type=click.Path(dir_okay=folder, file_okay=not folder, path_type=Path))


progress_flag = click.option(
    "--progress/--no-progress",
    default=True,
    show_default=True,
    help="Progress on stderr: a bar on a terminal, else (a log) a one-line record every 5% (ETA included).",
)
progress_every_option = click.option(
    "--progress-every",
    "progress_every",
    type=click.IntRange(min=1),
    default=None,
    metavar="N",
    help="Without a terminal: a progress record every N units, at most one per 5 s.  [default: every 5%]",
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
    "the smallest files (readers need hdf5plugin, see tiaug.io.h5.codecs).",
)


def batch_size_option(default: int, help: str, *aliases: str) -> Callable:
    """``--batch-size``: items per batch, ``default`` shown in ``--help``; ``help`` says what a batch holds."""
    return click.option(
        "--batch-size", *aliases, type=click.IntRange(min=1), default=default, show_default=True, help=help
    )


def count_option(default: int, help: str, metavar: str | None = None) -> Callable:
    """``-n``/``--count``: how many items (>= 1), ``default`` shown in ``--help``; ``help`` says of what."""
    return click.option(
        "-n",
        "--count",
        "count",
        metavar=metavar,
        type=click.IntRange(min=1),
        default=default,
        show_default=True,
        help=help,
    )


def h5_output_options(func: Callable) -> Callable:
    """``--overwrite`` and ``--compression``: the options of every command that writes an HDF5 file."""
    return overwrite_flag(compression_option(func))
