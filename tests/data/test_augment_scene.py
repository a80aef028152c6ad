"""`tiaug augment --scene`: the scene steps' provenance, reproducible rows, and refusal with --config."""

from __future__ import annotations

import json

import albumentations as A
import numpy as np

from tiaug.augment import row_seed
from tiaug.io import open_thermal
from tiaug.seeding import seed_pipeline

from .conftest import sha256

ORDER = ["AmbientTemperature", "TiAugOcclusion", "CameraDrift", "FixedPatternNoise", "ThermalNoise"]
SCENE_KEYS = {
    "AmbientTemperature": {"room_before", "room_after", "skin_before", "skin_after", "coupling", "weighting"},
    "CameraDrift": {"offset", "gain", "reference"},
    "FixedPatternNoise": {"column_std", "row_std", "seed"},
}


def test_scene_steps_are_recorded_and_rows_reproducible(cli, good_h5, tmp_path):
    out = tmp_path / "scene.h5"
    res = cli("augment", good_h5, out, "--scene", "--copies", 2, "--seed", 5, "--no-progress")
    assert res.exit_code == 0, res.output
    with open_thermal(good_h5) as src, open_thermal(out) as r:
        originals = src.read_batch(0, src.n)
        batch = r.read_batch(0, r.n)
        params = r.json_rows("tiaug/params")
        source = r.file["source_index"][:]
        pipeline_dict = json.loads(r.file.attrs["tiaug/pipeline"])
    assert [t["__class_fullname__"].rsplit(".", 1)[-1] for t in pipeline_dict["transform"]["transforms"]] == ORDER
    seen = {name: 0 for name in SCENE_KEYS}
    for row, records in enumerate(params):
        names = [p["transform"] for p in records]
        assert names == [n for n in ORDER if n in names]  # in the pipeline's order
        assert {"TiAugOcclusion", "ThermalNoise"} <= set(names)
        for record in records:
            if record["transform"] in SCENE_KEYS:
                seen[record["transform"]] += 1
                assert SCENE_KEYS[record["transform"]] <= set(record["params"])
        np.testing.assert_array_equal(batch.masks[row], originals.masks[source[row]])
    assert seen["AmbientTemperature"] == len(params), seen  # a new room for every copy
    assert all(0 < seen[name] < len(params) for name in ("CameraDrift", "FixedPatternNoise")), seen  # p = 0.5
    pipeline = A.Compose(A.from_dict(pipeline_dict).transforms, save_applied_params=True)
    for row in range(len(params)):
        index, copy = divmod(row, 2)
        seed_pipeline(pipeline, row_seed(5, index, copy))
        again = pipeline(image=originals.images[index], mask=originals.masks[index])
        np.testing.assert_array_equal(again["image"], batch.images[row])


def test_scene_with_config_is_refused(cli, good_h5, tmp_path):
    config = tmp_path / "pipe.json"
    A.save(A.Compose([A.HorizontalFlip(p=1)]), str(config))
    before = sha256(good_h5)
    res = cli("augment", good_h5, tmp_path / "o.h5", "--config", config, "--scene", "--no-progress")
    assert res.exit_code != 0
    assert "--config replaces the pipeline" in res.output and "scene" in res.output
    assert not (tmp_path / "o.h5").exists() and sha256(good_h5) == before
