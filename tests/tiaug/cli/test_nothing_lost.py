"""Nothing lost by the tiaug commands: no destroyed temperatures, no output over an input, no hang, no traceback,
no vague message.

Each test is one way to get this wrong (exit 0 with 1.0 °C images, an input replaced, a pool that never returns,
a traceback, a message that does not name the file, key, row or flag).
"""

from __future__ import annotations

import json
import os
import signal
import time

import albumentations as A
import cv2
import h5py
import numpy as np
import pytest

from tests.helpers.files import digest, listing
from tests.helpers.h5files import SIZE, write_raw_h5
from tests.helpers.processes import group_alive, group_members, run, start, stop_group, wait_for
from tests.helpers.refusals import assert_one_error_line
from tiaug.io import write_thermal_h5
from tiaug.io.h5.atomic import atomic_output
from tiaug.transforms import TemperatureSafe, TiAugOcclusion

# -- 1. --config pipelines that destroy temperatures --------------------------------------------------------
DESTROYERS = {  # what each does to a 25-35 C image on main: all 1.0, -1.7 C, up to 57 C, 0 C patches ...
    "CLAHE": A.CLAHE(p=1),
    "Defocus": A.Defocus(p=1),
    "Emboss": A.Emboss(p=1),
    "MedianBlur": A.MedianBlur(p=1),
    "UnsharpMask": A.UnsharpMask(p=1),
    "ImageCompression": A.ImageCompression(p=1),
    "Posterize": A.Posterize(p=1),
    "Normalize": A.Normalize(p=1),
    "RandomGamma": A.RandomGamma(p=1),
    "CoarseDropout": A.CoarseDropout(p=1),
    "GridDistortion": A.GridDistortion(p=1),
    "RandomCrop": A.RandomCrop(SIZE[0] + 8, SIZE[1], pad_if_needed=True, p=1),
    "GaussianBlur": A.GaussianBlur(p=1),
    "Rotate": A.Rotate(limit=30, p=1),
}


def _save(pipeline: A.Compose, path) -> str:
    A.save(pipeline, str(path))
    return str(path)


@pytest.mark.parametrize("name", sorted(DESTROYERS))
def test_config_transforms_not_known_to_keep_celsius_are_refused_before_any_row(cli, good_h5, tmp_path, name):
    config = _save(A.Compose([A.HorizontalFlip(p=0.5), DESTROYERS[name]]), tmp_path / "pipe.json")
    before, inputs = listing(tmp_path), digest(good_h5, config)
    res = cli("augment", good_h5, tmp_path / "out.h5", "--config", config, "--no-progress")
    assert res.exit_code == 1
    assert_one_error_line(res.stderr, "--config", name, "TemperatureSafe")
    assert listing(tmp_path) == before and digest(good_h5, config) == inputs


@pytest.mark.parametrize("name", ["GaussianBlur", "Normalize", "Rotate", "CoarseDropout", "RandomGamma"])
def test_allow_unsafe_still_checks_every_output_row(cli, good_h5, tmp_path, name):
    config = _save(A.Compose([DESTROYERS[name]]), tmp_path / "pipe.json")
    before = listing(tmp_path)
    res = cli("augment", good_h5, tmp_path / "out.h5", "--config", config, "--allow-unsafe", "--no-progress")
    assert res.exit_code == 1
    line = [x for x in res.stderr.splitlines() if x.startswith("Error:")]
    assert len(line) == 1 and "row 0" in line[0] and name in line[0], res.stderr
    assert "warning (--allow-unsafe)" in res.stderr
    assert listing(tmp_path) == before


def test_safe_pipelines_pass_and_unknown_harmless_transforms_need_allow_unsafe(cli, good_h5, tmp_path):
    reflect = cv2.BORDER_REFLECT_101
    crop = A.RandomCrop(*SIZE, pad_if_needed=True, border_mode=reflect)
    blur = TemperatureSafe([A.GaussianBlur(p=1)], p=1)
    safe = A.Compose([A.Rotate(limit=30, border_mode=reflect, p=1), crop, blur, TiAugOcclusion(p=1)])
    res = cli("augment", good_h5, tmp_path / "a.h5", "--config", _save(safe, tmp_path / "s.json"), "--no-progress")
    assert res.exit_code == 0, res.stderr
    shuffle = _save(A.Compose([A.RandomGridShuffle(p=1)]), tmp_path / "g.json")  # moves pixels: harmless
    assert cli("augment", good_h5, tmp_path / "b.h5", "--config", shuffle).exit_code == 1
    res = cli("augment", good_h5, tmp_path / "b.h5", "--config", shuffle, "--allow-unsafe", "--no-progress")
    assert res.exit_code == 0 and (tmp_path / "b.h5").exists(), res.stderr


# -- 4, 5. outputs that would replace inputs or existing files ----------------------------------------------
def _npy_folder(tmp_path, faces):
    folder = tmp_path / "in"
    folder.mkdir()
    for i in range(3):
        np.save(folder / f"f{i}.npy", faces.images[i])
    return folder


def test_import_folder_never_replaces_a_file_of_its_input_folder(cli, faces, tmp_path):
    folder = _npy_folder(tmp_path, faces)
    (tmp_path / "link.h5").symlink_to(folder / "f1.npy")
    os.link(folder / "f2.npy", tmp_path / "hard.h5")
    before, inputs = listing(tmp_path), digest(folder)
    for out in (folder / "f0.npy", tmp_path / "link.h5", tmp_path / "hard.h5"):
        res = cli("import-folder", folder, out, "--overwrite", "--no-progress")
        assert res.exit_code == 1
        assert_one_error_line(res.stderr, str(out), "input folder")
    assert listing(tmp_path) == before and digest(folder) == inputs


def test_import_tfdb_never_replaces_a_file_of_its_input_folder(cli, faces, tmp_path):
    folder = _npy_folder(tmp_path, faces)
    inputs = digest(folder)
    res = cli("import-tfdb", folder, folder / "f0.npy", "--overwrite", "--no-progress")
    assert res.exit_code == 1
    assert_one_error_line(res.stderr, "f0.npy", "input folder")
    assert digest(folder) == inputs


@pytest.mark.parametrize("command", ["preview", "stats"])
def test_png_outputs_are_not_replaced_without_overwrite(cli, good_h5, tmp_path, command):
    png = tmp_path / "old.png"
    png.write_bytes(b"mine")
    res = cli(command, good_h5, "--png", png)
    assert res.exit_code == 1
    assert_one_error_line(res.stderr, "old.png", "--overwrite")
    assert png.read_bytes() == b"mine"
    assert cli(command, good_h5, "--png", png, "--overwrite").exit_code == 0
    assert png.read_bytes()[:4] == b"\x89PNG"


def test_stats_json_is_not_replaced_without_overwrite(cli, good_h5, tmp_path):
    out = tmp_path / "s.json"
    out.write_text("mine")
    res = cli("stats", good_h5, "--json", out)
    assert res.exit_code == 1 and out.read_text() == "mine"
    assert_one_error_line(res.stderr, "s.json", "--overwrite")


def test_augment_config_file_is_an_input_too(cli, good_h5, tmp_path):
    config = _save(A.Compose([A.HorizontalFlip(p=1)]), tmp_path / "pipe.json")
    inputs = digest(config)
    res = cli("augment", good_h5, config, "--config", config, "--overwrite")
    assert res.exit_code == 1 and digest(config) == inputs
    assert_one_error_line(res.stderr, "pipe.json", "input")


# -- 6. the pool does not hang on bad rows ------------------------------------------------------------------
@pytest.mark.parametrize("problem", ["nan_row", "bad_label"])
def test_augment_workers_report_bad_rows_and_do_not_hang(faces, tmp_path, problem):
    images, masks = np.tile(faces.images, (3, 1, 1)), np.tile(faces.masks, (3, 1, 1))
    if problem == "nan_row":
        images[17, 4, 4] = np.nan
    else:
        masks[17, 4, 4] = 42
    path = write_raw_h5(tmp_path / "bad.h5", {"images": images, "masks": masks}, {"units": "degC"})
    before, inputs = listing(tmp_path), digest(path)
    started = time.monotonic()
    res = run(
        "tiaug",
        "augment",
        path,
        tmp_path / "out.h5",
        "--workers",
        "2",
        "--batch-size",
        "2",
        "--no-progress",
        timeout=90,
    )
    assert time.monotonic() - started < 90 and res.returncode == 1
    assert_one_error_line(res.stderr, "bad.h5", "row 17" if problem == "nan_row" else "masks")
    assert listing(tmp_path) == before and digest(path) == inputs


# -- 8. bad values: a message naming the flag, not a traceback ----------------------------------------------
@pytest.mark.parametrize(
    ("flags", "words"),
    [
        (["--size-range", "nan,nan"], ["--size-range", "finite"]),
        (["--max-netd", "inf"], ["--max-netd", "finite"]),
        (["--min-netd", "nan"], ["--min-netd", "finite"]),
        (["--seed", "-1"], ["--seed"]),
        (["--size-range", "0.5,0.1"], ["size_range"]),
    ],
)
def test_bad_flag_values_name_the_flag(cli, good_h5, tmp_path, flags, words):
    res = cli("augment", good_h5, tmp_path / "out.h5", *flags)
    assert res.exit_code in (1, 2) and not (tmp_path / "out.h5").exists()
    line = assert_one_error_line(res.stderr, *words)
    assert "validation error" not in line and "InitSchema" not in line


def test_bad_transform_arguments_in_a_config_file_read_as_one_line(cli, good_h5, tmp_path):
    config = tmp_path / "pipe.json"
    A.save(A.Compose([TiAugOcclusion(p=1)]), str(config))
    doc = json.loads(config.read_text())
    doc["transform"]["transforms"][0]["size_range"] = [0.0, 0.5]
    config.write_text(json.dumps(doc))
    res = cli("augment", good_h5, tmp_path / "out.h5", "--config", config)
    assert res.exit_code == 1
    line = assert_one_error_line(res.stderr, "pipe.json", "size_range")
    assert "validation error" not in line and "InitSchema" not in line and "[type=" not in line


# -- 9. signals: the right outcome, one line, no traceback ---------------------------------------------------
def _big_input(tmp_path, faces):
    path = tmp_path / "in.h5"
    write_thermal_h5(path, np.tile(faces.images, (150, 1, 1)), np.tile(faces.masks, (150, 1, 1)))
    return path


def _start_big_augment(src, out):
    """``tiaug augment`` of ``src`` with two workers, long enough to be stopped while writing ``out``."""
    return start("tiaug", "augment", src, out, "--copies", "4", "--batch-size", "4", "--workers", "2", "--no-progress")


def _writing(tmp_path):
    return lambda: any(p.name.startswith("out.h5.tmp-") for p in tmp_path.iterdir())


@pytest.mark.parametrize(("sig", "status"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_stop_signals_end_augment_with_one_line_and_no_traceback(faces, tmp_path, sig, status):
    src = _big_input(tmp_path, faces)
    before = [*listing(tmp_path)]
    proc = _start_big_augment(src, tmp_path / "out.h5")
    try:
        wait_for(_writing(tmp_path), proc, "the output's temporary file")
        time.sleep(0.3)
        os.killpg(proc.pid, sig)  # as a terminal's Ctrl-C does: the whole group, workers included
        _, err = proc.communicate(timeout=60)
    finally:
        stop_group(proc)
    assert proc.returncode == status, err
    assert_one_error_line(err, signal.Signals(sig).name if sig == signal.SIGTERM else "interrupted")
    assert listing(tmp_path) == before


def test_workers_end_quietly_when_the_parent_is_killed(faces, tmp_path):
    src = _big_input(tmp_path, faces)
    proc = _start_big_augment(src, tmp_path / "out.h5")
    try:
        wait_for(_writing(tmp_path), proc, "the output's temporary file")
        proc.send_signal(signal.SIGKILL)  # only the parent: its workers must not print BrokenPipe tracebacks
        proc.wait(timeout=30)
        deadline = time.time() + 30
        while group_alive(proc.pid) and time.time() < deadline:
            time.sleep(0.05)
        left = group_members(proc.pid)
        assert not left, f"the workers outlived their parent: {left} (pid: state)"
        err = proc.stderr.read()
    finally:
        stop_group(proc)
    assert "Traceback" not in err and "BrokenPipe" not in err, err


# -- 10. messages that say what is wrong ----------------------------------------------------------------------
def test_a_damaged_chunk_names_file_key_and_rows(cli, faces, tmp_path):
    path = tmp_path / "damaged.h5"
    write_thermal_h5(path, faces.images, faces.masks, compression="gzip")
    with h5py.File(path, "r") as f:
        info = f["images"].id.get_chunk_info(5)
    with path.open("r+b") as handle:
        handle.seek(info.byte_offset + 8)
        handle.write(b"\xff" * 64)
    res = cli("stats", path)
    assert res.exit_code == 1
    assert_one_error_line(res.stderr, "damaged.h5", "'images'", "rows", "damaged")


def test_a_bad_ignore_index_attribute_names_file_and_key(cli, faces, tmp_path):
    path = write_raw_h5(
        tmp_path / "attr.h5", {"images": faces.images, "masks": faces.masks}, {"units": "degC", "ignore_index": "abc"}
    )
    res = cli("stats", path)
    assert res.exit_code == 1
    assert_one_error_line(res.stderr, "attr.h5", "ignore_index")


@pytest.mark.parametrize(("offset", "word"), [(28000.0, "mean"), (-400.0, "minimum")])
def test_implausible_temperatures_are_refused(cli, faces, tmp_path, offset, word):
    images = faces.images.copy()
    images[2] += np.float32(offset)
    path = write_raw_h5(tmp_path / "hot.h5", {"images": images, "masks": faces.masks}, {"units": "degC"})
    res = cli("augment", path, tmp_path / "out.h5", "--no-progress")
    assert res.exit_code == 1 and not (tmp_path / "out.h5").exists()
    assert_one_error_line(res.stderr, "hot.h5", "row 2", word)


def test_unwritable_output_folder_is_named(cli, good_h5, tmp_path, monkeypatch):
    folder = tmp_path / "locked"
    folder.mkdir()
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: False if str(p) == str(folder) else real_access(p, mode))
    res = cli("augment", good_h5, folder / "out.h5", "--no-progress")
    assert res.exit_code == 1
    line = assert_one_error_line(res.stderr, "out.h5", "locked", "permission")
    assert ".tmp-" not in line
    assert listing(folder) == []


def test_temporary_files_of_dead_processes_are_cleaned(good_h5, tmp_path):
    from tiaug.io.h5.atomic import remove_stale_temporaries

    dead = tmp_path / f"out.h5.tmp-{2**22 + 12345}-0123abcd"  # pids stay below 2**22 on Linux
    dead.write_bytes(b"partial")
    staged = tmp_path / f".out.h5.tmp-{2**22 + 12346}-89abcdef"
    staged.mkdir()
    alive = tmp_path / f"out.h5.tmp-{os.getpid()}-0000ffff"
    alive.write_bytes(b"in progress")
    other = tmp_path / f"other.h5.tmp-{2**22 + 12345}-0123abcd"
    other.write_bytes(b"not ours")
    assert set(remove_stale_temporaries(tmp_path / "out.h5")) == {dead, staged}
    assert alive.exists() and other.exists()
    dead.write_bytes(b"partial")
    with atomic_output(tmp_path / "out.h5") as tmp:  # every whole-or-nothing output cleans up first
        tmp.write_text("whole")
    assert not dead.exists() and (tmp_path / "out.h5").read_text() == "whole"
