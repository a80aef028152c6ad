"""Progress of long commands on stderr: a bar on a terminal, one plain line every N steps in a log.

A progress bar redraws itself in place, which makes no sense in a log file; so when the stream (stderr) is
not a terminal (``make demo > log``, a batch job, CI), :class:`Progress` prints instead one self-contained
record every ``every`` units (by default 5 % of the total, and then never more often than every 5 s), at
least once a minute while the loop runs, and a last one at the end::

    train: step 125/500 (25%), loss 0.512, val mIoU 0.310, 52.3 img/s, elapsed 0:01:02, ETA 0:03:06

Rates and the ETA come from the average speed since the start. The ``tiaug`` commands (synth, augment,
stats, imports) and the ``samcl-*`` commands (train, eval, predict) all report through this class.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable
from typing import Any, TextIO

from tqdm import tqdm

#: Fraction of the total between two records when ``every`` is not given.
RECORD_FRACTION = 0.05
#: Defaults of ``min_interval_s`` and ``max_silence_s`` (seconds).
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
    """Progress of a loop of ``total`` units (None: unknown) on ``stream`` (default: stderr).

    ``update(n, **fields)`` after each step (``fields``: e.g. ``loss=0.5``, shown with the next record or on
    the bar); ``close()`` (or the ``with`` block) at the end. ``unit`` names what is counted ("step", "row",
    "img"); ``rate`` = (name, count per unit) turns the speed into another unit, e.g. ("img", batch size) for
    training steps. ``every``: units between two records (default: 5 % of ``total``, with ``min_interval_s``
    5 s between records unless given). ``enabled=False`` shows nothing. ``clock``: seconds, for tests.
    """

    def __init__(
        self,
        total: int | None,
        desc: str,
        *,
        unit: str = "img",
        initial: int = 0,
        enabled: bool = True,
        rate: tuple[str, float] | None = None,
        every: int | None = None,
        min_interval_s: float | None = None,
        max_silence_s: float | None = None,
        stream: TextIO | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stream = sys.stderr if stream is None else stream
        self.total, self.desc, self.unit, self.n = total, desc, unit, initial
        self.rate_name, self.rate_scale = rate if rate is not None else (unit, 1.0)
        self.every = max(1, every if every is not None else math.ceil(RECORD_FRACTION * (total or 0)) or 1)
        if min_interval_s is None:
            min_interval_s = MIN_INTERVAL_S if every is None else 0.0
        self.min_interval_s = min_interval_s
        self.max_silence_s = MAX_SILENCE_S if max_silence_s is None else max_silence_s
        self.clock = clock
        self.fields: dict[str, Any] = {}
        self.records = 0
        terminal = enabled and is_terminal(self.stream)
        self.logging = enabled and not terminal
        self._bar = (
            tqdm(total=total, initial=initial, desc=desc, unit=unit, file=self.stream, dynamic_ncols=True, leave=False)
            if terminal
            else None
        )
        self._start_n, self._start_t = initial, clock()
        self._last_n, self._last_t = initial, self._start_t

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, kind: type | None, *rest: object) -> None:
        self.close(finished=kind is None)

    def update(self, n: int = 1, **fields: Any) -> None:
        """``n`` more units done; ``fields`` (None values ignored) are shown from now on."""
        self.n += n
        self.fields.update({k: v for k, v in fields.items() if v is not None})
        if self._bar is not None:
            self._bar.update(n)
            if fields:
                self._bar.set_postfix({k: _format_value(v) for k, v in self.fields.items()}, refresh=False)
        elif self.logging:
            now = self.clock()
            since = now - self._last_t
            if (self.n - self._last_n >= self.every and since >= self.min_interval_s) or since >= self.max_silence_s:
                self._write(now)

    def update_to(self, done: int, **fields: Any) -> None:
        """Set the number of units done to ``done`` (for callbacks that report totals)."""
        self.update(done - self.n, **fields)

    def record(self, now: float | None = None) -> str:
        """The one-line record of the current state."""
        now = self.clock() if now is None else now
        elapsed = now - self._start_t
        done = self.n - self._start_n
        speed = done / elapsed if elapsed > 0 else float("nan")
        parts = [f"{self.unit} {self.n}" + (f"/{self.total}" if self.total else "")]
        if self.total:
            parts[0] += f" ({100 * self.n / self.total:.0f}%)"
        parts += [f"{k.replace('_', ' ')} {_format_value(v)}" for k, v in self.fields.items()]
        parts.append(f"{speed * self.rate_scale:.1f} {self.rate_name}/s" if math.isfinite(speed) else "")
        parts.append(f"elapsed {format_duration(elapsed)}")
        if self.total:
            remaining = (self.total - self.n) / speed if speed > 0 else float("nan")
            parts.append(f"ETA {format_duration(remaining)}")
        return f"{self.desc}: " + ", ".join(p for p in parts if p)

    def _write(self, now: float) -> None:
        print(self.record(now), file=self.stream, flush=True)
        self.records += 1
        self._last_n, self._last_t = self.n, now

    def close(self, finished: bool = True) -> None:
        """Remove the bar, or write the last record (if a record was written before, so short runs stay quiet)."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None
        elif self.logging and finished and self.records and self.n != self._last_n:
            self._write(self.clock())
        self.logging = False
