"""tiaug works where torch cannot be imported."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

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
    noisy, _ = F.thermal_noise(out, np.random.default_rng(1))
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


WITHOUT_PIPELINE_LIBRARIES = textwrap.dedent(
    """
    import sys
    sys.modules["albumentations"] = None  # any `import albumentations` (or torch) now raises ImportError
    sys.modules["torch"] = None
    import click
    from tiaug.cli import main
    from samcl.cli.eval_cmd import eval_main
    from samcl.cli.predict_cmd import predict_main

    runs_a_pipeline = {"augment"}  # its options show the transforms' defaults: it imports Albumentations
    commands = [(main, [name, "--help"]) for name in main.list_commands(None) if name not in runs_a_pipeline]
    commands += [(main, ["--help"]), (eval_main, ["--help"]), (predict_main, ["--help"])]
    for command, args in commands:
        try:
            command.main(args, prog_name="x")
        except SystemExit as stop:
            assert stop.code == 0, (args, stop.code)
    try:
        main(["synth", sys.argv[1], "-n", "3", "--size", "32x40", "--no-progress"], prog_name="tiaug")
    except SystemExit as stop:
        assert stop.code == 0, stop.code
    loaded = sorted(name for name in ("albumentations", "torch") if sys.modules.get(name) is not None)
    print("ok", loaded)
    """
)


def test_commands_that_run_no_pipeline_start_without_albumentations_and_torch(tmp_path: Path) -> None:
    """`tiaug synth`, `tiaug --help` and the --help of samcl-eval, samcl-predict and every `tiaug` command but
    augment import neither Albumentations nor torch (augment shows the transforms' defaults, samcl-train the
    loss classes')."""
    out = tmp_path / "faces.h5"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-c", WITHOUT_PIPELINE_LIBRARIES, str(out)], capture_output=True,
                          text=True, env=env, timeout=120)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == "ok []"
    import h5py

    with h5py.File(out, "r") as f:
        assert f["images"].shape == (3, 32, 40)
        assert f["masks"].shape == (3, 32, 40)
