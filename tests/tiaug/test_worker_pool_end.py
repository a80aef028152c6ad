"""Ending the augmentation's worker pool on an error leaves no worker behind, even when the pool's own worker
handler is about to replace the workers just killed (the race behind a rare hang at exit: a replacement worker
blocks for good on a queue lock a killed worker held, and interpreter exit waits for it)."""

from __future__ import annotations

import multiprocessing
import multiprocessing.pool
import threading
import time

import pytest

from tiaug.augment import _ended


def test_no_worker_outlives_the_pool_ended_on_an_error(monkeypatch):
    maintain = multiprocessing.pool.Pool._maintain_pool
    inside = threading.Event()
    calls: list[int] = []  # maintenance passes so far

    def late_maintain(*args, **kwargs):
        """The handler's maintenance, entered before the pool is ended and carried on after: the race's window."""
        handler = threading.current_thread()
        if calls and not inside.is_set():  # not the pool's first maintenance: wait until the pool is ended
            inside.set()
            deadline = time.monotonic() + 10
            while handler._state == multiprocessing.pool.RUN and time.monotonic() < deadline:
                time.sleep(0.01)
            time.sleep(0.1)  # the workers are being killed now (without the fix)
        calls.append(1)
        return maintain(*args, **kwargs)

    monkeypatch.setattr(multiprocessing.pool.Pool, "_maintain_pool", staticmethod(late_maintain))
    pool = multiprocessing.get_context("fork").Pool(2)
    internals = pool  # private attributes of multiprocessing.pool
    try:
        internals._change_notifier.put(None)  # the handler runs its maintenance again and waits inside it
        assert inside.wait(10)
        with pytest.raises(ZeroDivisionError), _ended(pool):
            raise ZeroDivisionError("a bad row")
        time.sleep(0.5)  # time for a late replacement to appear
        assert not [worker for worker in internals._pool if worker.is_alive()]
        assert not internals._worker_handler.is_alive()
    finally:
        for worker in internals._pool:
            worker.kill()
            worker.join(timeout=5)
