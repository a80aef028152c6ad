"""Progress of long loops: one display (:class:`Progress`) and one callback shape for library functions.

A library function that takes a while accepts ``progress: ProgressCallback | None`` and calls
``progress(done, total)`` with absolute counts (``total`` None while unknown), optionally with figures to show
(``progress(step, steps, loss=0.41)``); a command passes :meth:`Progress.to`. :func:`reported` wraps a loop over
items in such calls. Every report first honours a stop signal (:func:`tiaug.signals.check_stop`).
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sized
from typing import Any, Protocol, TextIO, TypeVar

from tiaug.signals import check_stop

T = TypeVar("T")


class ProgressCallback(Protocol):
    """``progress(done, total, **figures)``: ``done`` of ``total`` units (None: unknown), figures to show."""

    def __call__(self, done: int, total: int | None = None, **figures: Any) -> None: ...


def reported(items: Iterable[T], progress: ProgressCallback | None, total: int | None = None) -> Iterator[T]:
    """The items of ``items``, calling ``progress(done, total)`` after each has been handled (``total``:
    ``len(items)`` when it has one)."""
    if progress is None:
        yield from items
        return
    if total is None and isinstance(items, Sized):
        total = len(items)
    for done, item in enumerate(items, 1):
        yield item
        progress(done, total)


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

    Library functions report ``progress(done, total)`` (absolute counts, a :class:`ProgressCallback`), so a
    command never opens an input only to count its rows: pass :meth:`to` as their ``progress`` callback. Loops
    over an iterable use :meth:`iterate` (or :func:`progress_bar`). ``fields`` / :meth:`postfix` (e.g.
    ``loss=0.5``) are shown on the bar and in the records. ``rate`` = (name, count per unit) turns the speed into
    another unit, e.g. ("img", batch size) for training steps; the speed and the ETA are averages since the start.
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

            self.bar = tqdm(
                total=total, initial=initial, desc=desc, unit=unit, file=self.stream, dynamic_ncols=True, leave=leave
            )
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
