"""Per-frame region statistics: how many pixels each predicted class covers, and their mean and maximum
temperature, the numbers physiological sensing reads from a segmented thermal face (the warmest eye pixels
approximate the inner eye corners, the nose's mean follows the nose tip's cooling).

``region_statistics(image, labels, n)`` gives a (n, 3) array; :class:`RegionsCSV` writes one row per frame:
``source, frame, output, timestamp, <class>_pixels, <class>_mean_c, <class>_max_c, ...`` (degrees Celsius,
empty where a class is absent), each batch of rows written in one piece and flushed, so an interrupted run
leaves only whole rows.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

STATISTICS = ("pixels", "mean_c", "max_c")


def region_statistics(image: np.ndarray, labels: np.ndarray, num_classes: int) -> np.ndarray:
    """(num_classes, 3) float64: pixel count, mean and max temperature (degrees Celsius) of each class.

    ``image`` (H, W) degrees Celsius, ``labels`` (H, W) class indices; labels >= ``num_classes`` are ignored.
    Mean and max are NaN for classes without pixels.
    """
    flat_labels = np.asarray(labels).ravel().astype(np.intp, copy=False)
    flat_image = np.asarray(image, dtype=np.float64).ravel()
    if flat_labels.shape != flat_image.shape:
        raise ValueError(f"labels {np.shape(labels)} and image {np.shape(image)} differ in shape")
    counts = np.bincount(flat_labels, minlength=num_classes)[:num_classes]
    sums = np.bincount(flat_labels, weights=flat_image, minlength=num_classes)[:num_classes]
    out = np.full((num_classes, 3), np.nan)
    out[:, 0] = counts
    present = np.flatnonzero(counts)
    out[present, 1] = sums[present] / counts[present]
    for c in present:
        out[c, 2] = flat_image[flat_labels == c].max()
    return out


def _celsius(value: float) -> str:
    return "" if np.isnan(value) else f"{value:.3f}"


def column_names(classes: Sequence[str]) -> list[str]:
    """The CSV header for ``classes``."""
    safe = [re.sub(r"\W+", "_", c.strip().lower()) or f"class{i}" for i, c in enumerate(classes)]
    return ["source", "frame", "output", "timestamp"] + [f"{c}_{s}" for c in safe for s in STATISTICS]


class RegionsCSV:
    """One CSV row of region statistics per frame; created on the first rows (``mode`` "w" or "x")."""

    def __init__(self, path: str | Path, classes: Sequence[str], *, overwrite: bool = False) -> None:
        self.path = Path(path)
        self.classes = tuple(classes)
        self.mode = "w" if overwrite else "x"
        self.rows = 0
        self._file: Any = None

    def add(self, rows: Sequence[tuple[str, int, str, str | None, np.ndarray, np.ndarray]]) -> None:
        """Write rows of (source, frame, output name, timestamp, image, labels) in one piece and flush."""
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        if self._file is None:
            writer.writerow(column_names(self.classes))
        for source, frame, output, stamp, image, labels in rows:
            stats = region_statistics(image, labels, len(self.classes))
            cells = [[str(int(n)), _celsius(mean), _celsius(peak)] for n, mean, peak in stats]
            writer.writerow([source, frame, output, stamp or "", *(c for triple in cells for c in triple)])
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
