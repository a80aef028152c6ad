"""Synthetic unconstrained conditions: one condition alone (--condition NAME), the cold room, and that adding
the cold room left every other face as it was."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tiaug.io import open_thermal
from tiaug.synth import conditions as cond
from tiaug.synth import face_rng, generate_face, generate_faces
from tiaug.synth.conditions import CONDITIONS, single_condition

from .conftest import SIZE

N = 4
SEED = 7
OCCLUDERS = {"glasses", "hand", "cup", "fringe", "face_mask", "scarf"}  # the conditions painted over the face


@pytest.fixture(scope="module")
def clean():
    return generate_faces(N, *SIZE, seed=SEED)


@pytest.mark.parametrize("name", CONDITIONS)
def test_condition_alone_keeps_the_clean_faces_labels(cli, tmp_path, clean, name):
    out = tmp_path / f"{name}.h5"
    res = cli(
        "synth", out, "-n", N, "--size", f"{SIZE[0]}x{SIZE[1]}", "--seed", SEED, "--condition", name, "--no-progress"
    )
    assert res.exit_code == 0, res.output
    with open_thermal(out) as r:
        batch = r.read_batch(0, r.n)
        params = r.json_rows("synth/params")
        run = json.loads(r.attrs["tiaug/synth"])
    assert run["condition"] == name and run["unconstrained"] is True
    np.testing.assert_array_equal(batch.masks, clean.masks)
    np.testing.assert_array_equal(batch.landmarks, clean.landmarks)
    for k, p in enumerate(params):
        assert p["conditions"] == [name] and p["unconstrained"] is True
        assert [o["kind"] for o in p["occluders"]] == ([name] if name in OCCLUDERS else [])
        assert not np.allclose(batch.images[k], clean.images[k])  # the condition changes the picture


def test_unknown_condition_refused(cli, tmp_path):
    with pytest.raises(ValueError, match=r"unknown condition 'snow'.*cold_room"):
        generate_face(*SIZE, face_rng(0, 0), condition="snow")
    with pytest.raises(ValueError, match="unknown condition"):
        single_condition("Cold_Room")
    out = tmp_path / "x.h5"
    res = cli("synth", out, "-n", 1, "--condition", "snow", "--no-progress")
    assert res.exit_code == 2 and "snow" in res.output and "cold_room" in res.output
    assert not out.exists()


def test_cold_rooms_are_cold_and_the_face_stays_warmer(clean):
    cold = generate_faces(N * 3, *SIZE, seed=SEED, condition="cold_room")
    warm = generate_faces(N * 3, *SIZE, seed=SEED)
    for k, (image, mask) in enumerate(zip(cold.images, cold.masks, strict=True)):
        ambient = cold.params[k]["thermal"]["ambient"]
        assert -5.0 <= ambient <= 12.0
        background, face = np.median(image[mask == 0]), np.median(image[mask == 1])
        assert background < 13.0 and background <= ambient + 1.0  # room gradient, hair and clothes: near ambient
        assert face > background + 10.0  # the skin cools by a fraction of the room's drop only
        assert face < np.median(warm.images[k][mask == 1])  # but it does cool
        assert cold.params[k]["thermal"]["canthus"] >= cold.params[k]["thermal"]["skin"] + 1.5


def _without_cold_draw(monkeypatch) -> None:
    """Generate faces as if the cold room's draw did not exist (conditions sampled without its stream)."""
    original = cond.sample_conditions
    monkeypatch.setattr(cond, "sample_conditions", lambda rng, cold_rng=None: original(rng))


def _polygons(records: list[dict]) -> list:
    return [[o.get("polygon"), [part["polygon"] for part in o.get("parts", [])]] for o in records]


def test_cold_room_draw_leaves_the_other_faces_unchanged(monkeypatch):
    spawned, untouched = (face_rng(SEED, 0).spawn(4)[2] for _ in range(2))
    spawned.spawn(1)  # what generate_face does to the conditions' stream to make the cold room's
    np.testing.assert_array_equal(spawned.random(8), untouched.random(8))
    n = 24
    wild = generate_faces(n, *SIZE, seed=SEED, unconstrained=True)
    _without_cold_draw(monkeypatch)
    before = generate_faces(n, *SIZE, seed=SEED, unconstrained=True)
    cold = [k for k, p in enumerate(wild.params) if "cold_room" in p["conditions"]]
    assert 0 < len(cold) < n  # some faces get a cold room, not all
    for k in range(n):
        conditions = wild.params[k]["conditions"]
        assert not {"cold_room", "hot_room"} <= set(conditions)
        assert [c for c in conditions if c != "cold_room"] == before.params[k]["conditions"]
        np.testing.assert_array_equal(wild.masks[k], before.masks[k])
        if k in cold:  # same occluders in the same places; only temperatures follow the colder room
            assert _polygons(wild.params[k]["occluders"]) == _polygons(before.params[k]["occluders"])
            assert wild.params[k]["thermal"]["ambient"] < before.params[k]["thermal"]["ambient"]
        else:  # byte-identical to the faces generated before the cold room existed
            np.testing.assert_array_equal(wild.images[k], before.images[k])
            assert wild.params[k] == before.params[k]


def test_every_registered_condition_has_its_function():
    for c in cond.REGISTRY:
        assert callable(getattr(cond, c.name)), c.name
    assert tuple(c.name for c in cond.REGISTRY) == CONDITIONS


def test_a_new_registry_entry_is_drawn_and_painted(monkeypatch):
    """Adding a condition is a registry entry and its painter: the draw, the fallback, --condition and the
    painting order follow."""
    from tiaug.synth import names

    painted = []

    def sticker(rng, image, g, t):
        painted.append(float(rng.random()))
        return [{"kind": "sticker", "polygon": []}]

    registry = (*names.REGISTRY, names.Condition("sticker", "occluder", 1.0, layer=9))
    monkeypatch.setattr(cond, "REGISTRY", registry)
    monkeypatch.setattr(cond, "CONDITIONS", tuple(c.name for c in registry))
    monkeypatch.setattr(cond, "sticker", sticker, raising=False)
    face = generate_face(*SIZE, face_rng(0, 0), unconstrained=True)
    assert face.params["conditions"][-1] == "sticker" and face.params["occluders"][-1]["kind"] == "sticker"
    alone = generate_face(*SIZE, face_rng(0, 0), condition="sticker")
    assert alone.params["conditions"] == ["sticker"] and len(painted) == 2
