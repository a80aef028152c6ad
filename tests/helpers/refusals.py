"""What every refused command must leave behind: one ``Error:`` line, no traceback, inputs untouched, no files.

Shared by the per-command refusal tables (``test_refusal_tables.py`` in tests/tiaug/cli and tests/samcl/cli); the
processes they run come from :mod:`tests.helpers.processes`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from tests.helpers.files import digest, listing

TRACEBACK_MARKS = ("Traceback", "Exception ignored", 'File "')


def assert_one_error_line(stderr: str, *words: str) -> str:
    """``stderr`` is exactly one ``Error: ...`` line holding ``words``, with no trace of a traceback."""
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: "), stderr
    assert not any(mark in stderr for mark in TRACEBACK_MARKS), stderr
    for word in words:
        assert word in lines[0], (word, lines[0])
    return lines[0]


def refused_without_trace(
    stderr: str,
    returncode: int,
    inputs: dict[str, str],
    paths: Sequence[Path],
    folder: Path,
    before: list[str],
    *words: str,
) -> None:
    """The contract of a refusal: non-zero exit, one Error line (with ``words``), inputs byte-identical, no
    output and no temporary file left in ``folder``."""
    assert returncode != 0, stderr
    assert_one_error_line(stderr, *words)
    assert digest(*paths) == inputs
    assert listing(folder) == before
