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
