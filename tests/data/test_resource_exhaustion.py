"""A full disk, a file size limit or a failed allocation during `tiaug augment`: one `Error:` line, exit 1,
nothing partial left, the input unchanged; on the HDF5 write path and on the O_DIRECT one."""

from __future__ import annotations

import errno
import os
import resource
import signal

import pytest

from tests.data.conftest import run_module, sha256
from tiaug.io import write_thermal_h5
from tiaug.io.h5 import direct_rows as direct_module
from tiaug.io.h5.writer import ThermalH5Writer
from tiaug.synth import generate_faces


def _limited(nbytes: int):
    def limit() -> None:  # in the child: write() beyond nbytes fails with EFBIG, as a full disk fails with ENOSPC
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (nbytes, nbytes))

    return limit


def _nothing_left(tmp_path, input_path, digest):
    assert sorted(p.name for p in tmp_path.iterdir()) == [input_path.name], "a partial output was left"
    assert sha256(input_path) == digest


@pytest.mark.parametrize("compression", ["none", "gzip"])
def test_a_file_size_limit_is_one_line(tmp_path, good_h5, compression):
    digest = sha256(good_h5)
    res = run_module(
        "augment",
        good_h5,
        tmp_path / "out.h5",
        "--copies",
        "40",
        "--no-progress",
        "--compression",
        compression,
        preexec_fn=_limited(good_h5.stat().st_size * 4),
    )
    assert res.returncode == 1, res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and "file size limit" in lines[0], res.stderr
    _nothing_left(tmp_path, good_h5, digest)


def test_no_space_on_the_direct_write_path_is_one_line(cli, tmp_path, monkeypatch):
    faces = generate_faces(4, 64, 64, seed=1)  # rows of whole 4 KiB pages: written past the page cache
    good_h5 = tmp_path / "aligned.h5"
    write_thermal_h5(good_h5, faces.images, faces.masks)
    written = []

    def full_disk(fd, data, offset):
        written.append(offset)
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(direct_module.os, "pwrite", full_disk)
    digest = sha256(good_h5)
    res = cli("augment", good_h5, tmp_path / "out.h5", "--no-progress", "--compression", "none")
    if not written:
        pytest.skip("this file system refuses O_DIRECT: the rows went through HDF5 (covered above)")
    assert res.exit_code == 1 and res.output.count("Error:") == 1, res.output
    assert "no space left on the device" in res.output
    _nothing_left(tmp_path, good_h5, digest)


def test_a_failed_allocation_is_one_line(cli, tmp_path, good_h5, monkeypatch):
    def no_memory(self, *args, **kwargs):
        raise MemoryError

    monkeypatch.setattr(ThermalH5Writer, "append", no_memory)
    digest = sha256(good_h5)
    res = cli("augment", good_h5, tmp_path / "out.h5", "--no-progress")
    assert res.exit_code == 1 and res.output.count("Error:") == 1, res.output
    assert "out of memory" in res.output
    _nothing_left(tmp_path, good_h5, digest)
