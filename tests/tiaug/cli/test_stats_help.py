"""tiaug stats: the help and the numbers agree (per-image means of face and background, medians over images)."""

from __future__ import annotations

import json

import numpy as np

from tiaug.io import write_thermal_h5


def test_help_and_table_use_per_image_means(cli, tmp_path):
    mask = np.zeros((3, 20, 20), np.uint8)
    mask[:, 5:15, 5:15] = 1  # a 100-pixel face
    images = np.where(mask > 0, 34.0, 22.0).astype(np.float32)
    for i, cold in enumerate((20, 30, 40)):  # a 10 C occluder over 20, 30, 40 face pixels (< half the face)
        face = images[i, 5:15, 5:15].reshape(-1)
        face[:cold] = 10.0
        images[i, 5:15, 5:15] = face.reshape(10, 10)
    path = tmp_path / "occluded.h5"
    write_thermal_h5(path, images, mask)
    res = cli("stats", path, "--json", tmp_path / "s.json", "--no-progress")
    assert res.exit_code == 0, res.output
    (summary,) = json.loads((tmp_path / "s.json").read_text())
    means = [34.0 - 24.0 * cold / 100 for cold in (20, 30, 40)]  # 29.2, 26.8, 24.4; every face median is 34
    assert np.isclose(summary["fg_mean"], np.median(means)) and np.isclose(summary["bg_mean"], 22.0)
    assert np.isclose(summary["diff_median"], np.median(means) - 22.0)
    text = " ".join(cli("stats", "--help").output.split())
    assert "the mean temperature (degrees Celsius) of the foreground" in text
    assert "median over images of these means" in text and "median temperature" not in text
