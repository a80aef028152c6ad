"""Curves of the synthetic face in canonical units (1 = half the face width at the cheekbones, eye line y = 0).

Each returns points (K, 2) and, where it matters, an extra depth (K,) and the indices of the iBUG landmarks that
lie on the curve; :mod:`tiaug.synth.geometry` poses and projects them to pixels.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from tiaug.synth.geometry import FaceShape


def jaw(s: FaceShape, n: int) -> np.ndarray:
    """Jaw from the image-left end (jaw_y0) through the chin to the image-right end; n points."""
    t = np.linspace(0.0, np.pi, n)
    c = np.cos(t)
    x = -np.sign(c) * np.abs(c) ** s.jaw_square
    y = s.jaw_y0 + (s.chin_y - s.jaw_y0) * np.sin(t)
    return np.stack([x, y], axis=1)


def forehead(s: FaceShape, n: int, height: float, half_width: float = 1.0) -> np.ndarray:
    """Arc from the image-right jaw end over the top (y = -height) to the image-left end; n points."""
    t = np.linspace(0.0, np.pi, n)
    x = half_width * np.cos(t)
    y = s.jaw_y0 - (s.jaw_y0 + height) * np.sin(t) ** 0.8
    return np.stack([x, y], axis=1)


def eye(s: FaceShape, side: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Closed eye opening, clockwise from the image-left corner; side -1 = image left, +1 = image right.

    Returns the dense outline and the 6 landmarks in iBUG order.
    """
    cx = side * s.eye_dx
    left, right = cx - s.eye_w / 2, cx + s.eye_w / 2
    k = np.linspace(0.0, 1.0, n)
    # the upper lid peaks towards the inner corner, which is at the nose side
    warp = k**0.85 if side < 0 else 1 - (1 - k) ** 0.85
    up = np.stack([left + (right - left) * k, -s.eye_h_up * np.sin(np.pi * warp)], axis=1)
    lo = np.stack([right - (right - left) * k, s.eye_h_lo * np.sin(np.pi * (1 - warp))], axis=1)
    outline = np.concatenate([up, lo[1:-1]])

    def at(q: float, upper: bool) -> list[float]:
        w = q**0.85 if side < 0 else 1 - (1 - q) ** 0.85
        y = -s.eye_h_up * np.sin(np.pi * w) if upper else s.eye_h_lo * np.sin(np.pi * w)
        return [left + (right - left) * q, y]

    # clockwise (image coordinates, y down) from the image-left corner
    lm = np.array([[left, 0.0], at(1 / 3, True), at(2 / 3, True), [right, 0.0], at(2 / 3, False), at(1 / 3, False)])
    return outline, lm


def brow(s: FaceShape, side: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Brow band (closed) and its 5 upper-edge landmarks in iBUG order (image-left brow: outer to inner)."""
    k = np.linspace(0.0, 1.0, n)  # 0 = inner end, 1 = outer end
    x = side * (s.brow_inner + (s.brow_outer - s.brow_inner) * k)
    top = s.brow_y - s.brow_arch * np.sin(np.pi * k**0.7) + 0.05 * k**2
    thick = s.brow_thick * (1.0 - 0.4 * k)
    band = np.concatenate([np.stack([x, top], 1), np.stack([x, top + thick], 1)[::-1]])
    q = np.linspace(0.0, 1.0, 5)
    lx = side * (s.brow_inner + (s.brow_outer - s.brow_inner) * q)
    ly = s.brow_y - s.brow_arch * np.sin(np.pi * q**0.7) + 0.05 * q**2
    lm = np.stack([lx, ly], 1)
    if side < 0:
        lm = lm[::-1]  # 17 is the outer end of the image-left brow
    return band, lm


def nose(s: FaceShape) -> tuple[np.ndarray, np.ndarray]:
    """Nose outline (bridge and nostril wings) and its 9 landmarks (27-35)."""
    bottom = s.nose_tip + 0.08
    bw, nw = s.nose_bridge_w, s.nose_w
    top = -0.02
    right = np.array(
        [
            [bw, top],
            [bw * 1.8, s.nose_tip * 0.5],
            [bw * 2.6, s.nose_tip * 0.8],
            [nw * 0.85, s.nose_tip - 0.02],
            [nw, s.nose_tip + 0.03],
            [nw * 0.9, bottom - 0.02],
            [nw * 0.55, bottom],
            [nw * 0.2, bottom + 0.005],
        ]
    )
    left = right[::-1] * [-1, 1]
    outline = np.concatenate([right, [[0.0, bottom + 0.01]], left])
    lm = np.array(
        [
            [0.0, top],
            [0.0, s.nose_tip / 3],
            [0.0, 2 * s.nose_tip / 3],
            [0.0, s.nose_tip],
            [-nw * 0.85, bottom - 0.03],
            [-nw * 0.45, bottom],
            [0.0, bottom + 0.01],
            [nw * 0.45, bottom],
            [nw * 0.85, bottom - 0.03],
        ]
    )
    return outline, lm


def mouth(s: FaceShape, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Outer lip outline, inner lip opening (empty when closed) and the 20 lip landmarks (48-67)."""
    hw, my, op = s.mouth_hw, s.mouth_y, s.mouth_open

    def upper_outer(q: np.ndarray) -> np.ndarray:
        bow = 1.0 - 0.3 * np.exp(-(((q - 0.5) / 0.07) ** 2))
        return my - s.upper_lip * np.sin(np.pi * q) ** 0.6 * bow

    def lower_outer(q: np.ndarray) -> np.ndarray:
        return my + op * np.sin(np.pi * q) ** 0.8 + s.lower_lip * np.sin(np.pi * q) ** 0.7

    def upper_inner(q: np.ndarray) -> np.ndarray:
        return my - 0.01 * np.sin(np.pi * q)

    def lower_inner(q: np.ndarray) -> np.ndarray:
        return my + op * np.sin(np.pi * q) ** 0.8

    q = np.linspace(0.0, 1.0, n)
    x = -hw + 2 * hw * q
    outline = np.concatenate([np.stack([x, upper_outer(q)], 1), np.stack([x, lower_outer(q)], 1)[::-1][1:-1]])
    qi = np.linspace(0.1, 0.9, n)
    xi = -hw + 2 * hw * qi
    inner = np.concatenate([np.stack([xi, upper_inner(qi)], 1), np.stack([xi, lower_inner(qi)], 1)[::-1]])

    qo = np.array([1, 2, 3, 4, 5]) / 6
    qi5 = np.array([0.3, 0.5, 0.7])
    lm = np.concatenate(
        [
            [[-hw, my]],
            np.stack([-hw + 2 * hw * qo, upper_outer(qo)], 1),
            [[hw, my]],
            np.stack([-hw + 2 * hw * qo, lower_outer(qo)], 1)[::-1],
            [[-hw * 0.8, my]],
            np.stack([-hw + 2 * hw * qi5, upper_inner(qi5)], 1),
            [[hw * 0.8, my]],
            np.stack([-hw + 2 * hw * qi5, lower_inner(qi5)], 1)[::-1],
        ]
    )
    return outline, inner, lm
