"""Heat fields of the synthetic faces: temperatures in degrees Celsius, physiology from thermography.

Values follow what facial thermography reports for people at rest indoors:

* facial skin about 33-35 C, the forehead a little warmer and the cheeks a little cooler than the mean;
* the inner eye corners (medial canthi, next to the lacrimal caruncle) are the warmest points, 35-37 C;
* the eye surface is warmer than the surrounding skin, eyebrows (insulating hair) are cooler;
* the nose tip is 1-4 C cooler than the cheeks (vasoconstriction, breathing), varying between faces;
* lips are warm, the inside of an open mouth warmer still (but not warmer than the canthi);
* the face edge looks cooler (emissivity falls at grazing angles); ears and hair are cooler than the face;
* the background of a controlled room is 18-28 C with a gentle gradient;
* the camera adds about 1 pixel of optical blur and 0.02-0.08 C of sensor noise (NETD) plus faint column
  stripes.

Heat fields are smooth: low-frequency patterns are painted on a quarter-resolution canvas and blurred;
fine structures (brows, lips, eyes) get a blur of about 1.5 % of the face width.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tiaug.synth import raster
from tiaug.synth.geometry import INNER_CANTHI, NOSE_TIP, FaceGeometry


@dataclass
class ThermalParams:
    """Temperatures (degrees Celsius) and camera properties of one synthetic image."""

    ambient: float  # room (background) temperature at the image centre
    gradient: float  # background change across the image diagonal
    gradient_angle: float  # direction of the background gradient, degrees
    skin: float  # base skin temperature
    forehead: float  # forehead offset (+)
    cheek: float  # cheek offset (-)
    periorbital: float  # offset around the eyes (+)
    canthus: float  # absolute temperature of the inner eye corners (the face's maximum), after optical blur
    canthus_asym: float  # right canthus minus left, C
    eye: float  # eye surface offset (+)
    brow: float  # eyebrow offset (-)
    lips: float  # lip offset (+)
    mouth_inside: float  # absolute temperature inside an open mouth
    nose_drop: float  # cheek mean minus nose tip, C (1-4)
    edge: float  # cooling at the face outline, C
    hair: float  # hair temperature as a fraction of the way from ambient to skin
    ear: float  # ear offset (-)
    neck: float  # neck offset (-)
    cloth: float  # clothing temperature as a fraction of the way from ambient to skin
    noise: float  # sensor noise standard deviation, C
    stripes: float  # column-stripe noise standard deviation, C
    optical_blur: float  # optical blur sigma, pixels
    has_hair: bool
    has_neck: bool
    has_shoulders: bool


def sample_thermal(rng: np.random.Generator) -> ThermalParams:
    """Draw the temperatures of one face in a controlled room; every choice comes from ``rng``."""
    u = rng.uniform
    skin = u(33.5, 34.7)
    canthus = max(u(35.0, 37.0), skin + 1.5)
    periorbital = u(0.2, 0.5)
    has_neck = bool(rng.random() < 0.9)
    return ThermalParams(
        ambient=u(19.0, 27.0),
        gradient=u(0.2, 1.5),
        gradient_angle=u(0.0, 360.0),
        skin=skin,
        forehead=u(0.2, 0.5),
        cheek=-u(0.2, 0.7),
        periorbital=periorbital,
        canthus=canthus,
        canthus_asym=u(-0.2, 0.2),
        eye=max(0.1, min(u(0.3, 0.8), canthus - 0.7 - skin - periorbital)),  # the cornea stays below the canthi
        brow=-u(1.0, 2.0),
        lips=min(u(0.6, 1.2), canthus - skin - 1.0),
        mouth_inside=canthus - u(0.8, 1.5),
        nose_drop=u(1.0, 4.0),
        edge=u(0.8, 2.0),
        hair=u(0.35, 0.7),
        ear=-u(1.0, 3.0),
        neck=-u(0.3, 1.5),
        cloth=u(0.3, 0.7),
        noise=u(0.02, 0.08),
        stripes=u(0.0, 0.02),
        optical_blur=u(0.7, 1.2),
        has_hair=bool(rng.random() < 0.85),
        has_neck=has_neck,
        has_shoulders=has_neck and bool(rng.random() < 0.75),
    )


def background(rng: np.random.Generator, shape: tuple[int, int], t: ThermalParams) -> np.ndarray:
    """Room background (H, W) float32: ambient, a linear gradient and gentle low-frequency variation."""
    h, w = shape
    a = np.deg2rad(t.gradient_angle)
    diag = float(np.hypot(h, w))
    gx, gy = np.float32(t.gradient * np.cos(a) / diag), np.float32(t.gradient * np.sin(a) / diag)
    xs = (np.arange(w, dtype=np.float32) - w / 2) * gx
    ys = (np.arange(h, dtype=np.float32) - h / 2) * gy
    bg = np.float32(t.ambient) + ys[:, None] + xs[None, :]
    bg += np.float32(rng.uniform(0.05, 0.3)) * raster.smooth_noise(rng, shape, (3, 4))
    return bg


def skin_field(rng: np.random.Generator, shape: tuple[int, int], g: FaceGeometry, t: ThermalParams) -> np.ndarray:
    """Skin temperature of the face (H, W) float32, defined everywhere, to be composited inside the face.

    The nose tip and the inner eye corners are calibrated after the smooth patterns are laid down, so the
    nose tip is exactly ``nose_drop`` below the mean of the two cheek points and the canthi reach
    ``canthus`` (before optical blur and noise).
    """
    s = g.scale
    p = g.points

    def coarse(canvas: np.ndarray, f: float) -> None:
        def ell(c: np.ndarray, rx: float, ry: float, value: float) -> None:
            poly = raster.ellipse(c, rx * s, ry * s, g.up)
            raster.fill(canvas, [poly], value, f)

        ell(p["forehead"], 0.7, 0.35, t.forehead)
        ell(p["cheek_left"], 0.3, 0.3, t.cheek)
        ell(p["cheek_right"], 0.3, 0.3, t.cheek)
        ell(p["chin"], 0.35, 0.2, -0.3)
        for eye in g.eyes:
            ell(eye.mean(axis=0), 0.3, 0.2, t.periorbital)
        raster.fill(canvas, [g.nose], -0.25 * t.nose_drop, f)

    field = raster.blurred_coarse(shape, 4, 0.12 * s, coarse)
    field += np.float32(t.skin)
    field += np.float32(rng.uniform(0.1, 0.3)) * raster.smooth_noise(rng, shape, (5, 6))

    fine = np.zeros(shape, np.float32)
    raster.fill(fine, g.brows, t.brow)
    raster.fill(fine, [g.mouth], t.lips)
    if g.mouth_inner is not None:
        raster.fill(fine, [g.mouth_inner], t.mouth_inside - t.skin)
    raster.fill(fine, g.eyes, t.eye)
    field += raster.blur(fine, max(0.6, 0.015 * s))

    def edge(canvas: np.ndarray, f: float) -> None:
        raster.fill(canvas, [g.face], 1.0, f)

    inside = raster.blurred_coarse(shape, 4, 0.08 * s, edge)
    field -= np.float32(t.edge) * np.clip(2.0 * (1.0 - inside), 0.0, 1.0)

    # calibrate the nose tip against the cheeks
    tip = g.landmarks[NOSE_TIP]
    sigma_n = 0.13 * s
    cheeks = [p["cheek_left"], p["cheek_right"]]
    drop_now = np.mean([raster.sample(field, *c) for c in cheeks]) - raster.sample(field, *tip)
    reach = float(np.mean([raster.blob_at(c[0], c[1], tip[0], tip[1], sigma_n) for c in cheeks]))
    raster.add_blob(field, tip[0], tip[1], sigma_n, float(-(t.nose_drop - drop_now) / (1.0 - reach)))

    # calibrate the inner eye corners (the warmest points of the face); the camera's optical blur will lower
    # a Gaussian peak of width sigma_c by sigma_c^2 / (sigma_c^2 + blur^2), so aim that much higher
    sigma_c = max(1.2, 0.05 * s)
    gain = (sigma_c**2 + t.optical_blur**2) / sigma_c**2
    for k, idx in enumerate(INNER_CANTHI):
        c = g.landmarks[idx]
        target = t.canthus + (k - 0.5) * t.canthus_asym
        raster.add_blob(field, c[0], c[1], sigma_c, (target - raster.sample(field, *c)) * gain)
    return field
