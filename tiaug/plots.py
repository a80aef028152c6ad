"""Figures of thermal datasets: fg/bg box plots and preview grids (PNG).

Figures are drawn with matplotlib's object API (``matplotlib.figure.Figure``, rendered by Agg), so they
work headless and never touch pyplot's global state or backend. They are saved whole-or-nothing (a temporary
file renamed when complete); an existing PNG is replaced.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from tiaug.analysis import FgBgStats
from tiaug.display import OCCLUDER_COLOUR, class_colour, colourbar_extend, robust_range
from tiaug.io.h5.atomic import PathLike, atomic_output


def _save(fig: Figure, path: PathLike, inputs: Sequence[PathLike] = (), overwrite: bool = True) -> None:
    with atomic_output(path, overwrite=overwrite, inputs=inputs) as tmp:
        fig.savefig(tmp, format="png", dpi=110, bbox_inches="tight")


def plot_fg_bg(
    stats: Sequence[FgBgStats], path: PathLike, inputs: Sequence[PathLike] = (), overwrite: bool = True
) -> None:
    """Box plots per file: pooled face (fg) and background (bg) pixel temperatures, and per-image fg - bg."""
    fig = Figure(figsize=(4 + 2.6 * len(stats), 4.6))
    ax_t, ax_d = fig.subplots(1, 2, gridspec_kw={"width_ratios": [2, 1.3]})
    labels = [s.label for s in stats]
    pos_fg = [3 * i for i in range(len(stats))]
    pos_bg = [3 * i + 1 for i in range(len(stats))]
    style = {"widths": 0.8, "patch_artist": True, "whis": (1, 99), "showfliers": False}
    b1 = ax_t.boxplot([s.fg_pixels for s in stats], positions=pos_fg, **style)
    b2 = ax_t.boxplot([s.bg_pixels for s in stats], positions=pos_bg, **style)
    for box in b1["boxes"]:
        box.set_facecolor("#f4a259")
    for box in b2["boxes"]:
        box.set_facecolor("#5b8fd9")
    ax_t.set_xticks([3 * i + 0.5 for i in range(len(stats))], labels, rotation=10)
    ax_t.set_ylabel("pixel temperature (°C), whiskers 1st-99th percentile")
    ax_t.legend([b1["boxes"][0], b2["boxes"][0]], ["foreground (face)", "background"], loc="best")
    ax_t.set_title("Foreground and background temperatures")

    ax_d.boxplot([s.diff[np.isfinite(s.diff)] for s in stats], widths=0.6)
    ax_d.axhline(0.0, color="k", lw=0.8, ls="--")
    names = [
        f"{s.label}\nfg warmer {100 * m['fg_warmer']:.0f}%\nface px < bg {100 * m['fg_colder_than_bg']:.0f}%"
        for s, m in ((s, s.summary()) for s in stats)
    ]
    ax_d.set_xticks(range(1, len(stats) + 1), names, fontsize=8)
    ax_d.set_ylabel("mean face - mean background per image (°C)")
    ax_d.set_title("Foreground minus background")
    fig.tight_layout()
    _save(fig, path, inputs, overwrite)


def find_polygons(obj: Any) -> list[np.ndarray]:
    """Every ``"polygon"`` (a list of [x, y] pixels, 2 points or more) in a nested JSON structure."""
    found: list[np.ndarray] = []
    if isinstance(obj, dict):
        for key, value in obj.items():
            if key == "polygon":
                try:
                    arr = np.asarray(value, dtype=np.float64)
                except (TypeError, ValueError):
                    arr = np.empty((0,))
                if arr.ndim == 2 and arr.shape[1] == 2 and len(arr) >= 2 and np.isfinite(arr).all():
                    found.append(arr)
                    continue
            found += find_polygons(value)
    elif isinstance(obj, list):
        for value in obj:
            found += find_polygons(value)
    return found


def plot_grid(
    images: np.ndarray,
    path: PathLike,
    *,
    masks: np.ndarray | None = None,
    polygons: Sequence[Sequence[np.ndarray]] | None = None,
    landmarks: np.ndarray | None = None,
    titles: Sequence[str] | None = None,
    classes: Sequence[str] = (),
    cols: int | None = None,
    cmap: str = "inferno",
    inputs: Sequence[PathLike] = (),
    overwrite: bool = True,
) -> None:
    """A grid of thermal images on one colour scale with a colour bar in °C, mask contours and occluders.

    images (K, H, W) degrees Celsius; masks (K, H, W) class indices; polygons: per image, a list of (P, 2)
    (x, y) pixel outlines; landmarks (K, L, 2) (x, y) pixels. The colour scale spans the 2nd to 98th
    percentile of all pixels (:func:`tiaug.display.robust_range`), so hot or cold occluders do not flatten the
    faces; pixels beyond it take the end colours (arrows on the colour bar). Mask contours are drawn in the
    class colours, occluders as white dashed outlines.
    """
    k = len(images)
    cols = cols or max(1, math.ceil(math.sqrt(k * 1.3)))
    rows = math.ceil(k / cols)
    h, w = images.shape[1:]
    cell = 3.0
    fig = Figure(figsize=(cell * cols * w / max(h, w) + 1.2, cell * rows * h / max(h, w) + 0.6))
    axes = fig.subplots(rows, cols, squeeze=False)
    vmin, vmax = robust_range(images)
    handles: dict[str, Any] = {}
    im = None
    for i, ax in enumerate(axes.flat):
        ax.set_axis_off()
        if i >= k:
            continue
        im = ax.imshow(images[i], cmap=cmap, vmin=vmin, vmax=vmax, interpolation="nearest")
        if masks is not None:
            for c in range(1, int(masks[i].max()) + 1):
                if (masks[i] == c).any():
                    colour = class_colour(c)
                    ax.contour(masks[i] == c, levels=[0.5], colors=[colour], linewidths=0.7)
                    name = classes[c] if c < len(classes) else f"class {c}"
                    handles.setdefault(name, Line2D([], [], color=colour, lw=1.5))
        for poly in polygons[i] if polygons is not None else []:
            closed = np.vstack([poly, poly[:1]]) if len(poly) > 2 else poly
            ax.plot(closed[:, 0], closed[:, 1], color=OCCLUDER_COLOUR, lw=1.1, ls=(0, (3, 2)))
            handles.setdefault("occluder", Line2D([], [], color=OCCLUDER_COLOUR, lw=1.5, ls=(0, (3, 2))))
        if landmarks is not None:
            ax.plot(landmarks[i][:, 0], landmarks[i][:, 1], ".", color="#ffffff", ms=1.5)
        ax.set_xlim(-0.5, w - 0.5)
        ax.set_ylim(h - 0.5, -0.5)
        if titles is not None:
            ax.set_title(titles[i], fontsize=8)
    if im is not None:
        bar = fig.colorbar(
            im, ax=axes.ravel().tolist(), fraction=0.03, pad=0.02, extend=colourbar_extend(images, vmin, vmax)
        )
        bar.set_label("temperature (°C)")
    if handles:
        fig.legend(
            handles.values(),
            handles.keys(),
            loc="lower center",
            ncol=min(len(handles), 7),
            fontsize=8,
            facecolor="#303030",
            labelcolor="#ffffff",
        )
    _save(fig, path, inputs, overwrite)
