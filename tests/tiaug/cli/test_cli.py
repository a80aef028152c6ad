"""The `tiaug` commands of this package: happy paths, --help, bad inputs, whole-or-nothing outputs."""

from __future__ import annotations

import json
import signal
import time

import h5py
import numpy as np
import pytest

from tests.helpers.files import sha256
from tests.helpers.h5files import BAD_WORDS_CLI, SIZE
from tests.helpers.processes import run_python, start, stop_group, wait_for
from tiaug.io import open_thermal
from tiaug.io.importers.landmarks import write_ljson

COMMANDS = ["synth", "augment", "stats", "preview", "import-tfdb", "import-folder", "import-video", "merge"]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _listing(path):
    return sorted(p.name for p in path.iterdir())


# --- help ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("command", COMMANDS)
def test_help_in_process(cli, command):
    result = cli(command, "--help")
    assert result.exit_code == 0
    assert "Usage:" in result.output
    text = " ".join(result.output.split())
    assert "degrees Celsius" in text


def test_help_as_subprocesses():
    top = run_python("tiaug", "--help")
    assert top.returncode == 0
    for command in COMMANDS:
        assert command in top.stdout
    for command in COMMANDS:
        res = run_python("tiaug", command, "--help")
        assert res.returncode == 0, res.stderr
        assert "Usage:" in res.stdout and "degrees Celsius" in " ".join(res.stdout.split())


# --- synth --------------------------------------------------------------------------------------------------


def test_synth_writes_the_contract(cli, tmp_path):
    out = tmp_path / "s.h5"
    res = cli("synth", out, "-n", 5, "--size", "40x56", "--seed", 4, "--no-progress")
    assert res.exit_code == 0, res.output
    with open_thermal(out) as r:
        assert (r.n, r.height, r.width) == (5, 40, 56)
        b = r.read_batch(0, 5)
        assert r.attrs["units"] == "degC" and b.landmarks.shape == (5, 68, 2)
        params = r.json_rows("synth/params")
        assert json.loads(r.attrs["tiaug/synth"])["seed"] == 4
    assert len(params) == 5 and all(p["unconstrained"] is False for p in params)
    again = tmp_path / "t.h5"
    assert cli("synth", again, "-n", 5, "--size", "40x56", "--seed", 4, "--no-progress").exit_code == 0
    with h5py.File(out, "r") as a, h5py.File(again, "r") as c:
        np.testing.assert_array_equal(a["images"][:], c["images"][:])  # seeded: same faces


def test_synth_refusals(cli, tmp_path):
    out = tmp_path / "s.h5"
    assert cli("synth", out, "-n", 2, "--size", "24x30", "--no-progress").exit_code == 0
    before = sha256(out)
    res = cli("synth", out, "-n", 3, "--size", "24x30", "--no-progress")
    assert res.exit_code != 0 and "already exists" in res.output and "--overwrite" in res.output
    assert sha256(out) == before and _listing(tmp_path) == ["s.h5"]
    assert cli("synth", out, "-n", 3, "--size", "24x30", "--overwrite", "--no-progress").exit_code == 0
    with open_thermal(out) as r:
        assert r.n == 3
    res = cli("synth", tmp_path / "missing" / "x.h5", "-n", 1, "--size", "24x30")
    assert res.exit_code != 0 and "does not exist" in res.output
    res = cli("synth", tmp_path / "y.h5", "--size", "24")
    assert res.exit_code == 2 and "HxW" in res.output
    assert _listing(tmp_path) == ["s.h5"]


def test_synth_subprocess_unconstrained(tmp_path):
    out = tmp_path / "u.h5"
    res = run_python("tiaug", "synth", str(out), "-n", "3", "--size", "48x60", "--seed", "1", "--unconstrained")
    assert res.returncode == 0, res.stderr
    with open_thermal(out) as r:
        assert all(p["unconstrained"] and p["conditions"] for p in r.json_rows("synth/params"))


def test_synth_killed_midway_leaves_no_output(tmp_path):
    out = tmp_path / "big.h5"
    proc = start("tiaug", "synth", out, "-n", "100000", "--size", "64x80", "--no-progress")
    try:
        wait_for(lambda: any(p.name.startswith("big.h5.tmp-") for p in tmp_path.iterdir()), proc, "synth writing")
        time.sleep(0.3)
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
    finally:
        stop_group(proc)
    assert proc.returncode != 0
    assert _listing(tmp_path) == []  # neither OUT nor its temporary file


# --- stats and preview --------------------------------------------------------------------------------


@pytest.fixture
def pair(cli, tmp_path):
    """A clean and an unconstrained synthetic file (same faces)."""
    a, b = tmp_path / "lab.h5", tmp_path / "wild.h5"
    for p, extra in ((a, []), (b, ["--unconstrained"])):
        assert cli("synth", p, "-n", 16, "--size", "64x80", "--seed", 2, "--no-progress", *extra).exit_code == 0
    return a, b


def test_stats_table_json_and_png(cli, pair, tmp_path):
    a, b = pair
    before = sha256(a), sha256(b)
    png, js = tmp_path / "box.png", tmp_path / "s.json"
    res = cli("stats", a, b, "--png", png, "--json", js, "--label", "lab", "--label", "wild", "--no-progress")
    assert res.exit_code == 0, res.output
    assert "fg warmer" in res.output and "lab" in res.output and "wild" in res.output
    assert png.read_bytes()[:8] == PNG_MAGIC
    lab, wild = json.loads(js.read_text())
    assert lab["images"] == 16 and lab["fg_warmer"] == 1.0  # in a controlled room the face is warmer
    assert 32.5 <= lab["fg_mean"] <= 35.0 and 18.0 <= lab["bg_mean"] <= 28.0
    assert wild["diff_iqr"] > lab["diff_iqr"]  # real-world conditions make fg - bg more diverse
    assert (sha256(a), sha256(b)) == before


def test_stats_and_preview_subprocess(pair, tmp_path):
    a, b = pair
    res = run_python("tiaug", "stats", str(a), str(b), "--png", str(tmp_path / "b.png"))
    assert res.returncode == 0, res.stderr
    assert "fg-bg" in res.stdout
    res = run_python("tiaug", "preview", str(b), "--png", str(tmp_path / "g.png"), "-n", "4", "--seed", "1")
    assert res.returncode == 0, res.stderr
    assert (tmp_path / "g.png").read_bytes()[:8] == PNG_MAGIC


def test_preview_draws_every_polygon_of_tiaug_params(cli, good_h5, tmp_path, monkeypatch):
    rows = [
        {
            "occluders": [
                {"polygon": [[1, 1], [9, 1], [9, 9]]},
                {"kind": "dual", "parts": [{"polygon": [[0, 0], [5, 5]]}]},
            ]
        },
        {"nested": {"deeper": [{"polygon": [[2, 3], [4, 5], [6, 1], [2, 2]], "temperature": 20.5}]}},
        {"no_polygons_here": True, "polygon": "not coordinates"},
    ] + [{}] * 5
    with h5py.File(good_h5, "a") as f:
        f.create_dataset("tiaug/params", data=[json.dumps(r) for r in rows], dtype=h5py.string_dtype())
    seen = {}

    import tiaug.plots

    real = tiaug.plots.plot_grid

    def spy(images, path, **kw):
        seen["polygons"] = kw["polygons"]
        seen["masks"] = kw["masks"]
        real(images, path, **kw)

    monkeypatch.setattr(tiaug.plots, "plot_grid", spy)
    png = tmp_path / "grid.png"
    res = cli("preview", good_h5, "--png", png, "-n", 8)
    assert res.exit_code == 0, res.output
    assert png.read_bytes()[:8] == PNG_MAGIC
    counts = [len(p) for p in seen["polygons"]]
    assert counts == [2, 1, 0, 0, 0, 0, 0, 0]
    np.testing.assert_array_equal(seen["polygons"][1][0], [[2, 3], [4, 5], [6, 1], [2, 2]])
    assert seen["masks"].shape == (8, *SIZE)


@pytest.mark.parametrize("name", sorted(BAD_WORDS_CLI))
@pytest.mark.parametrize("command", ["stats", "preview"])
def test_bad_inputs_are_refused(cli, bad_h5, tmp_path, name, command):
    path, _ = bad_h5(name)
    before = sha256(path)
    listing = _listing(tmp_path)
    png = tmp_path / "out.png"
    res = cli(command, path, "--png", png)
    assert res.exit_code == 1, res.output
    assert "Error:" in res.output and path.name in res.output
    for word in BAD_WORDS_CLI[name]:
        assert word in res.output, (word, res.output)
    assert sha256(path) == before
    assert _listing(tmp_path) == listing  # no PNG, no temporary file


@pytest.mark.parametrize("name", ["nan_pixels", "rgb", "integer_no_units"])
def test_bad_inputs_are_refused_in_subprocesses(bad_h5, tmp_path, name):
    path, _ = bad_h5(name)
    before = sha256(path)
    res = run_python("tiaug", "stats", str(path), "--png", str(tmp_path / "x.png"))
    assert res.returncode == 1 and "Error:" in res.stderr and path.name in res.stderr
    assert "Traceback" not in res.stderr
    assert sha256(path) == before and not (tmp_path / "x.png").exists()


def test_output_equal_to_input_is_refused(cli, good_h5):
    before = sha256(good_h5)
    for command in ("stats", "preview"):
        res = cli(command, good_h5, "--png", good_h5)
        assert res.exit_code == 1 and "is the input" in res.output
    assert sha256(good_h5) == before
    assert _listing(good_h5.parent) == ["good.h5"]


def test_stats_needs_masks(cli, tmp_path, faces):
    path = tmp_path / "nomask.h5"
    with h5py.File(path, "w") as f:
        f["images"] = faces.images
    res = cli("stats", path)
    assert res.exit_code == 1 and "masks" in res.output and "missing" in res.output


# --- importers ----------------------------------------------------------------------------------------------


@pytest.fixture
def tfdb_dir(tmp_path, faces):
    d = tmp_path / "tfdb"
    d.mkdir()
    for i in range(6):
        stem = f"irface_sub{i % 3}_seq1_frm{i}"
        np.save(d / f"{stem}.npy", faces.images[i])
        write_ljson(d / f"{stem}.ljson", faces.landmarks[i])
    return d


def test_import_tfdb_cli(cli, tfdb_dir, tmp_path):
    before = {p.name: sha256(p) for p in tfdb_dir.iterdir()}
    out = tmp_path / "t.h5"
    res = cli("import-tfdb", tfdb_dir, out, "--resize", "24x30", "--no-progress")
    assert res.exit_code == 0, res.output
    with open_thermal(out) as r:
        assert (r.n, r.height, r.width) == (6, 24, 30) and r.has_masks and r.has_landmarks
    res = cli("import-tfdb", tfdb_dir, out, "--no-progress")
    assert res.exit_code == 1 and "already exists" in res.output
    res = cli("import-tfdb", tfdb_dir, tmp_path / "split.h5", "--split-val", "0.34", "--seed", "3", "--no-progress")
    assert res.exit_code == 0, res.output
    assert {"split_train.h5", "split_val.h5"} <= set(_listing(tmp_path))
    res = cli("import-tfdb", tfdb_dir, tmp_path / "c.h5", "--crop", "100x100")
    assert res.exit_code == 1 and "smaller than the crop" in res.output and not (tmp_path / "c.h5").exists()
    assert before == {p.name: sha256(p) for p in tfdb_dir.iterdir()}


def test_import_subprocesses(tfdb_dir, tmp_path, faces):
    res = run_python("tiaug", "import-tfdb", str(tfdb_dir), str(tmp_path / "t.h5"), "--split-val", "0.5")
    assert res.returncode == 0, res.stderr
    assert (tmp_path / "t_train.h5").exists() and (tmp_path / "t_val.h5").exists()
    folder = tmp_path / "plain"
    folder.mkdir()
    np.save(folder / "a.npy", faces.images[0])
    res = run_python("tiaug", "import-folder", str(folder), str(tmp_path / "f.h5"))
    assert res.returncode == 0, res.stderr
    np.save(folder / "b.npy", (faces.images[1] * 100).astype(np.int32))
    res = run_python("tiaug", "import-folder", str(folder), str(tmp_path / "g.h5"), "--strict")
    assert res.returncode == 1 and "integer" in res.stderr and "b.npy" in res.stderr
    assert not (tmp_path / "g.h5").exists()
    res = run_python("tiaug", "import-folder", str(folder), str(tmp_path / "g.h5"))  # b.npy skipped, a.npy imported
    assert res.returncode == 0 and "b.npy" in res.stderr and "1 file(s) skipped" in res.stderr


def test_import_folder_cli_bad_inputs(cli, tmp_path, faces):
    folder = tmp_path / "plain"
    folder.mkdir()
    np.save(folder / "a.npy", faces.images[0])
    nan = faces.images[1].copy()
    nan[0, 0] = np.nan
    cases = [
        ("b.npy", nan, "NaN"),
        ("b.npy", np.stack([faces.images[1]] * 3, -1), "RGB"),
        ("b.npy", (faces.images[1] * 10).astype(np.int16), "integer"),
    ]
    for name, array, word in cases:
        np.save(folder / name, array)
        before = {p.name: sha256(p) for p in folder.iterdir()}
        res = cli("import-folder", folder, tmp_path / "o.h5", "--no-progress", "--strict")
        assert res.exit_code == 1 and word in res.output and name in res.output, res.output
        assert before == {p.name: sha256(p) for p in folder.iterdir()}
        assert _listing(tmp_path) == ["plain"]
        res = cli("import-folder", folder, tmp_path / "o.h5", "--no-progress")  # the bad file is skipped
        assert res.exit_code == 0 and f"skipped {folder / name}" in res.output and word in res.output, res.output
        assert "wrote 1 images" in res.output and "(1 file(s) skipped" in res.output
        with open_thermal(tmp_path / "o.h5") as r:
            assert r.n == 1 and r.file["source_file"].asstr()[:].tolist() == ["a.npy"]
            assert json.loads(r.attrs["tiaug/skipped"])[0].startswith(str(folder / name))
        (tmp_path / "o.h5").unlink()
        assert before == {p.name: sha256(p) for p in folder.iterdir()}
    (folder / "b.npy").unlink()
    assert cli("import-folder", folder, tmp_path / "o.h5", "--no-progress").exit_code == 0
    res = cli("import-folder", folder, tmp_path / "o.h5", "--no-progress")
    assert res.exit_code == 1 and "already exists" in res.output
    empty = tmp_path / "empty"
    empty.mkdir()
    res = cli("import-folder", empty, tmp_path / "e.h5")
    assert res.exit_code == 1 and "no temperature images" in res.output
