"""Stop signals: SIGTERM and Ctrl-C stop a command cleanly; worker processes leave them to their parent.

In the main process of a command (:func:`stop_on_signals`), SIGTERM raises :class:`StopSignal` (a
``SystemExit`` with status 128 + signal) and SIGINT ``KeyboardInterrupt``, so whole-or-nothing outputs
delete their temporary files on the way out. An exception raised while Python runs a finalizer is swallowed
(and would print "Exception ignored in ..."): the signal is remembered, such reports of our own stop are
silenced, and long loops call :func:`check_stop` (the progress bar does it for every step) to stop at the next
step anyway. Worker processes (:func:`as_worker`) ignore Ctrl-C and die quietly on SIGTERM: the parent sees
the interruption and ends them. :func:`deferred_signals` holds both back while a unit of output is written.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from collections.abc import Iterator
from typing import Any

_STOP_REQUESTED: list[int] = []  # signal numbers received, for loops to re-check (see ``check_stop``)


class StopSignal(SystemExit):
    """SIGTERM (or another stop signal) arrived: exit with status 128 + signal number."""

    def __init__(self, signum: int) -> None:
        super().__init__(128 + signum)
        self.signum = signum

    def __reduce__(self) -> tuple:
        return StopSignal, (self.signum,)


def _raise_for(signum: int) -> None:
    if signum == signal.SIGINT:
        raise KeyboardInterrupt
    raise StopSignal(signum)


def _quiet_unraisable(unraisable: Any, _default=sys.unraisablehook) -> None:
    """Do not report our own stop raised inside a finalizer (``check_stop`` raises it again)."""
    if _STOP_REQUESTED and isinstance(unraisable.exc_value, SystemExit | KeyboardInterrupt):
        return
    _default(unraisable)


def stop_on_signals() -> None:
    """In the main thread: SIGTERM raises ``StopSignal``, SIGINT ``KeyboardInterrupt`` (see the module doc)."""
    if threading.current_thread() is not threading.main_thread():
        return

    def _handler(signum: int, frame: Any) -> None:
        _STOP_REQUESTED.append(signum)
        _raise_for(signum)

    for signum in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(ValueError, OSError):
            signal.signal(signum, _handler)
    sys.unraisablehook = _quiet_unraisable


def check_stop() -> None:
    """Raise again if a stop signal arrived whose exception was swallowed (see :func:`stop_on_signals`)."""
    if _STOP_REQUESTED:
        _raise_for(_STOP_REQUESTED[0])


@contextlib.contextmanager
def deferred_signals() -> Iterator[None]:
    """Hold Ctrl-C and SIGTERM back while the block runs (e.g. one batch of outputs is written whole), then
    deliver the first that arrived to the handler that was in place (main thread only; elsewhere a no-op)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    wanted = (signal.SIGINT, signal.SIGTERM)
    previous: dict[int, Any] = {int(s): signal.getsignal(s) for s in wanted}
    received: list[int] = []
    for s in wanted:
        signal.signal(s, lambda signum, _frame: received.append(signum))
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        if received:
            handler = previous[received[0]]
            if callable(handler):
                handler(received[0], None)
            else:
                _raise_for(received[0])


class _WhileParentLives:
    """A worker's stderr that stays quiet about its parent's death: the report of a broken pipe to the dead
    parent (printed while that error is handled) or anything said after the parent is gone has no reader."""

    def __init__(self, stream: Any, parent: int) -> None:
        self._stream, self._parent = stream, parent

    def _parent_gone(self) -> bool:
        return isinstance(sys.exc_info()[1], BrokenPipeError | ConnectionResetError) or os.getppid() != self._parent

    def write(self, text: str) -> int:
        return len(text) if self._parent_gone() else self._stream.write(text)

    def flush(self) -> None:
        if not self._parent_gone():
            self._stream.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def _end_with_parent() -> None:
    """Linux: get SIGTERM when the parent dies (e.g. SIGKILL), instead of writing into its closed pipes."""
    parent = os.getppid()
    sys.stderr = _WhileParentLives(sys.stderr, parent)
    with contextlib.suppress(Exception):
        import ctypes

        pr_set_pdeathsig = 1
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, int(signal.SIGTERM), 0, 0, 0)
    if os.getppid() != parent:  # the parent died before the request took effect
        raise SystemExit(128 + signal.SIGTERM)


def as_worker() -> None:
    """In a worker process: Ctrl-C is the parent's to handle (ignored here); SIGTERM, and the death of the
    parent, end the process quietly. The exit unwinds (``SystemExit``, which multiprocessing reports without a
    traceback), so the worker lets go of the pool's queue locks and the parent can still shut the pool down."""
    _STOP_REQUESTED.clear()

    def _handler(signum: int, frame: Any) -> None:
        _STOP_REQUESTED.append(signum)
        raise SystemExit(128 + signum)

    with contextlib.suppress(ValueError, OSError):
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, _handler)
    sys.unraisablehook = _quiet_unraisable
    _end_with_parent()
