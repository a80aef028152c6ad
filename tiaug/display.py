"""Colours and colour ranges shared by every picture of the toolkit (``tiaug preview``, ``samcl-predict``).

No matplotlib import: the class colours also colour-code mask PNGs, which need only numpy.

- Class ``c >= 1`` (skin, mouth, eyes, eyebrows, nose, ...) has ``class_colour(c)``: saturated hues that stay
  visible as outlines on the inferno thermal colour map and tell the classes apart in an opaque class map.
- Occluder outlines are white and dashed, unlike every class colour.
- ``robust_range``: the temperature range of a colour scale from percentiles, so that a few very hot or very
  cold pixels (occluders, a cup of coffee) do not flatten the face.
"""

from __future__ import annotations

import numpy as np

#: Colours of classes 1, 2, ... (skin, mouth, eyes, eyebrows, nose, then repeating).
CLASS_COLOURS = ("#00e5ff", "#76ff03", "#2962ff", "#ff4081", "#d500f9", "#ffea00", "#b388ff")
#: Background (class 0) in an opaque class map.
BACKGROUND_COLOUR = "#1e1e1e"
#: Occluder outlines (dashed): white, far from every class colour.
OCCLUDER_COLOUR = "#ffffff"
#: Default percentiles of :func:`robust_range`.
ROBUST_PERCENTILES = (2.0, 98.0)


def class_colour(index: int) -> str:
    """Colour of class ``index`` (0: the background's, 1: skin, ...) as ``#rrggbb``."""
    if index < 0:
        raise ValueError(f"class index must be >= 0, got {index}")
    return BACKGROUND_COLOUR if index == 0 else CLASS_COLOURS[(index - 1) % len(CLASS_COLOURS)]


def _rgb(colour: str) -> tuple[int, int, int]:
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


def class_palette(size: int = 256) -> np.ndarray:
    """(size, 3) uint8 RGB colour of every class index (index 0 = background); ``palette[mask]`` colours a mask."""
    return np.array([_rgb(class_colour(i)) for i in range(size)], dtype=np.uint8)


def robust_range(
    images: np.ndarray, percentiles: tuple[float, float] = ROBUST_PERCENTILES, min_span: float = 1.0
) -> tuple[float, float]:
    """(vmin, vmax) degrees Celsius of a colour scale: the given percentiles of the finite pixels of ``images``.

    A span smaller than ``min_span`` (a near-constant image) is widened around its middle to ``min_span``.
    """
    values = np.asarray(images, dtype=np.float64)
    values = values[np.isfinite(values)]
    if values.size == 0:
        raise ValueError("no finite temperatures to set a colour range from")
    low, high = (float(v) for v in np.percentile(values, percentiles))
    if high - low < min_span:
        middle = (low + high) / 2
        low, high = middle - min_span / 2, middle + min_span / 2
    return low, high


def colourbar_extend(images: np.ndarray, vmin: float, vmax: float) -> str:
    """matplotlib's ``extend`` of a colour bar: arrows at the ends beyond which some pixels lie."""
    below, above = bool((np.asarray(images) < vmin).any()), bool((np.asarray(images) > vmax).any())
    return {(False, False): "neither", (True, False): "min", (False, True): "max"}.get((below, above), "both")
