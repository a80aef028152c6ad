"""A table of bad flags and bad files per samcl command (eval, predict, train), each run as a real process.

The contract of every refusal (see tests/refusals.py): non-zero exit, one ``Error:`` line naming the problem,
no traceback, inputs byte-identical, no output or temporary file left, and an end within the time limit.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import yaml

from tests.refusals import digest, listing, refused_without_trace, run
from tiaug.io import write_thermal_h5

LIMIT_S = 120


def _file(path: Path, data: bytes = b"earlier") -> Path:
    path.write_bytes(data)
    return path


def _npy(path: Path, array: np.ndarray) -> Path:
    np.save(path, array)
    return path


def _yaml(path: Path, options: dict) -> Path:
    path.write_text(yaml.safe_dump(options))
    return path


def _other_classes(path: Path, faces) -> Path:
    write_thermal_h5(path, faces.images, np.minimum(faces.masks, 1), classes=("background", "face"))
    return path


Case = Callable[[Path, Path, Path, object], tuple[list, list[str]]]  # (tmp, checkpoint, test.h5, faces)

EVAL: dict[str, Case] = {
    "batch_size": lambda t, c, d, f: (["--checkpoint", c, "--data", d, "--batch-size", "0"], ["--batch-size"]),
    "device": lambda t, c, d, f: (["--checkpoint", c, "--data", d, "--device", "tpu"], ["device", "tpu"]),
    "data_is_checkpoint": lambda t, c, d, f: (["--checkpoint", c, "--data", c], ["best.pt", "HDF5"]),
    "checkpoint_garbage": lambda t, c, d, f: (["--checkpoint", _file(t / "x.pt"), "--data", d], ["x.pt"]),
    "json_is_data": lambda t, c, d, f: (["--checkpoint", c, "--data", d, "--json", d, "--overwrite"], ["input"]),
    "json_in_missing_folder": lambda t, c, d, f: (
        ["--checkpoint", c, "--data", d, "--json", t / "no" / "s.json"],
        ["does not exist"],
    ),
    "robustness_without_flag": lambda t, c, d, f: (
        ["--checkpoint", c, "--data", d, "--robustness-seed", "3"],
        ["--tiaug-robustness"],
    ),
}
PREDICT: dict[str, Case] = {
    "missing_input": lambda t, c, d, f: (["--checkpoint", c, t / "none.npy", "--out", t / "o"], ["none.npy"]),
    "integer_npy": lambda t, c, d, f: (
        ["--checkpoint", c, _npy(t / "i.npy", f.images[0].astype(np.int16)), "--out", t / "o"],
        ["i.npy", "integer"],
    ),
    "rgb_npy": lambda t, c, d, f: (
        ["--checkpoint", c, _npy(t / "rgb.npy", np.stack([f.images[0]] * 3, -1)), "--out", t / "o"],
        ["rgb.npy", "RGB"],
    ),
    "out_is_a_file": lambda t, c, d, f: (["--checkpoint", c, d, "--out", _file(t / "o.txt")], ["o.txt", "is a file"]),
    "checkpoint_garbage": lambda t, c, d, f: (["--checkpoint", _file(t / "x.pt"), d, "--out", t / "o"], ["x.pt"]),
}
TRAIN: dict[str, Case] = {
    "data_missing": lambda t, c, d, f: (["--data", t / "none.h5", "--val", d, "--out", t / "r"], ["none.h5"]),
    "other_classes": lambda t, c, d, f: (
        ["--data", d, "--val", _other_classes(t / "v.h5", f), "--out", t / "r"],
        ["--val", "classes"],
    ),
    "iters": lambda t, c, d, f: (["--data", d, "--val", d, "--out", t / "r", "--iters", "0"], ["iters", "> 0"]),
    "crop": lambda t, c, d, f: (["--data", d, "--val", d, "--out", t / "r", "--crop", "10x10"], ["--crop"]),
    "out_is_data": lambda t, c, d, f: (["--data", d, "--val", d, "--out", d], ["--out", "is a file"]),
    "config_key": lambda t, c, d, f: (
        ["--data", d, "--val", d, "--out", t / "r", "--config", _yaml(t / "c.yaml", {"learning_rate": 1})],
        ["c.yaml", "learning_rate"],
    ),
    "config_type": lambda t, c, d, f: (
        ["--data", d, "--val", d, "--out", t / "r", "--config", _yaml(t / "c.yaml", {"batch_size": "big"})],
        ["batch_size", "integer"],
    ),
    "config_syntax": lambda t, c, d, f: (
        ["--data", d, "--val", d, "--out", t / "r", "--config", _file(t / "c.yaml", b"iters: [1")],
        ["c.yaml"],
    ),
    "model_arg": lambda t, c, d, f: (
        ["--data", d, "--val", d, "--out", t / "r", "--model-arg", "widht=4"],
        ["--model", "widht"],
    ),
    "resume_nothing": lambda t, c, d, f: (["--resume", t], ["--resume", "last.pt"]),
}
TABLE = {
    **{f"eval:{k}": v for k, v in EVAL.items()},
    **{f"predict:{k}": v for k, v in PREDICT.items()},
    **{f"train:{k}": v for k, v in TRAIN.items()},
}
FLAGS = {
    "eval": ["--no-progress"],
    "predict": ["--no-progress"],
    "train": ["--no-progress", "--device", "cpu", "--workers", "0"],
}


@pytest.mark.parametrize("name", sorted(TABLE))
def test_samcl_refusals(name, checkpoint, test_h5, faces, tmp_path):
    command = name.split(":")[0]
    argv, words = TABLE[name](tmp_path, checkpoint, test_h5, faces)
    if command == "train" and "--resume" in argv:
        flags = ["--no-progress"]
    else:
        flags = FLAGS[command]
    protected = [p for p in tmp_path.rglob("*") if p.is_file()]
    inputs, before = digest(*protected), listing(tmp_path)
    res = run("samcl.cli", command, *argv, *flags, timeout=LIMIT_S)
    refused_without_trace(res.stderr, res.returncode, inputs, protected, tmp_path, before, *words)
