"""tiaug works where torch cannot be imported."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = textwrap.dedent(
    """
    import sys
    sys.modules["torch"] = None  # any `import torch` now raises ImportError
    import numpy as np
    import albumentations as A
    import tiaug, tiaug.functional as F, tiaug.transforms, tiaug.presets, tiaug.provenance
    image = np.full((64, 80), 24.0, np.float32); image[16:48, 20:60] = 34.0
    mask = (image > 30).astype(np.uint8)
    out, new_mask, params = F.occlude(image, mask, rng=np.random.default_rng(0))
    noisy, _, _ = F.thermal_noise(out, rng=np.random.default_rng(1))
    pipeline = tiaug.presets.paper_training_pipeline(height=64, width=80, seed=0, save_applied_params=True)
    result = pipeline(image=image, mask=mask)
    tiaug.provenance.applied_params_json(result)
    A.from_dict(A.to_dict(pipeline))
    assert "torch" not in sys.modules or sys.modules["torch"] is None
    print("ok", result["image"].shape)
    """
)


def test_tiaug_runs_without_torch() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "ok (64, 80)"


#: Blocks albumentations and torch (any import of them raises ImportError), runs `python -m MODULE ARGS` (the
#: entry point the console scripts run) and prints the heavy libraries the process loaded.
WITHOUT_PIPELINE_LIBRARIES = textwrap.dedent(
    """
    import runpy, sys
    sys.modules["albumentations"] = None
    sys.modules["torch"] = None
    module, sys.argv = sys.argv[1], sys.argv[1:]
    try:
        runpy.run_module(module, run_name="__main__", alter_sys=True)
    except SystemExit as stop:
        assert stop.code in (0, None), (sys.argv, stop.code)
    heavy = ("numpy", "h5py", "cv2", "shapely", "albumentations", "torch")
    print(sorted(name for name in heavy if sys.modules.get(name) is not None))
    """
)
#: Commands that run a pipeline: their --help shows the transforms' defaults, so they import Albumentations.
RUNS_A_PIPELINE = {"tiaug augment --help"}
#: --help that may load NumPy and OpenCV (not Albumentations or torch): samcl-eval's choices come from
#: tiaug.functional (it starts in under 1 s, its target).
MAY_LOAD_NUMPY = {"samcl-eval --help"}
SAMCL_COMMANDS = ("train", "eval", "predict")  # (not read from samcl: importing it needs torch to be installed)


def _help_commands() -> list[list[str]]:
    from tiaug.cli import COMMANDS

    tiaug = [["tiaug", "--help"]] + [["tiaug", name, "--help"] for name in sorted(COMMANDS)]
    return tiaug + [[f"samcl-{name}", "--help"] for name in SAMCL_COMMANDS]


def _run_without_pipeline_libraries(argv: list[str]) -> subprocess.CompletedProcess:
    """Run the command ``argv`` ("tiaug ..." or "samcl-NAME ...") as `python -m` in that process."""
    module = ["tiaug"] if argv[0] == "tiaug" else ["samcl.cli", argv[0].removeprefix("samcl-")]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-c", WITHOUT_PIPELINE_LIBRARIES, *module, *argv[1:]],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


@pytest.mark.parametrize("argv", _help_commands(), ids=" ".join)
def test_help_of_every_command_needs_neither_albumentations_nor_torch(argv: list[str]) -> None:
    """Every `tiaug` and `samcl-*` command's --help (but augment's) runs with albumentations and torch made
    unimportable, and those with a start-up target (benchmarks/README.md, section 2b) load none of NumPy, h5py,
    OpenCV and shapely either: their option choices and defaults come from dependency-free modules."""
    label = " ".join(argv)
    if label in RUNS_A_PIPELINE:
        pytest.skip("runs a pipeline: its --help shows the transforms' defaults (Albumentations)")
    proc = _run_without_pipeline_libraries(argv)
    assert proc.returncode == 0, proc.stderr
    help_text, loaded = _split(proc.stdout)
    assert "Usage:" in help_text and "--help" in help_text
    allowed = {"numpy", "cv2"} if label in MAY_LOAD_NUMPY else set()
    assert set(loaded) <= allowed, f"{label} loaded {loaded}"


def _split(stdout: str) -> tuple[str, list[str]]:
    """The help text and the list of heavy libraries printed last by WITHOUT_PIPELINE_LIBRARIES."""
    text, _, last = stdout.rstrip("\n").rpartition("\n")
    return text, ast.literal_eval(last)


def test_synth_runs_without_albumentations_and_torch(tmp_path: Path) -> None:
    """`tiaug synth` writes faces with albumentations and torch made unimportable."""
    out = tmp_path / "faces.h5"
    proc = _run_without_pipeline_libraries(["tiaug", "synth", str(out), "-n", "3", "--size", "32x40", "--no-progress"])
    assert proc.returncode == 0, proc.stderr
    assert not {"albumentations", "torch"} & set(_split(proc.stdout)[1])
    import h5py

    with h5py.File(out, "r") as f:
        assert f["images"].shape == (3, 32, 40)
        assert f["masks"].shape == (3, 32, 40)


#: Runs `python -m tiaug ARGS` as the console script does (torch installed, nothing blocked beforehand) and prints,
#: at exit, whether torch was imported and the Albumentations version-check setting the process ran with.
CONSOLE_SCRIPT = textwrap.dedent(
    """
    import atexit, os, runpy, sys
    atexit.register(lambda: print(sys.modules.get("torch") is not None, os.environ.get("NO_ALBUMENTATIONS_UPDATE")))
    sys.argv = ["tiaug", *sys.argv[1:]]
    runpy.run_module("tiaug", run_name="__main__", alter_sys=True)
    """
)


def test_tiaug_augment_never_imports_torch(tmp_path: Path) -> None:
    """The `tiaug` console script keeps torch out of the process (Albumentations would import it: seconds of
    start-up and exit for nothing) and turns off Albumentations' online version check; augment still works."""
    pytest.importorskip("torch")  # the case that matters: torch installed
    import h5py

    source, out = tmp_path / "in.h5", tmp_path / "out.h5"
    env = {k: v for k, v in os.environ.items() if k != "NO_ALBUMENTATIONS_UPDATE"}
    env["PYTHONPATH"] = str(ROOT)
    for args in (["synth", str(source), "-n", "4", "--size", "32x40"], ["augment", str(source), str(out)]):
        proc = subprocess.run(
            [sys.executable, "-c", CONSOLE_SCRIPT, *args, "--no-progress"],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
        )
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.splitlines()[-1] == "False 1", proc.stdout
    with h5py.File(out, "r") as f:
        assert f["images"].shape == (4, 32, 40)
