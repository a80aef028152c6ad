"""Rows written past the page cache (``rows=``, :mod:`tiaug.io.h5.direct_rows`): same datasets, whole or nothing."""

from __future__ import annotations

import errno
import mmap
import os

import h5py
import numpy as np
import pytest

from tiaug.augment import augment_file
from tiaug.io import OutputPathError, ThermalH5Writer, create_thermal_h5, read_thermal_h5, write_thermal_h5
from tiaug.io.h5 import direct_rows as direct_module
from tiaug.io.h5.direct_rows import ALIGNMENT, DirectRows
from tiaug.presets import tiaug_pipeline

ALIGNED = (64, 64)  # float32 rows of 16 KiB and uint8 rows of 4 KiB: both multiples of ALIGNMENT
UNALIGNED = (48, 60)


def _faces(n: int, size: tuple[int, int], seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    images = rng.normal(30.0, 4.0, (n, *size)).astype(np.float32)
    masks = rng.integers(0, 3, (n, *size), dtype=np.uint8)
    return images, masks


@pytest.fixture
def direct_dir(tmp_path):
    """``tmp_path``, skipping the test where its file system refuses O_DIRECT (tmpfs before Linux 6.6 does)."""
    if not hasattr(os, "O_DIRECT"):
        pytest.skip("O_DIRECT is Linux-only")
    probe = tmp_path / "probe"
    probe.write_bytes(b"")
    try:
        os.close(os.open(probe, os.O_WRONLY | os.O_DIRECT))
    except OSError:
        pytest.skip("this file system refuses O_DIRECT")
    finally:
        probe.unlink()
    return tmp_path


def _assert_reads_back(path, images: np.ndarray, masks: np.ndarray) -> None:
    got_images, got_masks = read_thermal_h5(path)
    np.testing.assert_array_equal(got_images, images)
    np.testing.assert_array_equal(got_masks, masks)


@pytest.fixture
def direct_calls(monkeypatch):
    """Every DirectRows.write call's (start, rows, accepted), recorded while passing through."""
    calls = []
    original = DirectRows.write

    def spy(self, start, rows):
        accepted = original(self, start, rows)
        calls.append((start, len(rows), accepted))
        return accepted

    monkeypatch.setattr(DirectRows, "write", spy)
    return calls


def _write(path, images, masks, batch: int, rows: int | None, **kwargs) -> None:
    with create_thermal_h5(path, *images.shape[1:], rows=rows, **kwargs) as writer:
        writer.add_column("tag", np.int64)
        for a in range(0, len(images), batch):
            writer.append(
                images[a : a + batch], masks[a : a + batch], extra={"tag": range(a, min(a + batch, len(images)))}
            )


def _datasets(path) -> dict[str, np.ndarray]:
    """Every dataset's values, by path inside the file."""
    found = {}
    with h5py.File(path, "r") as f:
        f.visititems(lambda name, item: found.update({name: item[()]}) if isinstance(item, h5py.Dataset) else None)
    return found


def test_preallocated_rows_go_straight_to_disk_and_read_back_unchanged(direct_dir, direct_calls):
    images, masks = _faces(11, ALIGNED)
    _write(direct_dir / "direct.h5", images, masks, batch=4, rows=11)
    _write(direct_dir / "plain.h5", images, masks, batch=4, rows=None)
    assert [(start, n) for start, n, accepted in direct_calls if accepted] == [
        (0, 4),
        (0, 4),
        (4, 4),
        (4, 4),
        (8, 3),
        (8, 3),
    ]
    direct, plain = _datasets(direct_dir / "direct.h5"), _datasets(direct_dir / "plain.h5")
    assert direct.keys() == plain.keys()
    for key in plain:
        np.testing.assert_array_equal(direct[key], plain[key], err_msg=key)
    with h5py.File(direct_dir / "direct.h5", "r") as f:
        assert f["images"].chunks == (1, *ALIGNED) and f["images"].maxshape == (None, *ALIGNED)
        offsets = [f["images"].id.get_chunk_info(i).byte_offset for i in range(11)]
    assert all(offset % ALIGNMENT == 0 for offset in offsets)


def test_unaligned_memory_is_staged(direct_dir, direct_calls):
    images, masks = _faces(6, ALIGNED, seed=1)
    buffer = np.empty(images.nbytes + 4, dtype=np.uint8)  # rows 4 bytes off any page boundary
    shifted = buffer[4:].view(np.float32).reshape(images.shape)
    shifted[:] = images
    assert shifted.ctypes.data % ALIGNMENT
    _write(direct_dir / "out.h5", shifted, masks, batch=6, rows=6)
    assert all(accepted for *_, accepted in direct_calls) and direct_calls
    _assert_reads_back(direct_dir / "out.h5", images, masks)


def test_aligned_shared_memory_is_written_without_staging(direct_dir):
    images, masks = _faces(3, ALIGNED, seed=2)
    shared = np.frombuffer(mmap.mmap(-1, images.nbytes), np.float32).reshape(images.shape)
    shared[:] = images
    with create_thermal_h5(direct_dir / "out.h5", *ALIGNED, rows=3) as writer:
        writer.append(shared, masks)
        assert writer._direct["images"]._staging is None  # page-aligned rows need no copy
    np.testing.assert_array_equal(read_thermal_h5(direct_dir / "out.h5")[0], images)


@pytest.mark.parametrize(("size", "compression"), [(UNALIGNED, None), (ALIGNED, "lzf"), (ALIGNED, "gzip")])
def test_rows_that_cannot_go_direct_are_written_through_hdf5(tmp_path, direct_calls, size, compression):
    images, masks = _faces(5, size, seed=3)
    _write(tmp_path / "out.h5", images, masks, batch=2, rows=5, compression=compression)
    assert direct_calls == []
    _assert_reads_back(tmp_path / "out.h5", images, masks)


def test_a_refused_direct_write_falls_back_to_hdf5(direct_dir, monkeypatch):
    images, masks = _faces(7, ALIGNED, seed=4)
    real_pwrite, calls = os.pwrite, []

    def refuse_second(fd, data, offset):  # the second direct write is refused (as some file systems do)
        calls.append(offset)
        if len(calls) == 2:
            raise OSError(errno.EINVAL, "Invalid argument")
        return real_pwrite(fd, data, offset)

    monkeypatch.setattr(direct_module.os, "pwrite", refuse_second)
    _write(direct_dir / "out.h5", images, masks, batch=3, rows=7)
    # images 0-2 direct, masks 0-2 refused: masks go through HDF5 from then on, images stay direct (3-5, 6)
    assert len(calls) == 4
    _assert_reads_back(direct_dir / "out.h5", images, masks)


def test_other_errors_are_raised_and_leave_no_output(direct_dir, monkeypatch):
    images, masks = _faces(4, ALIGNED, seed=5)

    def disk_full(fd, data, offset):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(direct_module.os, "pwrite", disk_full)
    with pytest.raises(OutputPathError, match=r"out\.h5: cannot be written: no space left on the device"):
        _write(direct_dir / "out.h5", images, masks, batch=2, rows=4)
    assert list(direct_dir.iterdir()) == []


@pytest.mark.parametrize(("written", "words"), [(3, "created for 5 rows, but 3 were written"), (6, "6 do not fit")])
def test_a_wrong_number_of_rows_is_refused_and_leaves_no_output(tmp_path, written, words):
    images, masks = _faces(written, ALIGNED, seed=6)
    with pytest.raises(ValueError, match=words):
        _write(tmp_path / "out.h5", images, masks, batch=3, rows=5)
    assert list(tmp_path.iterdir()) == []


def test_negative_rows_are_refused(tmp_path):
    with pytest.raises(ValueError, match="rows must be >= 0"), create_thermal_h5(tmp_path / "o.h5", 4, 4, rows=-1):
        pass


def test_augment_writes_directly_and_identically_whatever_the_workers(direct_dir, direct_calls):
    images, masks = _faces(9, ALIGNED, seed=7)
    masks[:] = 0
    masks[:, 16:48, 16:48] = 1  # a face: occluders are sized against it
    images[masks == 1] += 5.0
    write_thermal_h5(direct_dir / "in.h5", images, masks)
    outputs = {}
    for workers in (1, 2):
        out = direct_dir / f"w{workers}.h5"
        assert (
            augment_file(direct_dir / "in.h5", out, tiaug_pipeline(), seed=3, copies=2, workers=workers, batch_size=2)
            == 18
        )
        outputs[workers] = _datasets(out)
    assert direct_calls and all(accepted for *_, accepted in direct_calls)
    for key in outputs[1]:
        np.testing.assert_array_equal(outputs[1][key], outputs[2][key], err_msg=key)
    assert not np.array_equal(outputs[1]["images"][::2], images)  # augmented, not copied


def test_chunk_offsets_without_chunk_iter_come_from_get_chunk_info(tmp_path):
    """h5py built against HDF5 < 1.12.3 (h5py 3.8, 3.9 wheels) has no chunk_iter: the same offsets, or None."""
    with h5py.File(tmp_path / "f.h5", "w", **direct_module.FILE_ALIGNMENT) as f:
        ds = f.create_dataset(
            "x", shape=(5, *ALIGNED), chunks=(1, *ALIGNED), dtype=np.float32, **direct_module.preallocated_chunks()
        )
        expected = direct_module._chunk_offsets(ds)

        class OldId:  # get_chunk_info (HDF5 1.10.5+) but no chunk_iter
            get_num_chunks = ds.id.get_num_chunks
            get_chunk_info = ds.id.get_chunk_info

        class OldDataset:
            shape, id = ds.shape, OldId()

        class OlderDataset:  # neither
            shape, id = ds.shape, object()

        np.testing.assert_array_equal(direct_module._chunk_offsets(OldDataset()), expected)
        assert direct_module._chunk_offsets(OlderDataset()) is None
    assert len(expected) == 5 and (np.diff(expected) > 0).all()


def test_files_held_by_another_driver_are_written_through_hdf5(tmp_path, direct_calls):
    """With driver="core" HDF5 writes its in-memory copy over the file at close: direct writes would be lost."""
    images, masks = _faces(4, ALIGNED, seed=9)
    with h5py.File(tmp_path / "core.h5", "w", driver="core", backing_store=True, **direct_module.FILE_ALIGNMENT) as f:
        writer = ThermalH5Writer(f, *ALIGNED, rows=4)
        writer.append(images, masks)
        assert writer.finish() == 4
    assert direct_calls == []
    _assert_reads_back(tmp_path / "core.h5", images, masks)


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="counts descriptors in /proc/self/fd (Linux)")
def test_a_writer_that_fails_while_being_made_closes_its_descriptors(tmp_path):
    before = len(os.listdir("/proc/self/fd"))
    for k in range(3):
        with pytest.raises(TypeError), create_thermal_h5(tmp_path / f"o{k}.h5", *ALIGNED, rows=2, attrs={"x": None}):
            pass
    assert len(os.listdir("/proc/self/fd")) == before
    assert list(tmp_path.iterdir()) == []
