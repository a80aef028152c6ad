"""What every refused command must leave behind: one ``Error:`` line, no traceback, inputs untouched, no files.

Shared by the per-command refusal tables (``test_refusal_tables.py`` in tests/data and tests/samcl_cli) and by
the signal tests.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TRACEBACK_MARKS = ("Traceback", "Exception ignored", 'File "')


def digest(*paths: Path) -> dict[str, str]:
    """sha256 of every file given, and of every file inside the folders given."""
    found = {}
    for path in map(Path, paths):
        for item in sorted(path.rglob("*")) if path.is_dir() else [path]:
            if item.is_file():
                found[str(item)] = hashlib.sha256(item.read_bytes()).hexdigest()
    return found


def listing(folder: Path) -> list[str]:
    """Every path under ``folder`` (hidden ones and temporary files included), relative, sorted."""
    return sorted(str(p.relative_to(folder)) for p in Path(folder).rglob("*"))


def assert_one_error_line(stderr: str, *words: str) -> str:
    """``stderr`` is exactly one ``Error: ...`` line holding ``words``, with no trace of a traceback."""
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: "), stderr
    assert not any(mark in stderr for mark in TRACEBACK_MARKS), stderr
    for word in words:
        assert word in lines[0], (word, lines[0])
    return lines[0]


def env(**extra: str) -> dict[str, str]:
    base = dict(os.environ, OMP_NUM_THREADS="1", **extra)
    base["PYTHONPATH"] = os.pathsep.join([str(REPO), base.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return base


def run(module: str, *args: object, timeout: float = 120) -> subprocess.CompletedProcess:
    """``python -m MODULE ARGS`` in its own process group; on timeout the whole group is killed and the test
    fails (a hang)."""
    proc = start(module, *args)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise AssertionError(f"python -m {module} {' '.join(map(str, args))} did not finish in {timeout} s") from None
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def start(module: str, *args: object) -> subprocess.Popen:
    """``python -m MODULE ARGS`` running in the background, in its own process group (see :func:`stop_group`)."""
    return subprocess.Popen(
        [sys.executable, "-m", module, *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env(),
        start_new_session=True,
    )


def wait_for(condition: Callable[[], bool], proc: subprocess.Popen, what: str, timeout: float = 120) -> None:
    """Poll ``condition`` until it holds; fail if ``proc`` ends first or the time runs out."""
    deadline = time.time() + timeout
    while not condition():
        assert proc.poll() is None, f"the command ended before {what}: {proc.stderr.read()}"
        assert time.time() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def stop_group(proc: subprocess.Popen) -> None:
    """Kill whatever is left of ``proc``'s process group (workers included)."""
    if proc.poll() is None:
        proc.kill()
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)


def group_alive(pid: int) -> bool:
    try:
        os.killpg(pid, 0)
    except ProcessLookupError:
        return False
    return True


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
