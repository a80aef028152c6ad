"""Real-world ("unconstrained") conditions for the synthetic faces, unlike TiAug's random polygons.

* ``glasses``: eyeglasses are opaque to long-wave infrared, so the lenses show the reflected room (near
  ambient), not the warm eyes behind them; the frame is warmed by the skin it touches;
* ``hand`` (a hand in front of the mouth, chin or cheek, cooler than the face) or ``cup`` (a hot or cold drink
  held in front of the lower face);
* ``fringe``: hair over the forehead, at hair temperature;
* ``face_mask`` (a surgical mask, warm where the breath goes) or ``scarf`` (over the chin and neck);
* ``hot_room``: the room is as warm as or warmer than the skin, so the usual "face warmer than background"
  cue is gone (the skin warms up and the edge cooling fades too);
* ``cold_room``: a cold outdoor scene (-5 to 12 C): the skin cools by a fraction of the room's drop, the nose
  tip and ears much more (vasoconstriction), hair and clothes come close to the cold background, while the
  inner eye corners stay warm.

Labels are NOT changed by any of these: as in the paper, a mask keeps the true face regions under an
occluder, so a network learns to segment through it. The outline of every occluder is recorded in the
face's parameters under a ``"polygon"`` key (a list of [x, y] pixels), which ``tiaug preview`` draws.
"""

from __future__ import annotations

import numpy as np
import shapely

from tiaug.synth import raster
from tiaug.synth.geometry import FaceGeometry
from tiaug.synth.names import CONDITIONS, REGISTRY, Condition
from tiaug.synth.thermal import ThermalParams

#: The conditions one face gets: a set of names from :data:`tiaug.synth.names.REGISTRY`.
Conditions = frozenset[str]


def in_order(conditions: Conditions) -> list[str]:
    """The names of ``conditions`` in registry order (how a face's parameters list them)."""
    return [c.name for c in REGISTRY if c.name in conditions]


def single_condition(name: str) -> Conditions:
    """The conditions with only ``name`` present; an unknown name is refused with the valid ones."""
    if name not in CONDITIONS:
        raise ValueError(f"unknown condition {name!r}; choose one of {', '.join(CONDITIONS)}")
    return frozenset({name})


def _draw_stream(rng: np.random.Generator, members: list[Condition], present: set[str]) -> None:
    """Draw ``members`` (registry order) into ``present``: one uniform per draw group, consecutive intervals of
    the group's chances."""
    groups: dict[str, list[Condition]] = {}
    for c in members:
        groups.setdefault(c.draw_group, []).append(c)
    for group in groups.values():
        if any(set(c.excluded_by) & present for c in group):
            continue
        r, start = rng.random(), 0.0
        for c in group:
            if start <= r < start + c.chance:
                present.add(c.name)
            start += c.chance


def sample_conditions(rng: np.random.Generator, cold_rng: np.random.Generator | None = None) -> Conditions:
    """Draw the conditions of one unconstrained face; at least one is always present.

    The "main" conditions are drawn from ``rng`` (one of them forced when none was drawn); the "cold" ones from
    ``cold_rng`` afterwards (their own stream, so every other condition of a face is drawn as before they
    existed); without it, never.
    """
    main = [c for c in REGISTRY if c.stream == "main"]
    present: set[str] = set()
    _draw_stream(rng, main, present)
    if not present:
        present.add(str(rng.choice([c.name for c in main])))
    if cold_rng is not None:
        _draw_stream(cold_rng, [c for c in REGISTRY if c.stream == "cold"], present)
    return frozenset(present)


def adjust_rooms(conditions: Conditions, rngs: dict[str, np.random.Generator], t: ThermalParams) -> None:
    """Apply the "room" conditions to the face's temperatures ``t`` in place, each with its stream's generator."""
    for c in REGISTRY:
        if c.kind == "room" and c.name in conditions:
            globals()[c.name](rngs[c.stream], t)


def hot_room(rng: np.random.Generator, t: ThermalParams) -> None:
    """Turn ``t`` into a hot room in place: background from 0.5 C below to 4 C above the (warmer) skin."""
    t.skin = min(t.skin + rng.uniform(0.3, 1.0), 35.6)
    t.ambient = t.skin + rng.uniform(-0.5, 4.0)
    t.canthus = min(max(t.canthus, t.skin + 1.0), 37.5)
    t.mouth_inside = min(t.mouth_inside, t.canthus - 0.3)
    t.edge *= 0.3
    t.nose_drop = 1.0 + (t.nose_drop - 1.0) * 0.3  # less heat loss to a warm room
    t.hair = rng.uniform(0.6, 0.9)


def cold_room(rng: np.random.Generator, t: ThermalParams) -> None:
    """Turn ``t`` into a cold outdoor scene in place: background -5..12 C, the face cooling partially."""
    before = t.ambient
    t.ambient = rng.uniform(-5.0, 12.0)
    cooling = rng.uniform(0.15, 0.35) * (before - t.ambient)  # the skin follows the room by a fraction
    t.skin -= cooling
    t.canthus = max(t.canthus - 0.5 * cooling, t.skin + 1.5)  # the inner eye corners stay close to the core
    t.mouth_inside = min(t.mouth_inside, t.canthus - 0.3)
    t.nose_drop = rng.uniform(4.0, 9.0)  # vasoconstriction of the nose tip
    t.edge *= 1.5
    t.ear -= rng.uniform(1.0, 3.0)
    t.hair = rng.uniform(0.15, 0.4)
    t.cloth = rng.uniform(0.1, 0.35)


def _poly_json(poly: np.ndarray) -> list[list[float]]:
    return [[round(float(x), 2), round(float(y), 2)] for x, y in poly]


def _paint(image: np.ndarray, polys: list[np.ndarray], field: np.ndarray | float) -> None:
    """Overwrite the pixels inside ``polys`` with ``field`` (an (H, W) array or a constant)."""
    inside = raster.polygon_mask(image.shape, polys)
    if isinstance(field, np.ndarray):
        image[inside] = field[inside]
    else:
        image[inside] = np.float32(field)


def _quad(a: np.ndarray, b: np.ndarray, half_width: float) -> np.ndarray:
    """Rectangle of the given half width around the segment a-b."""
    d = (b - a) / (np.linalg.norm(b - a) + 1e-9)
    n = np.array([-d[1], d[0]]) * half_width
    return np.array([a - n, b - n, b + n, a + n])


def _monotone_run(values: np.ndarray, min_step: float) -> slice:
    """The longest run of consecutive ``values`` that rises (or falls) by ``min_step`` or more at every step."""
    steps = np.diff(values)
    direction = np.where(steps >= min_step, 1, np.where(steps <= -min_step, -1, 0))
    best, start = slice(0, min(2, len(values))), 0
    for end in range(1, len(direction) + 1):  # the run of steps start..end-1 covers values start..end
        if end == len(direction) or direction[end] != direction[start]:
            if direction[start] != 0 and end + 1 - start > best.stop - best.start:
                best = slice(start, end + 1)
            start = end
    return best


def _texture(rng: np.random.Generator, shape: tuple[int, int], amplitude: float) -> np.ndarray:
    return np.float32(amplitude) * raster.smooth_noise(rng, shape, (12, 15))


def glasses(rng: np.random.Generator, image: np.ndarray, g: FaceGeometry, t: ThermalParams) -> list[dict]:
    """Paint eyeglasses; return their parts (each with a ``polygon``)."""
    lm, s = g.landmarks.astype(np.float64), g.scale
    up = g.up
    centres = [lm[36:42].mean(0), lm[42:48].mean(0)]
    axis = centres[1] - centres[0]
    axis /= np.linalg.norm(axis) + 1e-9
    power = rng.uniform(2.5, 5.0)
    height = rng.uniform(0.14, 0.2) * s
    lift = rng.uniform(0.0, 0.05) * s
    lenses = []
    for c, (a, b) in zip(centres, [(36, 39), (42, 45)], strict=True):
        half_w = np.linalg.norm(lm[b] - lm[a]) * rng.uniform(0.7, 0.85)
        tt = np.linspace(0.0, 2 * np.pi, 40, endpoint=False)
        ct, st = np.cos(tt), np.sin(tt)
        x = half_w * np.sign(ct) * np.abs(ct) ** (2 / power)
        y = height * np.sign(st) * np.abs(st) ** (2 / power)
        lenses.append(c + up * lift + np.outer(x, axis) + np.outer(y, up))
    lens_t = t.ambient + rng.uniform(0.5, 2.5)
    frame_t = t.skin - rng.uniform(1.0, 3.0)
    thick = max(1.0, rng.uniform(0.025, 0.05) * s)
    lens_field = lens_t + raster.smooth_noise(rng, image.shape, (3, 4)) * np.float32(0.3)
    _paint(image, lenses, lens_field)
    inner = [lenses[0][np.argmax(lenses[0] @ axis)], lenses[1][np.argmin(lenses[1] @ axis)]]
    outer = [lenses[0][np.argmin(lenses[0] @ axis)], lenses[1][np.argmax(lenses[1] @ axis)]]
    bridge = np.array([inner[0], lm[27] + up * 0.03 * s, inner[1]])
    arms = [np.array([outer[0], lm[0] + up * 0.12 * s]), np.array([outer[1], lm[16] + up * 0.12 * s])]
    for lens in lenses:
        raster.stroke(image, np.concatenate([lens, lens[:1]]), frame_t, thick)
    for line in [bridge, *arms]:
        raster.stroke(image, line, frame_t, thick)
    parts = [{"part": "lens", "polygon": _poly_json(p)} for p in lenses]
    parts += [{"part": "frame", "polygon": _poly_json(p)} for p in [bridge, *arms]]
    return [{"kind": "glasses", "lens_temperature": round(lens_t, 2), "parts": parts}]


def hand(rng: np.random.Generator, image: np.ndarray, g: FaceGeometry, t: ThermalParams) -> list[dict]:
    """Paint a hand (palm, fingers, sleeve) in front of the lower face."""
    lm, s = g.landmarks.astype(np.float64), g.scale
    down = -g.up
    side = np.array([-down[1], down[0]])
    target = [lm[57], lm[8], g.points["cheek_left"], g.points["cheek_right"]][int(rng.integers(4))]
    tilt = np.deg2rad(rng.uniform(-35, 35))
    dirn = np.cos(tilt) * (-down) + np.sin(tilt) * side  # from wrist to fingertips
    dirn /= np.linalg.norm(dirn)
    across = np.array([-dirn[1], dirn[0]])
    palm_c = target - dirn * rng.uniform(0.35, 0.6) * s
    palm = palm_c + np.outer(np.cos(np.linspace(0, 2 * np.pi, 24, endpoint=False)), across * 0.38 * s)
    palm = palm + np.outer(np.sin(np.linspace(0, 2 * np.pi, 24, endpoint=False)), dirn * 0.45 * s)
    fingers = []
    for k in range(4):
        base = palm_c + dirn * 0.35 * s + across * (k - 1.5) * 0.2 * s
        spread = dirn + across * (k - 1.5) * rng.uniform(0.0, 0.15)
        tip = base + spread / np.linalg.norm(spread) * rng.uniform(0.45, 0.7) * s
        fingers.append(_quad(base, tip, 0.085 * s))
    wrist = palm_c - dirn * 0.35 * s
    sleeve = _quad(wrist, wrist - dirn * 6.0 * s, 0.33 * s)
    hand_t = t.skin - rng.uniform(0.5, 3.0)
    _paint(image, [sleeve], t.ambient + t.cloth * (t.skin - t.ambient))
    _paint(image, [palm], hand_t)
    _paint(image, fingers, hand_t - rng.uniform(0.3, 2.0))
    polys = [sleeve, palm, *fingers]
    return [
        {
            "kind": "hand",
            "temperature": round(hand_t, 2),
            "parts": [{"polygon": _poly_json(p)} for p in polys],
        }
    ]


def cup(rng: np.random.Generator, image: np.ndarray, g: FaceGeometry, t: ThermalParams) -> list[dict]:
    """Paint a cup (hot or cold drink) held upright in front of the mouth or chin."""
    lm, s = g.landmarks.astype(np.float64), g.scale
    centre = lm[57] + np.array([rng.uniform(-0.4, 0.4), rng.uniform(0.2, 0.8)]) * s
    half_w, half_h = rng.uniform(0.3, 0.45) * s, rng.uniform(0.45, 0.65) * s
    body = centre + np.array([[-half_w, -half_h], [half_w, -half_h], [half_w * 0.82, half_h], [-half_w * 0.82, half_h]])
    hot = bool(rng.random() < 0.7)
    drink_t = rng.uniform(40.0, 60.0) if hot else rng.uniform(4.0, 15.0)
    side = 1.0 if rng.random() < 0.5 else -1.0
    a = np.linspace(-np.pi / 2, np.pi / 2, 12)
    handle = centre + np.stack([side * (half_w * 0.9 + 0.28 * half_h * np.cos(a)), 0.35 * half_h * np.sin(a)], 1)
    wall = np.float32(drink_t - (drink_t - t.ambient) * 0.15)
    field = wall + raster.smooth_noise(rng, image.shape, (4, 4)) * np.float32(0.5)
    _paint(image, [body], field)
    raster.stroke(image, handle, float(wall) - (drink_t - t.ambient) * 0.2, max(1.0, 0.08 * s))
    return [
        {
            "kind": "cup",
            "drink_temperature": round(drink_t, 2),
            "parts": [{"polygon": _poly_json(body)}, {"polygon": _poly_json(handle)}],
        }
    ]


def fringe(rng: np.random.Generator, image: np.ndarray, g: FaceGeometry, t: ThermalParams) -> list[dict]:
    """Paint hair hanging over the forehead from the hairline towards the brows."""
    arc = g.hairline.astype(np.float64)
    n = len(arc)
    a = int(rng.integers(0, n // 3))
    b = int(rng.integers(2 * n // 3, n))
    top = arc[a:b]
    brow_y = np.mean(g.landmarks[17:27], axis=0)
    reach = float(np.dot(top.mean(0) - brow_y, g.up))
    length = np.clip(rng.uniform(0.3, 1.0, len(top)) * reach, 0.0, None)
    length = np.convolve(length, np.ones(3) / 3, mode="same")
    # A turned head folds the far end of the hairline back across the face: keep the part of the arc that runs
    # one way across the face (0.05 px or more per point, which survives the outline's rounding to 0.01 px), so
    # that the strands hanging from it along -up never cross it and the outline stays a simple polygon.
    keep = _monotone_run(top @ np.array([-g.up[1], g.up[0]]), min_step=0.05)
    top, length = top[keep], length[keep]
    bottom = top - np.outer(length, g.up)
    poly = np.concatenate([top + g.up * 0.05 * g.scale, bottom[::-1]])
    hair_t = t.ambient + t.hair * (t.skin - t.ambient)
    _paint(image, [poly], hair_t + _texture(rng, image.shape, 0.5))
    return [{"kind": "fringe", "polygon": _poly_json(poly)}]


def face_mask(rng: np.random.Generator, image: np.ndarray, g: FaceGeometry, t: ThermalParams) -> list[dict]:
    """Paint a surgical mask from the nose bridge to under the chin, warm where the breath goes."""
    lm, s = g.landmarks.astype(np.float64), g.scale
    centre = lm[27:36].mean(0)
    jaw = lm[1:16]
    out = jaw + (jaw - centre) * 0.06
    top = lm[28] + (lm[29] - lm[28]) * rng.uniform(0.0, 1.0)
    poly = np.concatenate([[top], out[::-1]])
    mask_t = t.ambient + (t.skin - t.ambient) * rng.uniform(0.55, 0.85)
    field = np.full(image.shape, mask_t, np.float32)
    mouth = lm[48:60].mean(0)
    raster.add_blob(field, mouth[0], mouth[1], 0.3 * s, rng.uniform(1.0, 2.5))
    _paint(image, [poly], field)
    return [{"kind": "face_mask", "temperature": round(mask_t, 2), "polygon": _poly_json(poly)}]


def scarf(rng: np.random.Generator, image: np.ndarray, g: FaceGeometry, t: ThermalParams) -> list[dict]:
    """Paint a scarf wrapped over the chin and the neck, down past the image bottom."""
    lm, s = g.landmarks.astype(np.float64), g.scale
    down = -g.up
    side = np.array([-down[1], down[0]])
    side *= np.sign(np.dot(lm[4] - lm[12], side)) or 1.0  # from jaw point 12 towards jaw point 4
    level = lm[57] + (lm[8] - lm[57]) * rng.uniform(0.2, 0.7)
    width = rng.uniform(1.1, 1.5) * s
    far = 3.0 * max(image.shape)
    # Around the outline without crossing: jaw 4, under the chin, jaw 12, then down jaw 12's side and back up
    # jaw 4's side.
    poly = np.array(
        [
            lm[4] - side * 0.1 * s,
            level,
            lm[12] + side * 0.1 * s,
            level - side * width + down * 0.6 * s,
            level - side * width + down * far,
            level + side * width + down * far,
            level + side * width + down * 0.6 * s,
        ]
    )
    cloth_t = t.ambient + (t.skin - t.ambient) * rng.uniform(0.4, 0.75)
    _paint(image, [poly], cloth_t + _texture(rng, image.shape, 0.4))
    # The recorded outline is the part on the image (just past its border), cut with the image frame.
    visible = shapely.Polygon(poly).intersection(shapely.box(-1, -1, image.shape[1], image.shape[0]))
    parts = [p for p in getattr(visible, "geoms", [visible]) if p.geom_type == "Polygon" and not p.is_empty]
    outline = np.asarray(max(parts, key=lambda p: p.area).exterior.coords[:-1]) if parts else np.empty((0, 2))
    return [{"kind": "scarf", "temperature": round(cloth_t, 2), "polygon": _poly_json(outline)}]


def paint_conditions(
    rng: np.random.Generator, image: np.ndarray, g: FaceGeometry, t: ThermalParams, conditions: Conditions
) -> list[dict]:
    """Paint every occluder of ``conditions`` into ``image`` (in place, by layer); return their JSON records."""
    records: list[dict] = []
    for c in sorted(REGISTRY, key=lambda c: c.layer):
        if c.kind == "occluder" and c.name in conditions:
            records += globals()[c.name](rng, image, g, t)
    return records
