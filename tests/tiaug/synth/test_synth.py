"""Synthetic thermal faces: physiology, labels, landmarks, determinism, unconstrained conditions."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tiaug.synth import CLASSES, face_rng, generate_face, generate_faces

H, W = 128, 160  # a typical face at this size is about 60 px wide
N = 40


@pytest.fixture(scope="module")
def clean():
    return generate_faces(N, H, W, seed=2024)


@pytest.fixture(scope="module")
def wild():
    return generate_faces(N, H, W, seed=2024, unconstrained=True)


def _patch(image: np.ndarray, pt: np.ndarray, r: int, fn=np.median) -> float:
    x, y = round(float(pt[0])), round(float(pt[1]))
    return float(fn(image[y - r : y + r + 1, x - r : x + r + 1]))


def _iod(lm: np.ndarray) -> float:
    return float(np.linalg.norm(lm[36:42].mean(0) - lm[42:48].mean(0)))


def test_shapes_dtypes_and_classes(clean):
    assert clean.images.shape == (N, H, W) and clean.images.dtype == np.float32
    assert clean.masks.shape == (N, H, W) and clean.masks.dtype == np.uint8
    assert clean.landmarks.shape == (N, 68, 2) and clean.landmarks.dtype == np.float32
    assert CLASSES == ("background", "skin", "mouth", "eyes", "eyebrows", "nose")
    assert np.isfinite(clean.images).all()
    for m in clean.masks:  # every class in every typical face
        assert set(np.unique(m)) == set(range(6))


def test_skin_and_room_temperatures(clean):
    for img, m in zip(clean.images, clean.masks, strict=True):
        assert 33.0 <= np.median(img[m == 1]) <= 35.0
        assert 18.0 <= np.median(img[m == 0]) <= 28.0  # a controlled room (hair and neck are class 0 too)
    # the room itself: far corners lie within 18-28 C whenever no hair or shoulder reaches them
    ambient = np.array([p["thermal"]["ambient"] for p in clean.params])
    assert ((ambient >= 18) & (ambient <= 28)).all()


def test_inner_eye_corners_are_the_warmest(clean):
    for img, m, lm in zip(clean.images, clean.masks, clean.landmarks, strict=True):
        smooth = np.where(m > 0, cv2.blur(img, (3, 3)), -np.inf)
        y, x = np.unravel_index(np.argmax(smooth), smooth.shape)
        dist = min(np.hypot(x - lm[k][0], y - lm[k][1]) for k in (39, 42))
        assert dist <= max(2.5, 0.15 * _iod(lm)), "the hottest face pixel is not at an inner eye corner"
        canthus = max(_patch(img, lm[39], 1, np.max), _patch(img, lm[42], 1, np.max))
        assert 34.8 <= canthus <= 37.3


def test_nose_tip_cooler_than_cheeks_by_1_to_4_C(clean):
    measured, wanted = [], []
    for img, lm, p in zip(clean.images, clean.landmarks, clean.params, strict=True):
        r = max(1, int(0.05 * _iod(lm)))
        # cheek points defined from the landmarks, independently of the generator's own anchors
        cheeks = (_patch(img, (lm[2] + lm[31]) / 2, r) + _patch(img, (lm[14] + lm[35]) / 2, r)) / 2
        measured.append(cheeks - _patch(img, lm[30], r))
        wanted.append(p["thermal"]["nose_drop"])
    measured, wanted = np.array(measured), np.array(wanted)
    assert ((wanted >= 1.0) & (wanted <= 4.0)).all()
    assert ((measured >= 0.6) & (measured <= 4.3)).all()
    assert np.corrcoef(measured, wanted)[0, 1] > 0.8  # the drop varies per face, and the image shows it
    assert measured.std() > 0.5


def test_brows_cool_eyes_and_mouth_warm(clean):
    ok = {"brow": 0, "eyes": 0, "mouth": 0}
    for img, m in zip(clean.images, clean.masks, strict=True):
        skin = np.median(img[m == 1])
        ok["brow"] += np.median(img[m == 4]) < skin - 0.1
        ok["eyes"] += np.median(img[m == 3]) > skin
        ok["mouth"] += np.median(img[m == 2]) > skin
    # physiology varies per face; nearly every face follows each rule
    assert all(v >= 0.95 * N for v in ok.values()), ok


def test_sensor_noise_level(clean):
    for img, p in zip(clean.images[:10], clean.params[:10], strict=True):
        corner = img[:12, :12] if p["pose"]["cx"] > W / 2 else img[:12, -12:]
        est = np.std(np.diff(corner, axis=1)) / np.sqrt(2)  # differences cancel the smooth room
        assert 0.01 <= est <= 0.12
        assert 0.02 <= p["thermal"]["noise"] <= 0.08


def test_landmarks_follow_ibug_layout(clean):
    for lm, m in zip(clean.landmarks, clean.masks, strict=True):
        assert lm[0, 0] < lm[8, 0] < lm[16, 0]  # jaw runs image-left to right through the chin
        # chin, lower lip, nostrils, nose tip, bridge from bottom to top (rolls are small)
        assert lm[8, 1] > lm[57, 1] > lm[33, 1] > lm[30, 1] > lm[27, 1]
        assert lm[36, 0] < lm[39, 0] < lm[42, 0] < lm[45, 0]
        assert lm[19, 1] < lm[37, 1] and lm[24, 1] < lm[44, 1]  # brows above the eyes
        for eye in (lm[36:42], lm[42:48]):
            x, y = eye.mean(0)
            assert m[round(y), round(x)] == 3  # the centre of each eye's landmarks lies on the eyes class
        assert m[round(lm[30, 1]), round(lm[30, 0])] == 5  # the nose tip landmark lies on the nose class
        assert m[round(lm[62, 1]), round(lm[62, 0])] == 2  # the inner lip lies on the mouth class


def test_variety(clean):
    areas = (clean.masks > 0).sum(axis=(1, 2))
    assert areas.max() > 1.5 * areas.min()  # sizes vary
    yaws = np.array([p["pose"]["yaw"] for p in clean.params])
    assert yaws.min() < -10 and yaws.max() > 10
    assert any(p["shape"]["mouth_open"] > 0 for p in clean.params)
    assert any(p["shape"]["mouth_open"] == 0 for p in clean.params)
    centres = np.array([(m > 0).nonzero()[1].mean() for m in clean.masks])
    assert centres.std() > 3  # positions vary


def test_face_i_is_independent_of_n_and_seeded():
    a = generate_faces(5, 40, 50, seed=9)
    b = generate_faces(2, 40, 50, seed=9, start=3)
    np.testing.assert_array_equal(a.images[3:], b.images)
    np.testing.assert_array_equal(a.masks[3:], b.masks)
    again = generate_face(40, 50, face_rng(9, 4))
    np.testing.assert_array_equal(again.image, a.images[4])
    other = generate_faces(5, 40, 50, seed=10)
    assert not np.array_equal(other.images, a.images)


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    h=st.integers(24, 90),
    w=st.integers(24, 120),
    unconstrained=st.booleans(),
)
def test_any_seed_and_size_gives_a_valid_face(seed, h, w, unconstrained):
    face = generate_face(h, w, face_rng(seed, 0), unconstrained)
    assert face.image.shape == (h, w) and face.image.dtype == np.float32
    assert np.isfinite(face.image).all()
    assert face.image.min() > -10.0  # cups of cold or hot drinks included
    assert face.image.max() < 80.0
    assert face.mask.max() <= 5 and (face.mask == 1).any()
    assert np.isfinite(face.landmarks).all()


def test_unconstrained_keeps_labels_and_adds_conditions(clean, wild):
    np.testing.assert_array_equal(wild.masks, clean.masks)  # labels stay the true face regions
    np.testing.assert_array_equal(wild.landmarks, clean.landmarks)
    assert all(p["conditions"] for p in wild.params)  # every unconstrained face has at least one
    kinds = {k for p in wild.params for k in p["conditions"]}
    assert {"glasses", "hot_room", "fringe"} <= kinds
    changed = [not np.allclose(a, b) for a, b in zip(wild.images, clean.images, strict=True)]
    assert all(changed)


def test_hot_rooms_are_as_warm_as_the_skin(wild):
    hot = [i for i, p in enumerate(wild.params) if "hot_room" in p["conditions"]]
    assert len(hot) >= 5
    warmer = 0
    for i in hot:
        img, m = wild.images[i], wild.masks[i]
        diff = np.median(img[m == 0]) - np.median(img[m == 1])
        assert diff >= -0.6
        warmer += diff > 0
    assert warmer >= len(hot) // 2


def test_glasses_are_opaque_and_near_room_temperature(clean, wild):
    seen = 0
    for i, p in enumerate(wild.params):
        glasses = [o for o in p["occluders"] if o["kind"] == "glasses"]
        if not glasses or {"hand", "cup"} & set(p["conditions"]):  # a hand or cup may cover the glasses
            continue
        seen += 1
        lens_t = glasses[0]["lens_temperature"]
        assert lens_t - p["thermal"]["ambient"] < 3.0
        for eye in (wild.landmarks[i][36:42], wild.landmarks[i][42:48]):
            behind = _patch(wild.images[i], eye.mean(0), 0)
            assert abs(behind - lens_t) < 1.0  # the lens, not the warm eye behind it
        parts = glasses[0]["parts"]
        assert all(len(part["polygon"]) >= 2 for part in parts)
    assert seen >= 3


def test_every_occluder_outline_is_simple():
    """Scarves, fringes, masks, hands, cups and glasses are recorded as outlines that never cross themselves."""
    import shapely

    from tiaug.plots import find_polygons

    kinds: dict[str, int] = {}
    for face in generate_faces(160, 64, 80, seed=11, unconstrained=True).params:
        for record in face["occluders"]:
            for outline in find_polygons(record):
                shape = shapely.Polygon(outline) if len(outline) >= 3 else shapely.LineString(outline)
                assert shape.is_valid and shape.is_simple, (record["kind"], shapely.is_valid_reason(shape))
                kinds[record["kind"]] = kinds.get(record["kind"], 0) + 1
    assert kinds.get("scarf", 0) >= 5 and kinds.get("fringe", 0) >= 20  # the shapes that used to cross
