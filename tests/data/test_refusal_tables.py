"""A table of bad flags and bad files per tiaug command, each run as a real process (augment with --workers 2).

The contract of every refusal: non-zero exit, exactly one ``Error:`` line naming the problem and no traceback,
inputs byte-identical, no output and no temporary file left, and an end within the time limit (no hang).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import albumentations as A
import h5py
import numpy as np
import pytest

from tests.refusals import digest, listing, refused_without_trace, run
from tiaug.io import write_thermal_h5

from .conftest import _write_raw

LIMIT_S = 90  # a refusal comes long before this; beyond it the command hangs
Case = Callable[[Path, Path, Callable], tuple[list, list[str]]]  # (tmp, good.h5, bad_h5) -> (argv, words)


def _bad(name: str) -> Case:
    return lambda tmp, good, bad_h5: ([bad_h5(name)[0], tmp / "out.h5"], [f"{name}.h5"])


def _raw(name: str, datasets: Callable, attrs: dict, *words: str) -> Case:
    def case(tmp, good, bad_h5):
        with h5py.File(good, "r") as f:
            images, masks = f["images"][:], f["masks"][:]
        path = _write_raw(tmp / f"{name}.h5", datasets(images.copy(), masks.copy()), {"units": "degC", **attrs})
        return [path, tmp / "out.h5"], [f"{name}.h5", *words]

    return case


def _damaged(tmp, good, bad_h5):
    path = tmp / "damaged.h5"
    with h5py.File(good, "r") as f:
        write_thermal_h5(path, f["images"][:], f["masks"][:], compression="gzip")
    with h5py.File(path, "r") as f:
        offset = f["images"].id.get_chunk_info(3).byte_offset
    with path.open("r+b") as handle:
        handle.seek(offset + 8)
        handle.write(b"\xff" * 64)
    return [path, tmp / "out.h5"], ["damaged.h5", "'images'", "rows", "damaged"]


def _config(pipeline: A.Compose | str, *words: str) -> Case:
    def case(tmp, good, bad_h5):
        path = tmp / "pipe.json"
        if isinstance(pipeline, str):
            path.write_text(pipeline)
        else:
            A.save(pipeline, str(path))
        return [good, tmp / "out.h5", "--config", path], ["pipe.json", *words]

    return case


def _flags(*flags: str, words: tuple[str, ...] = ()) -> Case:
    return lambda tmp, good, bad_h5: ([good, tmp / "out.h5", *flags], list(words))


def _existing_out(tmp, good, bad_h5):
    (tmp / "out.h5").write_bytes(b"earlier")
    return [good, tmp / "out.h5"], ["out.h5", "--overwrite"]


BAD_FILES = ("nan_pixels", "inf_pixels", "rgb", "mask_shape", "missing_images", "empty", "kelvin", "integer_no_units")
AUGMENT: dict[str, Case] = {
    **{f"file:{name}": _bad(name) for name in BAD_FILES},
    "file:labels": _raw("labels", lambda i, m: {"images": i, "masks": np.where(m == 2, 77, m)}, {}, "masks", "77"),
    "file:28000C": _raw("hot", lambda i, m: {"images": i + np.float32(28000), "masks": m}, {}, "row 0", "mean"),
    "file:ignore_attr": _raw("attr", lambda i, m: {"images": i, "masks": m}, {"ignore_index": "abc"}, "ignore_index"),
    "file:damaged_chunk": _damaged,
    "config:unsafe": _config(A.Compose([A.CLAHE(p=1)]), "CLAHE", "TemperatureSafe"),
    "config:garbage": _config("{not json", "cannot load"),
    "config:bad_argument": _config(
        '{"transform": {"__class_fullname__": "tiaug.transforms.ThermalNoise", "p": 1, "max_netd": -1}}', "max_netd"
    ),
    "flag:copies": _flags("--copies", "0", words=("--copies",)),
    "flag:size_range": _flags("--size-range", "0.5", words=("--size-range",)),
    "flag:vertices": _flags("--vertices-range", "1,2", words=("vertices_range",)),
    "flag:netd": _flags("--min-netd", "0.5", "--max-netd", "0.1", words=("min_netd",)),
    "flag:config_and_flags": _flags("--config", "x.json", words=("--config",)),
    "out:is_input": lambda tmp, good, bad_h5: ([good, good, "--overwrite"], ["good.h5", "input"]),
    "out:exists": _existing_out,
    "out:missing_folder": lambda tmp, good, bad_h5: ([good, tmp / "no" / "out.h5"], ["does not exist"]),
}


def _contract(argv: list, words: list[str], folder: Path, protected: list[Path]) -> None:
    inputs, before = digest(*protected), listing(folder)
    started = time.monotonic()
    res = run("tiaug", *argv, timeout=LIMIT_S)
    assert time.monotonic() - started < LIMIT_S
    refused_without_trace(res.stderr, res.returncode, inputs, protected, folder, before, *words)


@pytest.mark.parametrize("name", sorted(AUGMENT))
def test_augment_refusals_with_two_workers(name, good_h5, bad_h5, tmp_path):
    argv, words = AUGMENT[name](tmp_path, good_h5, bad_h5)
    _contract(
        ["augment", *argv, "--workers", "2", "--batch-size", "2", "--no-progress"],
        words,
        tmp_path,
        [p for p in tmp_path.iterdir() if p.is_file()],
    )


def _npy_folder(tmp: Path, images: np.ndarray, **extra: np.ndarray) -> Path:
    folder = tmp / "in"
    folder.mkdir()
    for i, image in enumerate(images[:3]):
        np.save(folder / f"f{i}.npy", image)
    for name, array in extra.items():
        np.save(folder / name, array)
    return folder


def _file(path: Path) -> Path:
    path.write_bytes(b"earlier")
    return path


def _folder(path: Path) -> Path:
    path.mkdir()
    return path


RAW = ("--format", "raw", "--scale", "0.04", "--offset", "-273.15")


def _raw_dump(tmp: Path, size: int) -> Path:
    """A headerless recording of ``size`` bytes (uint16 counts)."""
    path = tmp / "dump.raw"
    path.write_bytes(np.full(size // 2, 7500, "<u2").tobytes() + b"\0" * (size % 2))
    return path


def _images(good: Path) -> np.ndarray:
    with h5py.File(good, "r") as f:
        return f["images"][:]


OTHERS: dict[str, Callable[[Path, Path, Callable], tuple[list, list[str]]]] = {
    "synth:size": lambda t, g, b: (["synth", t / "o.h5", "--size", "0x5"], ["--size"]),
    "synth:count": lambda t, g, b: (["synth", t / "o.h5", "-n", "0"], ["-n"]),
    "synth:seed": lambda t, g, b: (["synth", t / "o.h5", "--seed", "-1"], ["--seed"]),
    "synth:compression": lambda t, g, b: (["synth", t / "o.h5", "--compression", "zip"], ["--compression"]),
    "synth:out_is_folder": lambda t, g, b: (["synth", t, "-n", "1", "--size", "16x16"], ["directory"]),
    "synth:existing": lambda t, g, b: (["synth", g, "-n", "1", "--size", "16x16"], ["good.h5", "--overwrite"]),
    "stats:bad_file": lambda t, g, b: (["stats", b("nan_pixels")[0]], ["nan_pixels.h5", "row 3"]),
    "stats:labels": lambda t, g, b: (["stats", g, "--label", "a", "--label", "b"], ["--label"]),
    "stats:json_is_input": lambda t, g, b: (["stats", g, "--json", g, "--overwrite"], ["good.h5", "input"]),
    "stats:png_exists": lambda t, g, b: (["stats", g, "--png", _file(t / "old.png")], ["old.png", "--overwrite"]),
    "preview:bad_file": lambda t, g, b: (["preview", b("rgb")[0], "--png", t / "p.png"], ["rgb.h5", "RGB"]),
    "preview:count": lambda t, g, b: (["preview", g, "--png", t / "p.png", "-n", "0"], ["-n"]),
    "preview:png_is_input": lambda t, g, b: (["preview", g, "--png", g, "--overwrite"], ["good.h5", "input"]),
    "preview:png_is_folder": lambda t, g, b: (["preview", g, "--png", t], ["directory"]),
    "import-folder:empty": lambda t, g, b: (["import-folder", _folder(t / "empty"), t / "o.h5"], ["empty"]),
    "import-folder:integers": lambda t, g, b: (
        ["import-folder", "--strict", _npy_folder(t, _images(g).astype(np.int16)), t / "o.h5"],
        ["integer", "--scale"],
    ),
    "import-folder:garbage": lambda t, g, b: (
        ["import-folder", "--strict", _npy_folder(t, _images(g), **{"x.npy": np.zeros(0)}), t / "o.h5"],
        ["x.npy"],
    ),
    "import-folder:out_is_input": lambda t, g, b: (
        ["import-folder", _npy_folder(t, _images(g)), t / "in" / "f1.npy", "--overwrite"],
        ["f1.npy", "input folder"],
    ),
    "import-tfdb:no_landmarks": lambda t, g, b: (["import-tfdb", _npy_folder(t, _images(g)), t / "o.h5"], [".ljson"]),
    "import-tfdb:split": lambda t, g, b: (
        ["import-tfdb", _npy_folder(t, _images(g)), t / "o.h5", "--split-val", "2"],
        ["--split-val"],
    ),
    "import-video:unknown_format": lambda t, g, b: (
        ["import-video", _raw_dump(t, 2000), t / "o.h5"],
        ["dump.raw", "--format"],
    ),
    "import-video:no_scale": lambda t, g, b: (
        ["import-video", _raw_dump(t, 2000), t / "o.h5", "--format", "raw"],
        ["--scale"],
    ),
    "import-video:no_size": lambda t, g, b: (["import-video", _raw_dump(t, 2000), t / "o.h5", *RAW], ["--raw-size"]),
    "import-video:cut_short": lambda t, g, b: (
        ["import-video", _raw_dump(t, 1001), t / "o.h5", *RAW, "--raw-size", "10x10"],
        ["dump.raw", "whole number"],
    ),
    "import-video:every": lambda t, g, b: (
        ["import-video", _raw_dump(t, 2000), t / "o.h5", "--every", "0"],
        ["--every"],
    ),
    "import-video:out_is_input": lambda t, g, b: (
        ["import-video", _raw_dump(t, 2000), t / "dump.raw", *RAW, "--raw-size", "10x10", "--overwrite"],
        ["dump.raw", "input"],
    ),
}


@pytest.mark.parametrize("name", sorted(OTHERS))
def test_other_command_refusals(name, good_h5, bad_h5, tmp_path):
    argv, words = OTHERS[name](tmp_path, good_h5, bad_h5)
    progress = [] if argv[0] == "preview" else ["--no-progress"]
    _contract([*argv, *progress], words, tmp_path, [p for p in tmp_path.rglob("*") if p.is_file()])
