"""Per-frame region statistics: how many pixels each predicted class covers, and their mean, maximum, minimum
and chosen percentiles of temperature, the numbers physiological sensing reads from a segmented thermal face (the
warmest eye pixels approximate the inner eye corners, the nose's mean follows the nose tip's cooling, a nostril's
minimum or low percentile follows breathing).

``region_statistics(image, labels, n, percentiles)`` gives an (n, 4 + len(percentiles)) array; :class:`RegionsCSV`
writes one row per frame: ``source, frame, output, timestamp, <class>_pixels, <class>_mean_c, <class>_max_c,
<class>_min_c[, <class>_p5_c, ...], ...`` (degrees Celsius, empty where a class is absent; ``timestamp`` in
seconds), each batch of rows written in one piece and flushed, so an interrupted run leaves only whole rows.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

STATISTICS = ("pixels", "mean_c", "max_c", "min_c")


def parse_percentiles(text: str | None) -> tuple[float, ...]:
    """``"5,50,95"`` -> (5.0, 50.0, 95.0); ValueError naming a value outside 0..100 or not a number."""
    if not text:
        return ()
    values = []
    for part in text.split(","):
        try:
            value = float(part)
        except ValueError:
            raise ValueError(f"--percentiles: {part.strip()!r} is not a number (give e.g. 5,50,95)") from None
        if not 0 <= value <= 100:
            raise ValueError(f"--percentiles: {value:g} is outside 0..100")
        values.append(value)
    return tuple(dict.fromkeys(values))


def _percentile_name(q: float) -> str:
    return f"p{q:g}_c".replace(".", "_")


def region_statistics(
    image: np.ndarray, labels: np.ndarray, num_classes: int, percentiles: tuple[float, ...] = ()
) -> np.ndarray:
    """(num_classes, 4 + len(percentiles)) float64: pixel count, then mean, max, min and the ``percentiles``
    (0..100) of the temperature (degrees Celsius) of each class.

    ``image`` (H, W) degrees Celsius, ``labels`` (H, W) class indices; labels >= ``num_classes`` are ignored.
    Temperatures are NaN for classes without pixels.
    """
    flat_labels = np.asarray(labels).ravel().astype(np.intp, copy=False)
    flat_image = np.asarray(image, dtype=np.float64).ravel()
    if flat_labels.shape != flat_image.shape:
        raise ValueError(f"labels {np.shape(labels)} and image {np.shape(image)} differ in shape")
    counts = np.bincount(flat_labels, minlength=num_classes)[:num_classes]
    sums = np.bincount(flat_labels, weights=flat_image, minlength=num_classes)[:num_classes]
    out = np.full((num_classes, len(STATISTICS) + len(percentiles)), np.nan)
    out[:, 0] = counts
    present = np.flatnonzero(counts)
    out[present, 1] = sums[present] / counts[present]
    for c in present:
        values = flat_image[flat_labels == c]
        out[c, 2], out[c, 3] = values.max(), values.min()
        if percentiles:
            out[c, 4:] = np.percentile(values, percentiles)
    return out


def _celsius(value: float) -> str:
    return "" if np.isnan(value) else f"{value:.3f}"


def column_names(classes: Sequence[str], percentiles: tuple[float, ...] = ()) -> list[str]:
    """The CSV header for ``classes`` (and the ``percentiles`` columns of each)."""
    safe = [re.sub(r"\W+", "_", c.strip().lower()) or f"class{i}" for i, c in enumerate(classes)]
    statistics = [*STATISTICS, *map(_percentile_name, percentiles)]
    return ["source", "frame", "output", "timestamp"] + [f"{c}_{s}" for c in safe for s in statistics]


class RegionsCSV:
    """One CSV row of region statistics per frame; created on the first rows (``mode`` "w" or "x")."""

    def __init__(
        self, path: str | Path, classes: Sequence[str], *, overwrite: bool = False, percentiles: tuple[float, ...] = ()
    ) -> None:
        self.path = Path(path)
        self.classes = tuple(classes)
        self.percentiles = tuple(percentiles)
        self.mode = "w" if overwrite else "x"
        self.rows = 0
        self._file: Any = None

    def add(self, rows: Sequence[tuple[str, int, str, float | str | None, np.ndarray, np.ndarray]]) -> None:
        """Write rows of (source, frame, output name, timestamp, image, labels) in one piece and flush."""
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        if self._file is None:
            writer.writerow(column_names(self.classes, self.percentiles))
        for source, frame, output, stamp, image, labels in rows:
            stats = region_statistics(image, labels, len(self.classes), self.percentiles)
            cells = [[str(int(row[0])), *map(_celsius, row[1:])] for row in stats]
            stamp = f"{stamp:.6f}" if isinstance(stamp, float) else (stamp or "")
            writer.writerow([source, frame, output, stamp, *(c for per_class in cells for c in per_class)])
        if self._file is None:
            self._file = open(self.path, self.mode, encoding="utf-8", newline="")  # noqa: SIM115 - closed in close()
        self._file.write(buffer.getvalue())
        self._file.flush()
        self.rows += len(rows)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def __enter__(self) -> RegionsCSV:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def read_regions_csv(path: str | Path) -> list[dict[str, str]]:
    """The rows of a regions CSV as dicts (header names as keys)."""
    with open(path, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))
