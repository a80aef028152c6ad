"""Every command of the camera examples (docs/cameras.md) runs, on camera files this test makes under the names used
there."""

from __future__ import annotations

import importlib.util
import re
import shlex
import shutil

import numpy as np
import pytest

from samcl.cli.predict_cmd import predict_main
from tests.helpers.camera_files import REALISTIC, face_temperatures, fff_frame, planck_counts, rjpeg, tc001_frame
from tests.helpers.files import REPO
from tiaug.cli import main as tiaug_main
from tiaug.io import open_thermal

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("flyr") is None, reason="the R-JPEG camera example needs flyr: the [cameras] extra"
)


def readme_commands() -> list[str]:
    text = (REPO / "docs" / "cameras.md").read_text()
    block = re.search(r"<!-- camera-examples.*?```bash\n(.*?)```.*?<!-- end camera-examples -->", text, re.S)
    assert block, "docs/cameras.md lost its camera-examples block"
    return [line.split("  #")[0].strip() for line in block.group(1).splitlines() if line.strip()]


def _make_files(root, checkpoint):
    rng = np.random.default_rng(0)
    (root / "flir_jpegs").mkdir()
    for k in range(2):
        blob = fff_frame(planck_counts(face_temperatures(32, 40, seed=k), REALISTIC), REALISTIC)
        (root / "flir_jpegs" / f"IR_000{k}.jpg").write_bytes(rjpeg(blob))
    (root / "tc001_frames").mkdir()
    np.save(root / "tc001_frames" / "frame_0.npy", tc001_frame(face_temperatures(192, 256), rng))
    (root / "tc001_frames" / "frame_1.bin").write_bytes(tc001_frame(face_temperatures(192, 256, 1), rng).tobytes())
    (root / "recording.seq").write_bytes(
        b"".join(fff_frame(planck_counts(face_temperatures(32, 40, k), REALISTIC), REALISTIC) for k in range(10))
    )
    (root / "tc001.bin").write_bytes(np.stack([tc001_frame(face_temperatures(192, 256), rng)] * 3).tobytes())
    counts = np.round((face_temperatures(120, 160) + 273.15) / 0.04).astype("<u2")
    (root / "dump.raw").write_bytes(np.stack([counts, counts]).tobytes())
    (root / "runs" / "unet").mkdir(parents=True)
    shutil.copy(checkpoint, root / "runs" / "unet" / "best.pt")


def test_readme_camera_examples_run(checkpoint, tmp_path, monkeypatch, invoke):
    _make_files(tmp_path, checkpoint)
    monkeypatch.chdir(tmp_path)
    commands = readme_commands()
    assert len(commands) >= 6
    for command in commands:
        program, *args = shlex.split(command)
        entry = {"tiaug": tiaug_main, "samcl-predict": predict_main}[program]
        res = invoke(entry, *args, "--no-progress")
        assert res.exit_code == 0, (command, res.output)
    counts = {"faces.h5": 2, "tc001.h5": 2, "rec.h5": 2, "tc001_rec.h5": 3, "dump.h5": 2}
    for name, n in counts.items():
        with open_thermal(tmp_path / name) as r:
            assert r.n == n, name
    assert (tmp_path / "pred" / "recording_regions.csv").read_text().count("\n") == 3  # header + frames 0 and 5
    assert (tmp_path / "pred_jpegs" / "flir_jpegs_masks.h5").is_file()
    assert len(list((tmp_path / "pred_jpegs").glob("*_overlay.png"))) == 2
