"""Running ``python -m MODULE`` as a real subprocess with this checkout first on PYTHONPATH and one thread:
to completion (:func:`run_python`, :func:`run`) or in the background in its own process group (:func:`start`,
:func:`stop_group`)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from tests.helpers.files import REPO


def env(**extra: str) -> dict[str, str]:
    """This environment with ``extra``, one OpenMP thread and this checkout first on PYTHONPATH."""
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


def run_python(module: str, *args: object, timeout: float = 120, **kwargs: object) -> subprocess.CompletedProcess:
    """``python -m MODULE ARGS`` to completion, output captured as text; ``kwargs`` go to :func:`subprocess.run`."""
    return subprocess.run(
        [sys.executable, "-m", module, *map(str, args)],
        capture_output=True,
        text=True,
        env=env(),
        timeout=timeout,
        **kwargs,
    )


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


def group_members(pgid: int) -> dict[int, str]:
    """{pid: state letter} of the processes of group ``pgid`` that still run (Linux ``/proc``).

    Zombies are left out: an orphan that has exited stays a zombie until the reaper of its namespace collects
    it, and in a container whose PID 1 never reaps it that never happens, though the process is gone."""
    members = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            fields = stat.read_text().rsplit(")", 1)[1].split()  # after "pid (comm)": state ppid pgrp ...
            if int(fields[2]) == pgid and fields[0] != "Z":
                members[int(stat.parent.name)] = fields[0]
    return members


def group_alive(pid: int) -> bool:
    """Whether any process of group ``pid`` still runs (zombies do not count, see :func:`group_members`)."""
    return bool(group_members(pid))
