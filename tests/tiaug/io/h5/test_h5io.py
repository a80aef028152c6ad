"""HDF5 contract: round trips, streaming, refused bad inputs, whole-or-nothing outputs, the dataset class."""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import pickle
import tracemalloc

import h5py
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from tests.helpers.files import sha256
from tests.helpers.h5files import SIZE
from tiaug.io import (
    DEFAULT_CLASSES,
    JSON,
    OutputPathError,
    ThermalDataError,
    ThermalH5Dataset,
    atomic_h5,
    atomic_output,
    create_thermal_h5,
    open_thermal,
    read_thermal_h5,
    validate_file,
    write_thermal_h5,
)


def test_round_trip_keeps_data_and_contract_attrs(good_h5, faces):
    images, masks = read_thermal_h5(good_h5)
    np.testing.assert_array_equal(images, faces.images)
    np.testing.assert_array_equal(masks, faces.masks)
    with h5py.File(good_h5, "r") as f:
        assert f["images"].dtype == np.float32 and f["masks"].dtype == np.uint8
        assert f["images"].chunks == (1, *SIZE)  # one image per chunk
        assert f.attrs["units"] == "degC"
        assert json.loads(f.attrs["classes"]) == list(DEFAULT_CLASSES)
        np.testing.assert_array_equal(f["landmarks"][:], faces.landmarks)
    with open_thermal(good_h5) as r:
        assert (r.n, r.height, r.width) == (8, *SIZE)
        assert r.has_masks and r.has_landmarks and r.classes == DEFAULT_CLASSES


@settings(max_examples=20, deadline=None)
@given(
    images=arrays(
        np.float32,
        st.tuples(st.integers(1, 5), st.integers(1, 7), st.integers(1, 7)),
        elements=st.floats(-40, 150, width=32),
    ),
    compression=st.sampled_from([None, "lzf", "gzip"]),
    batch=st.integers(1, 6),
)
def test_round_trip_any_finite_temperatures(tmp_path_factory, images, compression, batch):
    path = tmp_path_factory.mktemp("rt") / "x.h5"
    masks = (np.abs(images) % 6).astype(np.uint8)
    write_thermal_h5(path, images, masks, compression=compression, batch_size=batch)
    with open_thermal(path) as r:
        got = list(r.iter_batches(batch))
    assert [len(b.images) for b in got] == [min(batch, len(images) - a) for a in range(0, len(images), batch)]
    np.testing.assert_array_equal(np.concatenate([b.images for b in got]), images)
    np.testing.assert_array_equal(np.concatenate([b.masks for b in got]), masks)
    np.testing.assert_array_equal(np.concatenate([b.index for b in got]), np.arange(len(images)))


def test_extra_columns_for_augment_outputs(tmp_path, faces):
    out = tmp_path / "aug.h5"
    src = tmp_path / "in.h5"
    src.write_bytes(b"not used")
    params = [{"occluders": [{"polygon": [[1, 2], [3, 4], [5, 1]]}]}, '{"raw": "json string"}']
    with create_thermal_h5(out, *SIZE, inputs=[src], landmarks=None) as w:
        w.add_column("source_index", np.int64)
        w.add_column("tiaug/params", JSON)
        w.set_attr("tiaug/pipeline", {"transforms": ["a", "b"]})
        w.append(faces.images[:2], faces.masks[:2], extra={"source_index": [7, 3], "tiaug/params": params})
    with open_thermal(out) as r:
        assert r.file["source_index"].dtype == np.int64
        assert list(r.file["source_index"][:]) == [7, 3]
        assert r.json_rows("tiaug/params") == [params[0], {"raw": "json string"}]
        assert json.loads(r.attrs["tiaug/pipeline"]) == {"transforms": ["a", "b"]}


def test_writer_refuses_inconsistent_rows(tmp_path, faces):
    out = tmp_path / "bad.h5"
    with pytest.raises(ValueError, match="missing values for column"), create_thermal_h5(out, *SIZE) as w:
        w.add_column("source_index", np.int64)
        w.append(faces.images[:2], faces.masks[:2])
    assert not out.exists() and os.listdir(tmp_path) == []
    for bad, words in [
        (dict(images=faces.images[:2].astype(np.int16), masks=faces.masks[:2]), "integer"),
        (dict(images=np.full((1, *SIZE), np.nan, np.float32), masks=faces.masks[:1]), "NaN"),
        (dict(images=faces.images[:2], masks=faces.masks[:1]), "masks shape"),
        (dict(images=faces.images[:2], masks=None), "pass masks"),
    ]:
        with pytest.raises(ValueError, match=words), create_thermal_h5(out, *SIZE) as w:
            w.append(**bad)
        assert os.listdir(tmp_path) == []
    with pytest.raises(ValueError, match="no images were written"), create_thermal_h5(out, *SIZE):
        pass
    assert os.listdir(tmp_path) == []


def test_streaming_memory_does_not_grow_with_the_file(tmp_path):
    one = np.full((1, 64, 64), 30.0, np.float32)

    def peak(n: int) -> int:
        path = tmp_path / f"s{n}.h5"
        with create_thermal_h5(path, 64, 64, masks=False) as w:
            for _ in range(n):
                w.append(one)
        tracemalloc.start()
        with open_thermal(path) as r:
            for batch in r.iter_batches(4):
                assert batch.images.shape[0] <= 4
        p = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        return p

    small, large = peak(16), peak(160)
    assert large < 1.5 * small + 200_000  # about one batch (4 x 16 KiB), not the 10x larger file


def test_nan_in_a_late_batch_is_found_while_streaming(tmp_path, faces):
    path = tmp_path / "late_nan.h5"
    images = np.concatenate([faces.images, faces.images])
    images[13, 0, 0] = np.nan
    with h5py.File(path, "w") as f:
        f["images"] = images
    with open_thermal(path) as r:
        first = next(r.iter_batches(4))  # structure is fine, early rows stream
        assert len(first.images) == 4
        with pytest.raises(ThermalDataError, match="row 13"):
            list(r.iter_batches(4))
    with pytest.raises(ThermalDataError, match="NaN"):
        validate_file(path)


def test_bad_inputs_are_refused_with_a_named_problem(bad_h5):
    for name in bad_h5.names:
        path, words = bad_h5(name)
        before = sha256(path)
        with pytest.raises(ThermalDataError) as err:
            validate_file(path)
        msg = str(err.value).lower()
        assert str(path).lower() in msg, name
        for word in words:
            assert word in msg, (name, word, msg)
        assert sha256(path) == before


def test_integer_images_with_units_are_accepted_and_hint_for_counts(tmp_path, faces, bad_h5):
    path = tmp_path / "int_degc.h5"
    with h5py.File(path, "w") as f:
        f["images"] = np.round(faces.images).astype(np.int16)
        f.attrs["units"] = "degC"
    with open_thermal(path) as r:
        assert r.read(0)[0].dtype == np.float32
    counts, _ = bad_h5("integer_no_units")
    with pytest.raises(ThermalDataError, match=r"273\.15"):  # the hint shows how to convert raw counts
        open_thermal(counts)


def test_mask_values_outside_the_classes_are_refused(tmp_path, faces):
    path = tmp_path / "mask9.h5"
    masks = faces.masks.copy()
    masks[5, 1, 1] = 9
    with h5py.File(path, "w") as f:
        f["images"], f["masks"] = faces.images, masks
    with pytest.raises(ThermalDataError, match=r"masks.*class values"):
        validate_file(path)


def test_not_hdf5_and_missing_files(tmp_path):
    junk = tmp_path / "junk.h5"
    junk.write_text("hello")
    with pytest.raises(ThermalDataError, match="not a readable HDF5"):
        open_thermal(junk)
    with pytest.raises(ThermalDataError, match="not found"):
        open_thermal(tmp_path / "nope.h5")


# --- whole-or-nothing outputs -------------------------------------------------------------------------------


@pytest.mark.parametrize("exc", [RuntimeError("boom"), KeyboardInterrupt(), SystemExit(143)])
def test_atomic_output_leaves_nothing_on_any_exception(tmp_path, exc):
    out = tmp_path / "out.h5"
    with pytest.raises(type(exc)), atomic_h5(out) as f:
        f["images"] = np.zeros((1, 2, 2), np.float32)
        raise exc
    assert os.listdir(tmp_path) == []


def test_atomic_output_refuses_existing_and_input(tmp_path, good_h5):
    before = sha256(good_h5)
    with pytest.raises(OutputPathError, match=r"already exists.*--overwrite"), atomic_output(good_h5):
        pass
    with (
        pytest.raises(OutputPathError, match="is the input"),
        atomic_output(good_h5, overwrite=True, inputs=[good_h5]),
    ):
        pass
    link = tmp_path / "alias.h5"
    link.symlink_to(good_h5)
    with (
        pytest.raises(OutputPathError, match="is the input"),
        atomic_output(link, overwrite=True, inputs=[good_h5]),
    ):
        pass
    with pytest.raises(OutputPathError, match="does not exist"), atomic_output(tmp_path / "no" / "x.h5"):
        pass
    assert sha256(good_h5) == before
    assert sorted(os.listdir(tmp_path)) == ["alias.h5", "good.h5"]


def test_atomic_output_overwrites_only_when_asked(tmp_path):
    out = tmp_path / "o.txt"
    out.write_text("old")
    with atomic_output(out, overwrite=True) as tmp:
        assert tmp.parent == tmp_path and tmp.name.startswith("o.txt.tmp-")
        tmp.write_text("new")
        assert out.read_text() == "old"  # untouched until the block completes
    assert out.read_text() == "new"
    assert os.listdir(tmp_path) == ["o.txt"]


def test_atomic_output_does_not_clobber_a_file_that_appears_meanwhile(tmp_path):
    out = tmp_path / "race.txt"
    with pytest.raises(OutputPathError, match="appeared"), atomic_output(out) as tmp:
        tmp.write_text("mine")
        out.write_text("someone else's")
    assert out.read_text() == "someone else's"
    assert os.listdir(tmp_path) == ["race.txt"]


# --- dataset class --------------------------------------------------------------------------------


def test_dataset_items_and_transform(good_h5, faces):
    ds = ThermalH5Dataset(good_h5)
    assert len(ds) == 8 and ds.classes == DEFAULT_CLASSES
    item = ds[2]
    np.testing.assert_array_equal(item["image"], faces.images[2])
    np.testing.assert_array_equal(item["mask"], faces.masks[2])
    assert item["image"].dtype == np.float32 and item["mask"].dtype == np.uint8
    np.testing.assert_array_equal(ds[-1]["image"], faces.images[7])
    with pytest.raises(IndexError):
        ds[8]
    assert len(list(ds)) == 8  # the sequence protocol stops at IndexError

    def flip(image, mask=None):
        return {"image": image[:, ::-1] + 1.0, "mask": None if mask is None else mask[:, ::-1]}

    t = ThermalH5Dataset(good_h5, transform=flip)[1]
    np.testing.assert_array_equal(t["image"], faces.images[1][:, ::-1] + 1.0)
    np.testing.assert_array_equal(t["mask"], faces.masks[1][:, ::-1])


def test_dataset_works_with_albumentations(good_h5, faces):
    import albumentations as A

    ds = ThermalH5Dataset(good_h5, transform=A.Compose([A.HorizontalFlip(p=1.0)]))
    item = ds[0]
    np.testing.assert_array_equal(item["image"], faces.images[0][:, ::-1])
    np.testing.assert_array_equal(item["mask"], faces.masks[0][:, ::-1])


def test_dataset_without_masks(tmp_path, faces):
    path = tmp_path / "nomask.h5"
    write_thermal_h5(path, faces.images)
    item = ThermalH5Dataset(path)[0]
    assert item["mask"] is None


def test_dataset_refuses_bad_files_up_front(bad_h5):
    path, _ = bad_h5("rgb")
    with pytest.raises(ThermalDataError, match="RGB"):
        ThermalH5Dataset(path)


def _child_reads(ds, i, queue):
    total = float(ds[i]["image"].sum())
    queue.put((total, ds._pid == os.getpid()))  # the child opened its own HDF5 handle


def test_dataset_survives_fork_and_pickle(good_h5, faces):
    ds = ThermalH5Dataset(good_h5)
    ds[0]  # the parent opens its handle before forking, like a DataLoader's main process
    ctx = mp.get_context("fork")
    q = ctx.Queue()
    procs = [ctx.Process(target=_child_reads, args=(ds, i, q)) for i in (3, 5)]
    for p in procs:
        p.start()
    got = sorted(q.get(timeout=30) for _ in procs)
    for p in procs:
        p.join(timeout=30)
        assert p.exitcode == 0
    assert got == sorted((float(faces.images[i].sum()), True) for i in (3, 5))
    clone = pickle.loads(pickle.dumps(ds))
    np.testing.assert_array_equal(clone[4]["image"], faces.images[4])
    assert ds[6]["image"].shape == SIZE  # the parent's handle still works
