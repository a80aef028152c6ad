"""Every output is written under a temporary name that its writer keeps locked: a leftover is removed only when
no one holds its lock, so a live writer in another container or PID namespace keeps its file; an output that
is (or became) a link to an input is refused."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.data.conftest import sha256
from tiaug.io import OutputPathError, atomic_folder, atomic_output
from tiaug.io.h5.atomic import hold_lock, is_locked, remove_stale_temporaries

FOREIGN_PID = 2**22 + 4321  # above Linux's pid_max: a process of another PID namespace, as seen from here


def test_a_live_writer_in_another_pid_namespace_keeps_its_temporary_file(tmp_path):
    live = tmp_path / f"out.h5.tmp-{FOREIGN_PID}-0123abcd"
    live.write_bytes(b"being written")
    staged = tmp_path / f".out.h5.tmp-{FOREIGN_PID}-89abcdef"
    staged.mkdir()
    locks = [hold_lock(live), hold_lock(staged)]  # what that writer holds while it writes
    try:
        assert remove_stale_temporaries(tmp_path / "out.h5") == []
        assert live.exists() and staged.exists()
    finally:
        for fd in locks:
            os.close(fd)
    assert set(remove_stale_temporaries(tmp_path / "out.h5")) == {live, staged}  # its writer ended: stale


def test_the_lock_is_held_across_processes_while_writing(tmp_path):
    probe = "import sys; from tiaug.io.h5.atomic import is_locked; print(is_locked(sys.argv[1]))"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    with atomic_output(tmp_path / "o.txt") as tmp:
        tmp.write_text("partial")
        seen = subprocess.run([sys.executable, "-c", probe, str(tmp)], capture_output=True, text=True, env=env)
        assert seen.stdout.strip() == "True", seen.stderr
    with atomic_folder(tmp_path / "outs", ["a.txt"]) as staging:
        assert is_locked(staging)
    assert not is_locked(tmp_path / "o.txt")


@pytest.mark.parametrize("link", ["symlink", "hardlink"])
def test_an_output_that_becomes_a_link_to_an_input_is_refused_at_commit(tmp_path, link):
    source = tmp_path / "in.seq"
    source.write_bytes(b"recording")
    digest = sha256(source)
    out = tmp_path / "regions.csv"
    with pytest.raises(OutputPathError, match="input"), atomic_output(out, overwrite=True, inputs=[source]) as tmp:
        tmp.write_text("frame,mean\n")
        (out.symlink_to if link == "symlink" else out.hardlink_to)(source)  # swapped in while writing
    assert sha256(source) == digest and not list(tmp_path.glob("*.tmp-*"))
