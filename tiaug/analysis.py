"""Foreground/background temperature statistics of thermal datasets (the poster's box-plot analysis).

For every image: the median temperature of the foreground (mask > 0, the face) and of the background
(mask == 0), in degrees Celsius. On data from controlled rooms the face is warmer than the background in
nearly every image; after TiAug (or in real-world data) the relation is more diverse, which the spread of
``fg - bg`` and the fraction of images with a warmer face show.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tiaug.io.atomic import PathLike
from tiaug.io.h5 import open_thermal


@dataclass(frozen=True)
class FgBgStats:
    """Per-image median temperatures (N,) in degrees Celsius; NaN where an image has no fg or no bg pixel."""

    label: str
    fg: np.ndarray
    bg: np.ndarray

    @property
    def diff(self) -> np.ndarray:
        """Per-image foreground minus background median, C."""
        return self.fg - self.bg

    def summary(self) -> dict[str, float | int | str]:
        """Medians over images, the spread of fg - bg and the fraction of images whose face is warmer."""
        ok = np.isfinite(self.diff)
        d = self.diff[ok]
        q25, q75 = np.percentile(d, [25, 75]) if len(d) else (np.nan, np.nan)
        return {
            "file": self.label,
            "images": len(self.fg),
            "usable": int(ok.sum()),
            "fg_median": float(np.median(self.fg[ok])) if len(d) else float("nan"),
            "bg_median": float(np.median(self.bg[ok])) if len(d) else float("nan"),
            "diff_median": float(np.median(d)) if len(d) else float("nan"),
            "diff_iqr": float(q75 - q25),
            "fg_warmer": float(np.mean(d > 0)) if len(d) else float("nan"),
        }


def _median_where(values: np.ndarray, where: np.ndarray) -> float:
    sel = values[where]
    return float(np.median(sel)) if sel.size else float("nan")


def fg_bg_stats(
    path: PathLike,
    *,
    batch_size: int = 64,
    label: str | None = None,
    progress: Callable[[Iterable], Iterable] | None = None,
) -> FgBgStats:
    """Stream a file with masks and return its per-image foreground/background medians."""
    fg, bg = [], []
    with open_thermal(path, require_masks=True) as r:
        batches: Iterable = r.iter_batches(batch_size)
        if progress is not None:
            batches = progress(batches)
        for b in batches:
            for image, mask in zip(b.images, b.masks, strict=True):
                face = mask > 0
                fg.append(_median_where(image, face))
                bg.append(_median_where(image, ~face))
    return FgBgStats(label or Path(path).name, np.asarray(fg), np.asarray(bg))


def format_table(stats: Iterable[FgBgStats]) -> str:
    """A plain-text table of the summaries (temperatures in degrees Celsius)."""
    head = ["file", "images", "fg median C", "bg median C", "fg-bg C", "fg-bg IQR C", "fg warmer"]
    rows = []
    for s in stats:
        m = s.summary()
        rows.append(
            [
                str(m["file"]),
                f"{m['images']}" + ("" if m["usable"] == m["images"] else f" ({m['usable']} usable)"),
                f"{m['fg_median']:.2f}",
                f"{m['bg_median']:.2f}",
                f"{m['diff_median']:+.2f}",
                f"{m['diff_iqr']:.2f}",
                f"{100 * m['fg_warmer']:.1f}%",
            ]
        )
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    lines = [
        "  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True)))
        for r in [head, *rows]
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
