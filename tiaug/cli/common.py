"""CLI plumbing shared by the ``tiaug`` and ``samcl-*`` commands: size options, error reporting, stop signals,
the progress bar, and the options every command set uses."""

from __future__ import annotations

import contextlib
import errno
import math
import os
import signal
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TextIO

import click

from tiaug.errors import one_line
from tiaug.io.h5.codecs import COMPRESSIONS, DEFAULT_COMPRESSION, dataset_filters
from tiaug.signals import StopSignal, check_stop, stop_on_signals
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


#: Records in a log: every RECORD_FRACTION of the total by default, then at most one per MIN_INTERVAL_S seconds,
#: and at least one per MAX_SILENCE_S seconds while the loop runs.
RECORD_FRACTION = 0.05
MIN_INTERVAL_S = 5.0
MAX_SILENCE_S = 60.0


def format_duration(seconds: float) -> str:
    """``3725.4`` -> ``"1:02:05"`` (hours:minutes:seconds, rounded down to the second)."""
    if not math.isfinite(seconds):
        return "?"
    seconds = max(0, int(seconds))
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def _format_value(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def is_terminal(stream: TextIO) -> bool:
    """Whether ``stream`` is an interactive terminal (a closed or odd stream counts as not one)."""
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):
        return False


class Progress:
    """The one progress display of every command, on stderr, and every update first honours a stop signal
    (:func:`check_stop`).

    On a terminal: a tqdm bar. Elsewhere (``make demo > log``, a batch job, CI), where a bar that redraws
    itself makes no sense, one self-contained record every ``every`` units (default: 5 % of the total, then at
    most one per 5 s), at least one a minute while the loop runs, and a last one at the end if any came
    before (short runs stay quiet)::

        train: step 125/500 (25%), loss 0.512, val mIoU 0.31, 52.3 img/s, elapsed 0:01:02, ETA 0:03:06

    Library functions report ``progress(done, total)`` (absolute counts), so a command never opens an input
    only to count its rows: pass :meth:`to` as their ``progress`` callback. Loops over an iterable use
    :meth:`iterate` (or :func:`progress_bar`). ``fields`` / :meth:`postfix` (e.g. ``loss=0.5``) are shown on
    the bar and in the records. ``rate`` = (name, count per unit) turns the speed into another unit, e.g.
    ("img", batch size) for training steps; the speed and the ETA are averages since the start.
    ``enabled=False`` shows nothing; ``stream`` and ``clock`` (seconds) are for tests.
    """

    def __init__(
        self,
        total: int | None = None,
        desc: str = "",
        *,
        unit: str = "img",
        enabled: bool = True,
        initial: int = 0,
        leave: bool = False,
        rate: tuple[str, float] | None = None,
        every: int | None = None,
        min_interval_s: float | None = None,
        max_silence_s: float | None = None,
        stream: TextIO | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stream = sys.stderr if stream is None else stream
        self.done, self.total, self.desc, self.unit = initial, total, desc, unit  # as last reported
        self.rate_name, self.rate_scale = rate if rate is not None else (unit, 1.0)
        self.every = every
        if min_interval_s is None:
            min_interval_s = MIN_INTERVAL_S if every is None else 0.0
        self.min_interval_s = min_interval_s
        self.max_silence_s = MAX_SILENCE_S if max_silence_s is None else max_silence_s
        self.clock = clock
        self.fields: dict[str, Any] = {}
        self.records = 0
        terminal = enabled and is_terminal(self.stream)
        self.logging = enabled and not terminal
        self.bar = None
        if terminal:
            from tqdm import tqdm  # here, not at the top: commands start without it

            self.bar = tqdm(total=total, initial=initial, desc=desc, unit=unit, file=self.stream, dynamic_ncols=True,
                            leave=leave)  # fmt: skip
        self._start_done, self._start_t = initial, clock()
        self._last_done, self._last_t = initial, self._start_t

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, kind: type | None, *rest: object) -> None:
        self.close(finished=kind is None)

    def _every(self) -> int:
        if self.every is not None:
            return max(1, self.every)
        return max(1, math.ceil(RECORD_FRACTION * (self.total or 0)))

    def update(self, n: int = 1, **fields: Any) -> None:
        """``n`` more units done; ``fields`` (None values ignored) are shown from now on."""
        check_stop()
        self.done += n
        self.postfix(**fields)
        if self.bar is not None:
            self.bar.update(n)
        elif self.logging:
            now = self.clock()
            since = now - self._last_t
            due = self.done - self._last_done >= self._every() and since >= self.min_interval_s
            if due or since >= self.max_silence_s:
                self._write(now)

    def to(self, done: int, total: int | None = None, **fields: Any) -> None:
        """Show ``done`` of ``total`` (the total may become known with the first report)."""
        if total is not None and total != self.total:
            self.total = total
            if self.bar is not None:
                self.bar.total = total
        self.update(done - self.done, **fields)

    def postfix(self, **values: Any) -> None:
        """Figures shown after the bar and in the records from now on (e.g. the loss); None values are ignored."""
        given = {k: v for k, v in values.items() if v is not None}
        self.fields.update(given)
        if self.bar is not None and given:
            self.bar.set_postfix({k: _format_value(v) for k, v in self.fields.items()}, refresh=False)

    def iterate(self, iterable: Iterable) -> Iterator:
        """Yield the items of ``iterable``, one unit each."""
        for item in iterable:
            check_stop()
            yield item
            self.update(1)

    def record(self, now: float | None = None) -> str:
        """The one-line record of the current state."""
        now = self.clock() if now is None else now
        elapsed = now - self._start_t
        speed = (self.done - self._start_done) / elapsed if elapsed > 0 else float("nan")
        head = f"{self.unit} {self.done}" + (
            f"/{self.total} ({100 * self.done / self.total:.0f}%)" if self.total else ""
        )
        parts = [head, *(f"{k.replace('_', ' ')} {_format_value(v)}" for k, v in self.fields.items())]
        if math.isfinite(speed):
            parts.append(f"{speed * self.rate_scale:.1f} {self.rate_name}/s")
        parts.append(f"elapsed {format_duration(elapsed)}")
        if self.total:
            parts.append(f"ETA {format_duration((self.total - self.done) / speed if speed > 0 else float('nan'))}")
        return f"{self.desc}: " + ", ".join(parts)

    def _write(self, now: float) -> None:
        print(self.record(now), file=self.stream, flush=True)
        self.records += 1
        self._last_done, self._last_t = self.done, now

    def close(self, finished: bool = True) -> None:
        """Remove the bar, or write the last record (if a record was written before, so short runs stay quiet)."""
        if self.bar is not None:
            self.bar.close()
            self.bar = None
        elif self.logging and finished and self.records and self.done != self._last_done:
            self._write(self.clock())
        self.logging = False


def progress_bar(
    iterable: Iterable, *, total: int | None = None, desc: str = "", unit: str = "img", enabled: bool = True
) -> Iterator:
    """``iterable`` with its :class:`Progress` (closed when the iteration ends)."""
    with Progress(total, desc, unit=unit, enabled=enabled) as progress:
        yield from progress.iterate(iterable)


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
    help="Without a terminal: a progress record every N units (default: every 5%, at most one per 5 s).",
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
