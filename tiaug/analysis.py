"""Foreground/background temperature statistics of thermal datasets (the poster's box-plot analysis).

For every image: the mean temperature of the foreground (mask > 0, the face) and of the background
(mask == 0), in degrees Celsius, the fraction of face pixels colder than the background's mean (a cold
occluder, or a hot room), and a fixed-size sample of the pixels themselves. On data from controlled rooms the
face is warmer than the background in every image and hardly any face pixel is colder than the room; after
TiAug (or in real-world data) occluders from Tmin - span to Tmax + span spread the face's temperatures far
beyond the skin's, which the pooled pixel distributions, the spread of ``fg - bg`` and the colder fraction show.
Means rather than medians are used per image because a median ignores an occluder covering less than half of
the face.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tiaug.io.h5.atomic import PathLike
from tiaug.io.h5.reader import open_thermal
from tiaug.progress import ProgressCallback, reported

POOLED_PIXELS = 200_000  # pixels kept per file for the pooled distributions (memory stays flat)


@dataclass(frozen=True)
class FgBgStats:
    """Per-image statistics of one file, degrees Celsius.

    fg, bg: (N,) mean foreground / background temperature per image (NaN where an image has none);
    fg_colder: (N,) fraction of face pixels colder than the image's background mean;
    fg_pixels, bg_pixels: a regular-grid sample of the pixels of every image, pooled.
    """

    label: str
    fg: np.ndarray
    bg: np.ndarray
    fg_colder: np.ndarray
    fg_pixels: np.ndarray
    bg_pixels: np.ndarray

    @property
    def diff(self) -> np.ndarray:
        """Per-image foreground minus background mean, C."""
        return self.fg - self.bg

    def summary(self) -> dict[str, float | int | str]:
        """Means over images, the spread of fg - bg, how often the face is warmer, pooled pixel percentiles."""
        ok = np.isfinite(self.diff)
        d = self.diff[ok]

        def stat(func: Callable[[np.ndarray], float], values: np.ndarray) -> float:
            return float(func(values)) if values.size else float("nan")

        q25, q75 = np.percentile(d, [25, 75]) if d.size else (np.nan, np.nan)
        fg_p5, fg_p95 = np.percentile(self.fg_pixels, [5, 95]) if self.fg_pixels.size else (np.nan, np.nan)
        return {
            "file": self.label,
            "images": len(self.fg),
            "usable": int(ok.sum()),
            "fg_mean": stat(np.median, self.fg[ok]),
            "bg_mean": stat(np.median, self.bg[ok]),
            "diff_median": stat(np.median, d),
            "diff_iqr": float(q75 - q25),
            "fg_warmer": stat(lambda v: float(np.mean(v > 0)), d),
            "fg_colder_than_bg": stat(np.mean, self.fg_colder[ok]),
            "fg_p5": float(fg_p5),
            "fg_p95": float(fg_p95),
        }


def _grid_step(n_pixels: int, n_images: int) -> int:
    """Stride so that a regular grid of every image keeps about POOLED_PIXELS pixels over the file."""
    per_image = max(16, POOLED_PIXELS // max(n_images, 1))
    return max(1, int(np.sqrt(n_pixels / per_image)))


def fg_bg_stats(
    path: PathLike,
    *,
    batch_size: int = 64,
    label: str | None = None,
    progress: ProgressCallback | None = None,
) -> FgBgStats:
    """Stream a file with masks and return its per-image foreground/background statistics; ``progress(batches
    done, batches)`` after each batch."""
    fg, bg, colder, fg_pixels, bg_pixels = [], [], [], [], []
    with open_thermal(path, require_masks=True) as r:
        step = _grid_step(r.height * r.width, r.n)
        batches: Iterable = reported(r.iter_batches(batch_size), progress, math.ceil(r.n / batch_size))
        for b in batches:
            for image, mask in zip(b.images, b.masks, strict=True):
                face = mask > 0
                face_values, room_values = image[face], image[~face]
                fg_mean = float(face_values.mean()) if face_values.size else np.nan
                bg_mean = float(room_values.mean()) if room_values.size else np.nan
                fg.append(fg_mean)
                bg.append(bg_mean)
                colder.append(float(np.mean(face_values < bg_mean)) if np.isfinite(fg_mean - bg_mean) else np.nan)
                fg_pixels.append(image[::step, ::step][face[::step, ::step]])
                bg_pixels.append(image[::step, ::step][~face[::step, ::step]])
    return FgBgStats(
        label or Path(path).name,
        np.asarray(fg),
        np.asarray(bg),
        np.asarray(colder),
        np.concatenate(fg_pixels) if fg_pixels else np.empty(0, np.float32),
        np.concatenate(bg_pixels) if bg_pixels else np.empty(0, np.float32),
    )


def format_table(stats: Iterable[FgBgStats]) -> str:
    """A plain-text table of the summaries (temperatures in degrees Celsius)."""
    head = [
        "file",
        "images",
        "fg mean C",
        "bg mean C",
        "fg-bg C",
        "fg-bg IQR C",
        "fg warmer",
        "face px < bg",
        "fg p5..p95 C",
    ]
    rows = []
    for s in stats:
        m = s.summary()
        rows.append(
            [
                str(m["file"]),
                f"{m['images']}" + ("" if m["usable"] == m["images"] else f" ({m['usable']} usable)"),
                f"{m['fg_mean']:.2f}",
                f"{m['bg_mean']:.2f}",
                f"{m['diff_median']:+.2f}",
                f"{m['diff_iqr']:.2f}",
                f"{100 * m['fg_warmer']:.1f}%",
                f"{100 * m['fg_colder_than_bg']:.1f}%",
                f"{m['fg_p5']:.1f}..{m['fg_p95']:.1f}",
            ]
        )
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    lines = [
        "  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True)))
        for r in [head, *rows]
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
