"""HDF5 inputs made to hurt: data outside the file, rows declared but never written, decompression bombs and
huge attributes are refused (or bounded) before anything is read, and the input is never modified."""

from __future__ import annotations

import json
import tracemalloc
import zlib

import h5py
import numpy as np
import pytest

from tests.data.conftest import sha256
from tiaug.io import ThermalDataError, open_thermal
from tiaug.io.h5 import reader as reader_module
from tiaug.io.h5.contained import MAX_ATTRIBUTE_BYTES
from tiaug.io.readers.formats import MAX_FRAME

UNITS = {"units": "degC"}


def _plain(path, faces, n=4, **extra):
    with h5py.File(path, "w", libver="latest") as f:  # large attributes need the newer format
        f.create_dataset("images", data=faces.images[:n])
        for key, value in extra.items():
            f[key] = value
        f.attrs.update(UNITS)
    return path


def _refused_everywhere(cli, path, tmp_path, words):
    """open_thermal and `tiaug augment` both refuse ``path`` naming ``words``; the input is left unchanged."""
    before = sha256(path)
    with pytest.raises(ThermalDataError) as refused:
        open_thermal(path)
    for word in words:
        assert word in str(refused.value)
    res = cli("augment", path, tmp_path / "out.h5", "--no-progress")
    assert res.exit_code == 1 and res.output.count("Error:") == 1, res.output
    assert not (tmp_path / "out.h5").exists() and sha256(path) == before


def test_masks_stored_in_a_local_file_are_refused(cli, tmp_path, faces):
    secret = tmp_path / "secret.txt"
    secret.write_bytes(bytes(range(6)) * (faces.images[0].size * 4 // 6 + 1))
    path = tmp_path / "external.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("images", data=faces.images[:4])
        f.create_dataset(
            "masks", shape=(4, *faces.images.shape[1:]), dtype=np.uint8, external=[(str(secret), 0, h5py.h5f.UNLIMITED)]
        )
        f.attrs.update(UNITS, classes=json.dumps([f"c{k}" for k in range(256)]))
    _refused_everywhere(cli, path, tmp_path, ["masks", "external storage"])
    with open_thermal(path, trusted=True) as r:  # a file one made oneself may point outside
        assert r.has_masks


def test_images_stored_in_dev_zero_are_refused(cli, tmp_path, faces):
    path = tmp_path / "zero.h5"
    with h5py.File(path, "w") as f:  # endless zeros: plausible 0 C rows of any declared count
        f.create_dataset("images", shape=(10**6, 16, 20), dtype=np.float32, external=[("/dev/zero", 0, 1 << 40)])
        f.attrs.update(UNITS)
    _refused_everywhere(cli, path, tmp_path, ["images", "external storage"])


def test_external_links_and_virtual_datasets_are_refused(cli, tmp_path, faces):
    other = _plain(tmp_path / "other.h5", faces)
    linked = tmp_path / "linked.h5"
    with h5py.File(linked, "w") as f:
        f["images"] = h5py.ExternalLink(str(other), "images")
        f.attrs.update(UNITS)
    _refused_everywhere(cli, linked, tmp_path, ["images", "link into another file"])
    virtual = tmp_path / "virtual.h5"
    layout = h5py.VirtualLayout(shape=(4, *faces.images.shape[1:]), dtype=np.float32)
    layout[:] = h5py.VirtualSource(str(other), "images", shape=(4, *faces.images.shape[1:]))
    with h5py.File(virtual, "w") as f:
        f.create_virtual_dataset("images", layout)
        f.attrs.update(UNITS)
    _refused_everywhere(cli, virtual, tmp_path, ["images", "virtual dataset"])
    with open_thermal(virtual, trusted=True) as r:
        np.testing.assert_array_equal(r.read_batch(0, 4).images, faces.images[:4])
    res = cli("augment", virtual, tmp_path / "trusted.h5", "--trusted-input", "--no-progress")
    assert res.exit_code == 0, res.output


def test_rows_declared_but_never_written_are_refused(cli, tmp_path, faces):
    path = tmp_path / "declared.h5"
    h, w = faces.images.shape[1:]
    with h5py.File(path, "w") as f:
        ds = f.create_dataset("images", shape=(10**9, h, w), dtype=np.float32, chunks=(1, h, w))
        ds[:4] = faces.images[:4]
        f.attrs.update(UNITS)
    _refused_everywhere(cli, path, tmp_path, ["images", "4 of its 1000000000 chunks"])
    contiguous = tmp_path / "contiguous.h5"
    with h5py.File(contiguous, "w") as f:
        f.create_dataset("images", shape=(4, h, w), dtype=np.float32)  # never written: storage never allocated
        f.attrs.update(UNITS)
    _refused_everywhere(cli, contiguous, tmp_path, ["images", "rows never written"])


def test_huge_attributes_are_refused(cli, tmp_path, faces):
    path = _plain(tmp_path / "attr.h5", faces)
    with h5py.File(path, "a") as f:
        f.attrs.create("classes", np.frombuffer(b"x" * (MAX_ATTRIBUTE_BYTES + 1), dtype="S1"))
    _refused_everywhere(cli, path, tmp_path, ["classes", "attribute holds"])


def test_a_gzip_bomb_is_read_a_few_rows_at_a_time(tmp_path, monkeypatch):
    rows, side = 64, 2048  # 16 MiB a row, 1 GiB in all, about 1 MB on disk
    zeros = zlib.compress(np.zeros((1, side, side), np.float32).tobytes(), 9)
    path = tmp_path / "bomb.h5"
    with h5py.File(path, "w") as f:
        ds = f.create_dataset("images", (rows, side, side), np.float32, chunks=(1, side, side), compression="gzip")
        for k in range(rows):
            ds.id.write_direct_chunk((k, 0, 0), zeros)
        f.attrs.update(UNITS)
    assert path.stat().st_size < 4 << 20
    monkeypatch.setattr(reader_module, "MAX_BATCH_BYTES", 32 << 20)
    tracemalloc.start()
    try:
        with open_thermal(path) as r:
            batch = next(r.iter_batches(64))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert len(batch.index) == 2
    assert peak < 160 << 20


def test_rows_larger_than_any_frame_are_refused(cli, tmp_path):
    path = tmp_path / "wide.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("images", data=np.full((1, 4, MAX_FRAME[1] + 1), 30.0, np.float32))
        f.attrs.update(UNITS)
    _refused_everywhere(cli, path, tmp_path, ["images", "at most 8192x8192"])
