"""samcl-train in a log (stderr not a terminal): a one-line record every N steps with loss, img/s and ETA."""

from __future__ import annotations

import re

from tests.helpers.training import run_train

RECORD = re.compile(
    r"^train: step (\d+)/6 \(\d+%\), loss [\d.]+(, val mIoU [\d.]+)?, [\d.]+ img/s, elapsed \d+:\d\d:\d\d, "
    r"ETA \d+:\d\d:\d\d$"
)


def test_training_prints_progress_records_without_a_terminal(dataset, tmp_path):
    train, val = dataset
    common = ("--iters", "6", "--batch-size", "2", "--val-every", "3", "--log-every", "1")
    res = run_train(train, val, tmp_path / "run", *common, "--progress", "--progress-every", "2")
    assert res.returncode == 0, res.stderr
    found = [RECORD.match(line) for line in res.stderr.splitlines()]
    assert [int(m[1]) for m in found if m] == [2, 4, 6]
    assert [bool(m[2]) for m in found if m] == [False, True, True]  # val mIoU once validated (step 3)
    quiet = run_train(train, val, tmp_path / "quiet", *common, "--progress-every", "2")  # TINY has --no-progress
    assert quiet.returncode == 0 and not any(RECORD.match(line) for line in quiet.stderr.splitlines())
