"""`tiaug import-folder` on a lab's own folder: 16-bit PNG frames in centi-kelvin beside float .npy frames in
degrees Celsius (--scale/--offset convert the integer files only), PNG masks of the lab's label set (--classes)
and of another size (--resize-masks), a stray file named as not imported."""

from __future__ import annotations

import json

import cv2
import numpy as np

from tests.camera_files import face_temperatures
from tests.data.conftest import sha256
from tiaug.io import open_thermal


def _lab_folder(tmp_path, mask_size=(48, 64)):
    folder = tmp_path / "lab"
    folder.mkdir()
    temps = [face_temperatures(48, 64, seed=s) for s in range(3)]
    masks = [(t > 30).astype(np.uint8) * (k + 1) for k, t in enumerate(temps)]  # values 1..3: a 4-class set
    for k in (0, 1):  # 16-bit PNG frames, centi-kelvin
        cv2.imwrite(str(folder / f"frame{k}.png"), np.round((temps[k] + 273.15) * 100).astype(np.uint16))
    np.save(folder / "frame2.npy", temps[2].astype(np.float32))
    for k, m in enumerate(masks):
        resized = cv2.resize(m, mask_size[::-1], interpolation=cv2.INTER_NEAREST)
        cv2.imwrite(str(folder / f"frame{k}_mask.png"), resized)
    (folder / "README.txt").write_text("session notes")
    return folder, temps, masks


def test_a_mixed_lab_folder_imports_every_frame(cli, tmp_path):
    folder, temps, masks = _lab_folder(tmp_path)
    before = {p.name: sha256(p) for p in folder.iterdir()}
    out = tmp_path / "lab.h5"
    res = cli(
        "import-folder",
        folder,
        out,
        "--scale",
        "0.01",
        "--offset",
        "-273.15",
        "--classes",
        "background,face,glasses,mask",
        "--no-progress",
    )
    assert res.exit_code == 0, res.output
    assert "README.txt: not imported" in res.output and "(1 file(s) skipped" in res.output
    with open_thermal(out) as r:
        batch = r.read_batch(0, r.n)
        assert r.classes == ("background", "face", "glasses", "mask")
        assert r.file["source_file"].asstr()[:].tolist() == ["frame0.png", "frame1.png", "frame2.npy"]
    np.testing.assert_allclose(batch.images, np.stack(temps), atol=0.006)  # centi-kelvin rounding; .npy exact
    np.testing.assert_array_equal(batch.masks, np.stack(masks))
    assert {p.name: sha256(p) for p in folder.iterdir()} == before


def test_masks_of_another_size_need_resize_masks(cli, tmp_path):
    folder, _, masks = _lab_folder(tmp_path, mask_size=(96, 128))
    args = ["import-folder", folder, tmp_path / "o.h5", "--scale", "0.01", "--offset", "-273.15", "--no-progress"]
    refused = cli(*args, "--strict")
    assert refused.exit_code == 1 and "shape" in refused.output
    res = cli(*args, "--resize-masks", "--classes", "a,b,c,d")
    assert res.exit_code == 0, res.output
    with open_thermal(tmp_path / "o.h5") as r:
        np.testing.assert_array_equal(r.read_batch(0, r.n).masks, np.stack(masks))  # nearest: exact for 2x
        assert json.loads(r.file.attrs["classes"]) == ["a", "b", "c", "d"]
