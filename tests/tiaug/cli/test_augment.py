"""`tiaug augment`: contract, traceability, determinism across workers, refusals, interruption."""

from __future__ import annotations

import json
import signal
import time

import albumentations as A
import h5py
import numpy as np
import pytest

from tests.helpers.files import sha256
from tests.helpers.h5files import BAD_WORDS_CLI, SIZE
from tests.helpers.processes import run_python, start, stop_group, wait_for
from tiaug.analysis import fg_bg_stats
from tiaug.augment import row_seed
from tiaug.io import open_thermal, write_thermal_h5
from tiaug.pipeline_files import load_pipeline
from tiaug.seeding import seed_pipeline
from tiaug.synth import generate_faces


def _listing(path):
    return sorted(p.name for p in path.iterdir())


def test_augment_writes_traceable_rows(cli, good_h5, tmp_path):
    out = tmp_path / "aug.h5"
    res = cli("augment", good_h5, out, "--copies", 2, "--keep-original", "--seed", 5, "--no-progress")
    assert res.exit_code == 0, res.output
    with open_thermal(good_h5) as src, open_thermal(out) as r:
        assert r.n == src.n * 3 and (r.height, r.width) == SIZE and r.has_masks
        source = r.file["source_index"][:]
        np.testing.assert_array_equal(source, np.repeat(np.arange(src.n), 3))
        params = r.json_rows("tiaug/params")
        images, masks = r.read_batch(0, r.n).images, r.read_batch(0, r.n).masks
        originals = src.read_batch(0, src.n)
        pipeline_dict = json.loads(r.file.attrs["tiaug/pipeline"])
        run_info = json.loads(r.file.attrs["tiaug/augment"])
    assert run_info["seed"] == 5 and run_info["copies"] == 2
    for row in range(len(source)):
        i = source[row]
        if row % 3 == 0:  # kept original
            assert params[row] == []
            np.testing.assert_array_equal(images[row], originals.images[i])
        else:
            assert [p["transform"] for p in params[row]] == ["TiAugOcclusion", "ThermalNoise"]
            assert params[row][0]["params"]["occluders"][0]["polygon"]
            assert not np.array_equal(images[row], originals.images[i])
        np.testing.assert_array_equal(masks[row], originals.masks[i])  # default mask policy: keep
    # the stored pipeline and seed reproduce a row exactly
    pipeline = A.Compose(A.from_dict(pipeline_dict).transforms, save_applied_params=True)
    seed_pipeline(pipeline, row_seed(5, 2, 1))
    again = pipeline(image=originals.images[2], mask=originals.masks[2])
    np.testing.assert_array_equal(again["image"], images[2 * 3 + 2])


def test_same_seed_identical_whatever_the_workers(tmp_path):
    faces = generate_faces(20, *SIZE, seed=1)
    src = tmp_path / "in.h5"
    write_thermal_h5(src, faces.images, faces.masks)
    outs = []
    for workers, batch_size in ((1, 3), (2, 3), (3, 4)):  # more batches than shared buffers: buffers are reused
        out = tmp_path / f"w{workers}.h5"
        res = run_python(
            "tiaug",
            "augment",
            str(src),
            str(out),
            "--workers",
            str(workers),
            "--seed",
            "9",
            "--batch-size",
            str(batch_size),
            "--copies",
            "2",
        )
        assert res.returncode == 0, res.stderr
        with h5py.File(out) as f:
            outs.append((f["images"][:], f["masks"][:], f["tiaug/params"][:]))
    for other_run in outs[1:]:
        np.testing.assert_array_equal(outs[0][0], other_run[0])
        np.testing.assert_array_equal(outs[0][1], other_run[1])
        assert list(outs[0][2]) == list(other_run[2])
    other = tmp_path / "other.h5"
    assert run_python("tiaug", "augment", str(src), str(other), "--seed", "10").returncode == 0
    with h5py.File(other) as f:
        assert not np.array_equal(f["images"][:], outs[0][0][::2])


def test_flags_reach_the_pipeline(cli, good_h5, tmp_path):
    out = tmp_path / "flags.h5"
    res = cli(
        "augment",
        good_h5,
        out,
        "--configurations",
        "dual",
        "--mask-policy",
        "ignore",
        "--max-netd",
        "0.02",
        "--size-range",
        "0.2,0.3",
        "--no-progress",
    )
    assert res.exit_code == 0, res.output
    with open_thermal(out) as r:
        params = r.json_rows("tiaug/params")
        masks = r.read_batch(0, r.n).masks
    assert {p[0]["params"]["configuration"] for p in params} == {"dual"}
    assert all(0.2 <= p[0]["params"]["size_fraction"] <= 0.3 for p in params)
    assert all(p[1]["params"]["netd"] <= 0.02 for p in params)
    assert (masks == 255).any()


@pytest.mark.parametrize("fmt", ["json", "yaml"])
def test_config_file_pipeline(cli, good_h5, tmp_path, fmt):
    from tiaug.transforms import ThermalNoise

    config = tmp_path / f"pipe.{fmt}"
    A.save(A.Compose([A.HorizontalFlip(p=1), ThermalNoise(p=1, max_netd=0.01)]), str(config), data_format=fmt)
    out = tmp_path / "cfg.h5"
    res = cli("augment", good_h5, out, "--config", config, "--no-progress")
    assert res.exit_code == 0, res.output
    with open_thermal(good_h5) as src, open_thermal(out) as r:
        flipped = src.read_batch(0, src.n).images[:, :, ::-1]
        np.testing.assert_allclose(r.read_batch(0, r.n).images, flipped, atol=0.1)
        assert [t["transform"] for t in r.json_rows("tiaug/params")[0]] == ["HorizontalFlip", "ThermalNoise"]
    assert isinstance(load_pipeline(config), A.Compose)


def test_config_refuses_temperature_traps_and_extra_flags(cli, good_h5, tmp_path):
    config = tmp_path / "blur.json"
    A.save(A.Compose([A.GaussianBlur(p=1)]), str(config))
    res = cli("augment", good_h5, tmp_path / "o.h5", "--config", config, "--no-progress")
    assert res.exit_code == 1 and "GaussianBlur" in res.output and "TemperatureSafe" in res.output
    assert not (tmp_path / "o.h5").exists()
    res = cli("augment", good_h5, tmp_path / "o2.h5", "--config", config, "--max-netd", "0.1")
    assert res.exit_code != 0 and "--config replaces the pipeline" in res.output
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    res = cli("augment", good_h5, tmp_path / "o3.h5", "--config", bad)
    assert res.exit_code == 1 and "bad.json" in res.output


@pytest.mark.parametrize("name", sorted(BAD_WORDS_CLI))
def test_bad_inputs_refused_input_untouched_no_output(cli, bad_h5, tmp_path, name):
    path, _ = bad_h5(name)
    before = sha256(path)
    listing = _listing(tmp_path)
    res = cli("augment", path, tmp_path / "out.h5", "--no-progress")
    assert res.exit_code == 1, res.output
    assert "Error:" in res.output and path.name in res.output
    for word in BAD_WORDS_CLI[name]:
        assert word in res.output, (word, res.output)
    assert sha256(path) == before
    assert _listing(tmp_path) == listing


def test_in_equal_out_and_existing_out_refused(cli, good_h5, tmp_path):
    before = sha256(good_h5)
    res = cli("augment", good_h5, good_h5)
    assert res.exit_code == 1 and "is the input" in res.output
    existing = tmp_path / "exists.h5"
    existing.write_bytes(b"keep me")
    res = cli("augment", good_h5, existing)
    assert res.exit_code == 1 and "exists" in res.output and "--overwrite" in res.output
    assert existing.read_bytes() == b"keep me" and sha256(good_h5) == before
    assert cli("augment", good_h5, existing, "--overwrite", "--no-progress").exit_code == 0
    with open_thermal(existing) as r:
        assert r.n == 8


def test_nothing_to_write_refused(cli, good_h5, tmp_path):
    res = cli("augment", good_h5, tmp_path / "o.h5", "--copies", "0")
    assert res.exit_code == 1 and "nothing to write" in res.output


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL])
def test_killed_augment_leaves_no_output(tmp_path, sig):
    faces = generate_faces(8, 64, 80, seed=0)
    src = tmp_path / "in.h5"
    write_thermal_h5(src, np.tile(faces.images, (250, 1, 1)), np.tile(faces.masks, (250, 1, 1)))
    out = tmp_path / "out.h5"
    proc = start("tiaug", "augment", src, out, "--copies", "4", "--batch-size", "8", "--no-progress")
    try:
        wait_for(lambda: any(p.name.startswith("out.h5.tmp-") for p in tmp_path.iterdir()), proc, "augment writing")
        time.sleep(0.2)
        proc.send_signal(sig)
        proc.wait(timeout=60)
    finally:
        stop_group(proc)
    assert proc.returncode != 0
    assert not out.exists()
    if sig == signal.SIGINT:  # a clean interruption also removes its temporary file
        assert _listing(tmp_path) == ["in.h5"]


def test_tiaug_diversifies_foreground_background_relation(cli, tmp_path):
    """The poster's 'effectiveness of TiAug': after augmentation face temperatures spread far beyond skin."""
    lab, aug, js = tmp_path / "lab.h5", tmp_path / "aug.h5", tmp_path / "stats.json"
    assert cli("synth", lab, "-n", 24, "--size", "64x80", "--seed", 1, "--no-progress").exit_code == 0
    assert cli("augment", lab, aug, "--copies", 2, "--no-progress").exit_code == 0
    assert cli("stats", lab, aug, "--json", js, "--no-progress").exit_code == 0
    before, after = json.loads(js.read_text())
    assert before["fg_colder_than_bg"] < 0.01 < after["fg_colder_than_bg"]
    assert after["fg_p95"] - after["fg_p5"] > 1.3 * (before["fg_p95"] - before["fg_p5"])
    # the per-image face - room difference spreads too: its 5-95 % range (its IQR alone rises for only 60-75 % of
    # seeds with these 48 images, on main's sampling as on the current one, so it is no test of TiAug)
    diffs = (fg_bg_stats(lab).diff, fg_bg_stats(aug).diff)
    spreads = [np.subtract(*np.percentile(d[np.isfinite(d)], [95, 5])) for d in diffs]
    assert spreads[1] > spreads[0]
