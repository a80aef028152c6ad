"""Progress on stderr: a bar on a terminal, one-line records (step, fields, speed, ETA) in a log."""

from __future__ import annotations

import io
import re

import pytest

from tiaug.progress import Progress, format_duration


class Clock:
    """A clock the test moves by hand (seconds)."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def lines(stream: io.StringIO) -> list[str]:
    return [line for line in stream.getvalue().splitlines() if line]


def test_records_every_five_percent_with_speed_and_eta():
    log, clock = io.StringIO(), Clock()
    with Progress(200, "train", unit="step", rate=("img", 8), stream=log, clock=clock) as progress:
        for step in range(1, 201):
            clock.now += 0.5  # 2 steps/s = 16 img/s
            progress.update(1, loss=1.0 / step, val_mIoU=None if step < 100 else 0.25)
    records = lines(log)
    assert len(records) == 20  # every 10 steps (5 % of 200), 5 s apart
    assert records[0] == "train: step 10/200 (5%), loss 0.1, 16.0 img/s, elapsed 0:00:05, ETA 0:01:35"
    assert records[9].startswith("train: step 100/200 (50%), loss 0.01, val mIoU 0.25, 16.0 img/s")
    assert records[9].endswith("elapsed 0:00:50, ETA 0:00:50")
    assert records[-1].startswith("train: step 200/200 (100%)") and records[-1].endswith("ETA 0:00:00")


def test_no_more_often_than_every_five_seconds_by_default_but_at_least_once_a_minute():
    log, clock = io.StringIO(), Clock()
    progress = Progress(1000, "synth", stream=log, clock=clock)
    for _ in range(400):  # 50 units = 5 % pass in 0.5 s: only a record per 5 s
        clock.now += 0.01
        progress.update(1)
    assert [r.split(",")[0] for r in lines(log)] == []  # 4 s so far
    clock.now += 1.0
    progress.update(1)
    assert lines(log)[-1].startswith("synth: img 401/1000 (40%)")
    slow = Progress(1000, "augment", unit="row", every=500, stream=log, clock=clock)
    clock.now += 61.0
    slow.update(1)  # far from 500 rows, but a minute without news
    assert lines(log)[-1].startswith("augment: row 1/1000 (0%)")


def test_explicit_every_records_each_time_and_the_end_once():
    log, clock = io.StringIO(), Clock()
    with Progress(10, "augment", unit="row", every=4, stream=log, clock=clock) as progress:
        for done in (3, 4, 9, 10):  # a callback reporting totals
            clock.now += 1.0
            progress.to(done)
    assert [r.split(",")[0] for r in lines(log)] == [
        "augment: row 4/10 (40%)",
        "augment: row 9/10 (90%)",
        "augment: row 10/10 (100%)",
    ]
    assert ", 3.0 row/s, elapsed 0:00:03, ETA 0:00:00" in lines(log)[1]  # 9 rows in 3 s, 1 row to go
    unknown = Progress(None, "stats", unit="batch", every=1, stream=log, clock=clock)
    clock.now += 2.0
    unknown.update(3)
    assert lines(log)[-1] == "stats: batch 3, 1.5 batch/s, elapsed 0:00:02"  # no total: no percentage, no ETA


def test_short_runs_and_failures_stay_quiet():
    log, clock = io.StringIO(), Clock()
    with Progress(10, "synth", stream=log, clock=clock) as progress:  # done within 5 s: no record at all
        progress.update(10)
    with pytest.raises(KeyboardInterrupt), Progress(100, "augment", every=10, stream=log, clock=clock) as progress:
        clock.now += 1.0
        progress.update(15)
        progress.update(2)
        raise KeyboardInterrupt
    assert [r.split(",")[0] for r in lines(log)] == ["augment: img 15/100 (15%)"]  # no "done" record after it


def test_a_terminal_gets_a_bar_and_no_records():
    tty, clock = Terminal(), Clock()
    with Progress(50, "train", unit="step", every=1, stream=tty, clock=clock) as progress:
        for _ in range(50):
            clock.now += 1.0
            progress.update(1, loss=0.5)
    assert not re.search(r"^train: step \d+/50 \(", tty.getvalue(), re.MULTILINE)
    assert "| 0/50 [" in tty.getvalue()  # tqdm's bar, redrawn in place (\r)
    silent = io.StringIO()
    with Progress(50, "train", every=1, enabled=False, stream=silent, clock=clock) as progress:
        clock.now += 10.0
        progress.update(50)
    assert silent.getvalue() == ""


def test_format_duration():
    assert [format_duration(s) for s in (0, 59.9, 61, 3725.4, -3)] == [
        "0:00:00",
        "0:00:59",
        "0:01:01",
        "1:02:05",
        "0:00:00",
    ]
    assert format_duration(float("nan")) == "?"
