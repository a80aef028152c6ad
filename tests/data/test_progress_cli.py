"""Long tiaug commands report progress in a log (stderr not a terminal): one line every N rows, with an ETA."""

from __future__ import annotations

import re

import tiaug.progress
from tests.data.conftest import run_module

RECORD = re.compile(r"^(\w+): (\w+) (\d+)/(\d+) \(\d+%\), [\d.]+ \w+/s, elapsed \d+:\d\d:\d\d, ETA \d+:\d\d:\d\d$")


def records(text: str, command: str) -> list[tuple[str, int, int]]:
    found = [RECORD.match(line) for line in text.splitlines()]
    return [(m[2], int(m[3]), int(m[4])) for m in found if m and m[1] == command]


def test_augment_prints_a_record_every_n_rows(good_h5, tmp_path):
    res = run_module("augment", str(good_h5), str(tmp_path / "out.h5"), "--batch-size", "2", "--progress-every", "4")
    assert res.returncode == 0, res.stderr
    assert records(res.stderr, "augment") == [("row", 4, 8), ("row", 8, 8)]
    quiet = run_module("augment", str(good_h5), str(tmp_path / "q.h5"), "--progress-every", "1", "--no-progress")
    assert quiet.returncode == 0 and records(quiet.stderr, "augment") == []


def test_synth_prints_records_by_default(cli, tmp_path, monkeypatch):
    monkeypatch.setattr(tiaug.progress, "MIN_INTERVAL_S", 0.0)  # records every 5 % at once, not 5 s apart
    res = cli("synth", tmp_path / "faces.h5", "-n", "20", "--size", "32x40", "--batch-size", "8")
    assert res.exit_code == 0, res.output
    assert records(res.output, "synth") == [("img", k, 20) for k in range(1, 21)]
