"""Ending the augmentation's worker pool on an error leaves no worker behind, even when the pool's own worker
handler is about to replace the workers just killed (the race behind a rare hang at exit: a replacement worker
forked while the parent held a lock never ends, and interpreter exit waits for it)."""

from __future__ import annotations

import multiprocessing
import multiprocessing.pool
import time

import pytest

from tiaug.augment import _ended


def _fail() -> None:
    raise ZeroDivisionError("a bad row")


def test_no_worker_outlives_the_pool_ended_on_an_error(monkeypatch):
    maintain = multiprocessing.pool.Pool._maintain_pool

    def slow_maintain(*args, **kwargs):  # widens the window in which the handler replaces dead workers
        time.sleep(0.3)
        return maintain(*args, **kwargs)

    monkeypatch.setattr(multiprocessing.pool.Pool, "_maintain_pool", staticmethod(slow_maintain))
    pool = multiprocessing.get_context("fork").Pool(2)
    internals = pool  # private attributes of multiprocessing.pool
    try:
        time.sleep(0.35)  # the handler is inside its (slowed) maintenance when the error comes
        with pytest.raises(ZeroDivisionError), _ended(pool):
            pool.apply(_fail)
        time.sleep(0.8)  # time for a late replacement to appear
        assert not [worker for worker in internals._pool if worker.is_alive()]
        assert not internals._worker_handler.is_alive()
    finally:
        for worker in internals._pool:
            worker.kill()
            worker.join(timeout=5)
