"""Small OpenCV drawing helpers for the synthetic faces (sub-pixel polygons, Gaussian blobs, smooth noise).

Polygons go through the fixed-point conversion of TiAug's occluders (:func:`tiaug.functional.raster.to_fixed_point`).
"""

from __future__ import annotations

from collections.abc import Iterable

import cv2
import numpy as np

from tiaug.functional.raster import SUBPIXEL_BITS, to_fixed_point


def ellipse(centre: np.ndarray, rx: float, ry: float, up: np.ndarray | None = None, n: int = 24) -> np.ndarray:
    """Polygon (n, 2) of an ellipse: semi-axis ``rx`` across and ``ry`` along the unit vector ``up`` (x, y).

    Without ``up`` the ellipse is axis-aligned (``ry`` vertical).
    """
    up_v = np.array([0.0, -1.0]) if up is None else np.asarray(up, dtype=np.float64)
    side = np.array([-up_v[1], up_v[0]])
    t = np.linspace(0.0, 2 * np.pi, n, endpoint=False)
    return np.asarray(centre, dtype=np.float64) + np.outer(rx * np.cos(t), side) + np.outer(ry * np.sin(t), up_v)


def fill(canvas: np.ndarray, polys: Iterable[np.ndarray], value: float, factor: float = 1.0) -> None:
    """Fill polygons (each (K, 2) (x, y) pixels) into ``canvas`` in place with ``value``."""
    pts = [to_fixed_point(p, factor) for p in polys if p is not None and len(p) >= 3]
    if pts:
        cv2.fillPoly(canvas, pts, float(value), lineType=cv2.LINE_8, shift=SUBPIXEL_BITS)


def stroke(canvas: np.ndarray, line: np.ndarray, value: float, thickness: float) -> None:
    """Draw an open polyline of the given thickness (pixels) into ``canvas`` in place."""
    cv2.polylines(
        canvas,
        [to_fixed_point(line)],
        isClosed=False,
        color=float(value),
        thickness=max(1, round(thickness)),
        lineType=cv2.LINE_8,
        shift=SUBPIXEL_BITS,
    )


def polygon_mask(shape: tuple[int, int], polys: Iterable[np.ndarray]) -> np.ndarray:
    """Boolean (H, W) mask of the union of polygons."""
    m = np.zeros(shape, np.uint8)
    fill(m, polys, 1)
    return m.view(bool)


def add_blob(image: np.ndarray, x: float, y: float, sigma: float, amplitude: float) -> None:
    """Add an isotropic Gaussian of peak ``amplitude`` centred at pixel (x, y) to ``image`` in place.

    Only the window within 3.5 sigma is touched, so a blob costs little whatever the image size.
    """
    h, w = image.shape
    r = 3.5 * sigma
    x0, x1 = max(0, int(np.floor(x - r))), min(w, int(np.ceil(x + r)) + 1)
    y0, y1 = max(0, int(np.floor(y - r))), min(h, int(np.ceil(y + r)) + 1)
    if x0 >= x1 or y0 >= y1:
        return
    gx = np.exp(-((np.arange(x0, x1, dtype=np.float32) - x) ** 2) / (2 * sigma**2))
    gy = np.exp(-((np.arange(y0, y1, dtype=np.float32) - y) ** 2) / (2 * sigma**2))
    image[y0:y1, x0:x1] += np.float32(amplitude) * np.outer(gy, gx)


def blob_at(x: float, y: float, cx: float, cy: float, sigma: float) -> float:
    """Value of a unit-peak Gaussian centred at (cx, cy) at the point (x, y)."""
    return float(np.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * sigma**2)))


def sample(image: np.ndarray, x: float, y: float) -> float:
    """Nearest-pixel value at (x, y), clamped to the image."""
    h, w = image.shape
    return float(image[min(max(round(y), 0), h - 1), min(max(round(x), 0), w - 1)])


def smooth_noise(rng: np.random.Generator, shape: tuple[int, int], cells: tuple[int, int]) -> np.ndarray:
    """Smooth random field of ``shape`` (about unit scale): a (rows, cols) grid of standard normals upsampled.

    Cubic interpolation runs on a quarter-resolution canvas, then a linear upsampling to full size: six times
    cheaper than a full-size cubic resize and just as smooth at these grid sizes.
    """
    h, w = shape
    grid = rng.standard_normal(cells).astype(np.float32)
    small = cv2.resize(grid, (max(cells[1], w // 4), max(cells[0], h // 4)), interpolation=cv2.INTER_CUBIC)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)


def sensor_noise(rng: np.random.Generator, shape: tuple[int, int], sigma: float) -> np.ndarray:
    """Zero-mean pixel noise of standard deviation ``sigma``: the sum of two uniforms (triangular).

    Close enough to Gaussian NETD noise for a camera simulation and three times cheaper to draw.
    """
    noise = rng.random(shape, dtype=np.float32)
    noise += rng.random(shape, dtype=np.float32)
    noise -= np.float32(1.0)
    noise *= np.float32(sigma * np.sqrt(6.0))  # the sum of two U(0, 1) has variance 1/6
    return noise


def blur(image: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur with standard deviation ``sigma`` pixels (reflecting borders)."""
    if sigma <= 0:
        return image
    return cv2.GaussianBlur(image, (0, 0), sigmaX=float(sigma), borderType=cv2.BORDER_REFLECT)


def blurred_coarse(shape: tuple[int, int], factor: int, sigma_px: float, paint) -> np.ndarray:
    """Paint on a canvas ``factor`` times smaller, blur it by ``sigma_px`` full-resolution pixels, upsample.

    ``paint(canvas, scale)`` draws into the small float32 canvas (``scale`` = 1 / factor). Low-frequency heat
    patterns cost almost nothing this way.
    """
    h, w = shape
    small = np.zeros((max(1, -(-h // factor)), max(1, -(-w // factor))), np.float32)
    paint(small, 1.0 / factor)
    small = blur(small, sigma_px / factor)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
