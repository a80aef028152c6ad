"""One face geometry for the synthetic thermal faces: region outlines and the 68 iBUG landmarks.

The face is built in a canonical frame, then posed and projected to pixels:

* canonical units: 1 = half the face width at the cheekbones; x to the image right, y down, the eye line at
  y = 0; every point also has a depth z (towards the camera) used by yaw and pitch;
* pose: yaw about the vertical axis (the far half of the face is compressed, the nose swings towards it),
  pitch about the horizontal axis, roll in the image plane, then scale (pixels per unit) and translation.

Region outlines (dense polygons) and the landmarks are sampled from the same curves, so the labels, the
landmarks and the heat field all agree. Pixel coordinates follow OpenCV: (x, y) = (column, row) and a pixel's
centre is at integer coordinates.

Landmarks follow the iBUG 300-W 68-point scheme, image-left first: 0-16 jaw (image left to right, through the
chin), 17-21 and 22-26 eyebrows (image-left brow from its outer end, image-right brow from its inner end),
27-30 nose bridge (top to tip), 31-35 nostrils (left to right), 36-41 and 42-47 eyes (clockwise from the
image-left eye's outer corner and the image-right eye's inner corner), 48-59 outer lips and 60-67 inner lips
(clockwise from the image-left corner). The eyebrow landmarks lie on the brow's upper edge.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from tiaug.synth import curves
from tiaug.synth.raster import ellipse

N_LANDMARKS = 68
#: Inner eye corners (the canthi): the image-left eye's 39 and the image-right eye's 42.
INNER_CANTHI = (39, 42)
NOSE_TIP = 30


@dataclass
class FaceShape:
    """Shape parameters of one face in canonical units (see the module docstring)."""

    eye_dx: float  # half distance between the eye centres
    eye_w: float  # eye width (corner to corner)
    eye_h_up: float  # upper lid height above the corner line
    eye_h_lo: float  # lower lid depth below the corner line
    brow_y: float  # upper edge of the brows at their inner end (negative: above the eye line)
    brow_arch: float
    brow_thick: float  # brow thickness at its inner end (tapers to 60% at the outer end)
    brow_inner: float  # |x| of the brow's inner end
    brow_outer: float  # |x| of the brow's outer end
    nose_tip: float  # y of the nose tip
    nose_w: float  # half width of the nostril wings
    nose_bridge_w: float  # half width of the bridge at its top
    mouth_y: float  # y of the line where the lips meet
    mouth_hw: float  # half width of the mouth
    upper_lip: float
    lower_lip: float
    mouth_open: float  # gap between the inner lips (0: closed)
    chin_y: float
    jaw_y0: float  # y of jaw points 0 and 16
    jaw_square: float  # exponent < 1 squares the jaw
    hairline: float  # height of the hairline above the eye line
    head_top: float  # height of the top of the head (hair) above the eye line
    head_w: float  # half width of the hair outline
    depth: float  # depth of the face ellipsoid
    nose_depth: float  # extra depth of the nose tip
    jitter: np.ndarray = field(default_factory=lambda: np.zeros((N_LANDMARKS, 2)))


@dataclass
class Pose:
    """Pose of the head: angles in degrees, scale in pixels per canonical unit, centre in pixels."""

    yaw: float
    pitch: float
    roll: float
    scale: float
    cx: float
    cy: float


def sample_shape(rng: np.random.Generator, open_probability: float = 0.35) -> FaceShape:
    """Draw the shape of one face; every choice comes from ``rng``."""
    u = rng.uniform
    eye_dx = u(0.4, 0.5)
    nose_tip = u(0.5, 0.62)
    nose_bottom = nose_tip + 0.08
    mouth_y = nose_bottom + u(0.2, 0.28)
    mouth_open = u(0.06, 0.24) if rng.random() < open_probability else 0.0
    lower_lip = u(0.08, 0.12)
    chin_y = mouth_y + mouth_open + lower_lip + u(0.3, 0.42)
    hairline = u(0.85, 1.25)
    return FaceShape(
        eye_dx=eye_dx,
        eye_w=u(0.3, 0.38),
        eye_h_up=u(0.07, 0.1),
        eye_h_lo=u(0.04, 0.065),
        brow_y=-u(0.2, 0.28),
        brow_arch=u(0.02, 0.07),
        brow_thick=u(0.08, 0.12),
        brow_inner=u(0.1, 0.18),
        brow_outer=u(0.78, 0.9),
        nose_tip=nose_tip,
        nose_w=u(0.17, 0.24),
        nose_bridge_w=u(0.03, 0.05),
        mouth_y=mouth_y,
        mouth_hw=u(0.28, 0.38),
        upper_lip=u(0.07, 0.1),
        lower_lip=lower_lip,
        mouth_open=mouth_open,
        chin_y=chin_y,
        jaw_y0=u(0.0, 0.1),
        jaw_square=u(0.7, 1.0),
        hairline=hairline,
        head_top=hairline + u(0.12, 0.35),
        head_w=u(1.04, 1.14),
        depth=u(0.75, 0.95),
        nose_depth=u(0.3, 0.45),
        jitter=rng.normal(0.0, 0.008, size=(N_LANDMARKS, 2)),
    )


# ---------------------------------------------------------------------------------------------------------
# Depth and projection


def _depth(s: FaceShape, pts: np.ndarray, extra: float | np.ndarray = 0.0) -> np.ndarray:
    """Depth of canonical points on the head ellipsoid plus a feature's own protrusion."""
    return s.depth * np.sqrt(np.clip(1.0 - pts[:, 0] ** 2, 0.0, 1.0)) + extra


def _nose_extra(s: FaceShape, pts: np.ndarray) -> np.ndarray:
    """Protrusion of the nose: grows down the bridge to the tip, the wings a little less."""
    frac = np.clip((pts[:, 1] + 0.02) / (s.nose_tip + 0.02), 0.0, 1.0)
    centre = np.clip(1.0 - np.abs(pts[:, 0]) / (s.nose_w + 1e-6), 0.0, 1.0)
    return s.nose_depth * frac * (0.35 + 0.65 * centre) * np.where(pts[:, 1] > s.nose_tip + 0.04, 0.6, 1.0)


def project(pose: Pose, pts: np.ndarray, z: np.ndarray) -> np.ndarray:
    """Project canonical points (K, 2) with depth (K,) to pixel coordinates (K, 2) (x, y)."""
    yaw, pitch, roll = np.deg2rad([pose.yaw, pose.pitch, pose.roll])
    x = pts[:, 0] * np.cos(yaw) + z * np.sin(yaw)
    z1 = -pts[:, 0] * np.sin(yaw) + z * np.cos(yaw)
    pivot = 0.45  # rotate about the nose, not the eye line
    y = (pts[:, 1] - pivot) * np.cos(pitch) - z1 * np.sin(pitch) + pivot
    c, sn = np.cos(roll), np.sin(roll)
    xr = c * x - sn * (y - pivot)
    yr = sn * x + c * (y - pivot)
    return np.stack([pose.cx + pose.scale * xr, pose.cy + pose.scale * yr], axis=1)


@dataclass
class FaceGeometry:
    """A posed face in pixels: dense polygons (float (K, 2) arrays of (x, y)) and the 68 landmarks."""

    face: np.ndarray  # skin outline: jaw and forehead up to the hairline
    hairline: np.ndarray  # the forehead part of ``face``, from the image-right to the image-left temple
    head: np.ndarray  # hair outline (top of the head), drawn behind the face
    ears: list[np.ndarray]
    neck: np.ndarray  # from under the jaw down past the image bottom
    shoulders: np.ndarray | None
    eyes: list[np.ndarray]
    brows: list[np.ndarray]
    nose: np.ndarray
    mouth: np.ndarray
    mouth_inner: np.ndarray | None  # the opening between the lips when the mouth is open
    landmarks: np.ndarray  # (68, 2) float32, (x, y) pixels
    points: dict[str, np.ndarray]  # named anchor points in pixels (cheeks, forehead, chin ...)
    scale: float  # pixels per canonical unit
    up: np.ndarray  # unit vector (x, y) pointing from the chin towards the forehead

    def shifted(self, dx: float, dy: float) -> FaceGeometry:
        """The same geometry translated by (dx, dy) pixels (projection commutes with translation)."""
        d = np.array([dx, dy])

        def mv(p: np.ndarray) -> np.ndarray:
            return p + d.astype(p.dtype)

        return FaceGeometry(
            face=mv(self.face),
            hairline=mv(self.hairline),
            head=mv(self.head),
            ears=[mv(e) for e in self.ears],
            neck=mv(self.neck),
            shoulders=None if self.shoulders is None else mv(self.shoulders),
            eyes=[mv(e) for e in self.eyes],
            brows=[mv(b) for b in self.brows],
            nose=mv(self.nose),
            mouth=mv(self.mouth),
            mouth_inner=None if self.mouth_inner is None else mv(self.mouth_inner),
            landmarks=mv(self.landmarks),
            points={k: mv(v) for k, v in self.points.items()},
            scale=self.scale,
            up=self.up,
        )


def build_geometry(s: FaceShape, pose: Pose, image_height: int, shoulders: bool = True) -> FaceGeometry:
    """Pose the face ``s`` and return its polygons and landmarks in pixels."""

    def proj(pts: np.ndarray, extra: float | np.ndarray = 0.0) -> np.ndarray:
        return project(pose, pts, _depth(s, pts, extra))

    jaw_dense = curves.jaw(s, 49)
    face_c = np.concatenate([jaw_dense, curves.forehead(s, 33, s.hairline)[1:-1]])
    chin_extra = 0.05 * np.exp(-((face_c[:, 0] / 0.4) ** 2)) * (face_c[:, 1] > s.mouth_y)
    face = proj(face_c, chin_extra)
    head_c = np.concatenate(
        [[[s.head_w, 0.25], [s.head_w * 0.98, s.jaw_y0]], curves.forehead(s, 33, s.head_top, s.head_w)]
    )
    head_c = np.concatenate([head_c, [[-s.head_w, 0.25]]])
    head = project(pose, head_c, _depth(s, head_c) * 0.9 - 0.15)

    ears = []
    for side in (-1, 1):
        e = ellipse(np.array([side * 1.0, 0.25]), 0.13, 0.3, n=16)
        ears.append(project(pose, e, np.full(len(e), -0.25)))

    eyes, eye_lm = [], []
    brows, brow_lm = [], []
    for side in (-1, 1):
        outline, lm = curves.eye(s, side, 13)
        eyes.append(proj(outline, -0.05))
        eye_lm.append(lm)
        band, blm = curves.brow(s, side, 12)
        brows.append(proj(band, 0.02))
        brow_lm.append(blm)
    nose_c, nose_lm = curves.nose(s)
    nose = proj(nose_c, _nose_extra(s, nose_c))
    mouth_c, inner_c, mouth_lm = curves.mouth(s, 17)
    mouth = proj(mouth_c, 0.08)
    mouth_inner = proj(inner_c, 0.05) if s.mouth_open > 0 else None

    jaw_lm = curves.jaw(s, 17)
    # iBUG eye order: image-left eye clockwise from its outer (left) corner; image-right eye clockwise from
    # its inner (left) corner: both start at the left corner, which is what _eye returns.
    canon = np.concatenate([jaw_lm, brow_lm[0], brow_lm[1], nose_lm, eye_lm[0], eye_lm[1], mouth_lm])
    canon = canon + s.jitter
    extra = np.zeros(N_LANDMARKS)
    extra[27:36] = _nose_extra(s, canon[27:36])
    extra[36:48] = -0.05
    extra[48:68] = 0.08
    landmarks = proj(canon, extra).astype(np.float32)

    named_c = {
        "forehead": np.array([0.0, -0.55 * s.hairline]),
        "cheek_left": np.array([-0.58, 0.5]),
        "cheek_right": np.array([0.58, 0.5]),
        "chin": np.array([0.0, s.chin_y - 0.15]),
        "nose_tip": np.array([0.0, s.nose_tip]),
        "neck_top": np.array([0.0, s.chin_y - 0.3]),
    }
    keys = list(named_c)
    pts = np.stack([named_c[k] for k in keys])
    pe = np.zeros(len(keys))
    pe[keys.index("nose_tip")] = s.nose_depth
    named_px = proj(pts, pe)
    points = dict(zip(keys, named_px, strict=True))

    # neck: a slightly tapered column from the jaw down past the image bottom, in image space
    up = landmarks[27] - landmarks[8]
    up = up / (np.linalg.norm(up) + 1e-9)
    down = -up
    side_v = np.array([-down[1], down[0]])
    neck_w = 0.6 * pose.scale
    top_c = project(pose, np.array([[0.0, s.jaw_y0 + 0.3]]), np.array([0.0]))[0]
    reach = 2.0 * image_height + 4 * pose.scale
    neck = np.array(
        [
            top_c - side_v * neck_w,
            top_c + side_v * neck_w,
            top_c + side_v * neck_w * 0.95 + down * reach,
            top_c - side_v * neck_w * 0.95 + down * reach,
        ]
    )
    shoulder_poly = None
    if shoulders:
        base = landmarks[8] + down * 0.45 * pose.scale
        sw = 1.1 * pose.scale
        shoulder_poly = np.array(
            [
                base - side_v * sw,
                base + side_v * sw,
                base + side_v * 4.0 * pose.scale + down * 1.0 * pose.scale,
                base + side_v * 4.0 * pose.scale + down * reach,
                base - side_v * 4.0 * pose.scale + down * reach,
                base - side_v * 4.0 * pose.scale + down * 1.0 * pose.scale,
            ]
        )
    return FaceGeometry(
        face=face,
        hairline=face[len(jaw_dense) :],
        head=head,
        ears=ears,
        neck=neck,
        shoulders=shoulder_poly,
        eyes=eyes,
        brows=brows,
        nose=nose,
        mouth=mouth,
        mouth_inner=mouth_inner,
        landmarks=landmarks,
        points=points,
        scale=pose.scale,
        up=up,
    )


def head_extent(s: FaceShape) -> tuple[float, float, float]:
    """Canonical extent of the head: (top y, bottom y, half width), used to fit the face into the image."""
    return -s.head_top, s.chin_y, max(s.head_w, 1.13)
