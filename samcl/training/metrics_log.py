"""``metrics.csv``: which columns a run logs, their means over each logging interval, and the file itself.

Columns: ``iteration``; the loss terms (``loss`` the total, ``base_loss``, ``<name>_loss`` of each add-on),
means over the interval's steps; the gradient norm each term sends to the logits (``grad_base_loss``,
``grad_<name>_loss``), the log step's own; each add-on's metrics (e.g. SAM-CL's ``lam``, ``d_pos_sK``,
``d_neg_sK``, ``active_sK``), means over the steps where they are finite (NaN when none is); ``lr``,
``images_per_s``; at validation steps ``val_miou``, ``val_pixel_accuracy`` and ``iou_<class>``.
"""

from __future__ import annotations

import csv
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from samcl.training.addons import TrainingAddon


@dataclass(frozen=True)
class StepColumns:
    """The per-step values a run logs: ``losses`` (interval means), ``gradients`` (the log step's own) and
    ``metrics`` (interval means over finite values)."""

    losses: tuple[str, ...] = ("loss", "base_loss")
    gradients: tuple[str, ...] = ("grad_base_loss",)
    metrics: tuple[str, ...] = ()

    @classmethod
    def of(cls, addons: Sequence[TrainingAddon]) -> StepColumns:
        """The columns of a run with these add-ons."""
        terms = ("base_loss", *(f"{addon.name}_loss" for addon in addons if addon.adds_loss))
        metrics = tuple(name for addon in addons for name in addon.metric_names)
        return cls(("loss", *terms), tuple(f"grad_{term}" for term in terms), metrics)


class IntervalStats:
    """Means of the training step outputs over one logging interval, and its images/s."""

    def __init__(self, columns: StepColumns) -> None:
        self.columns = columns
        self.steps = 0
        self.started = time.perf_counter()
        self.sums: dict[str, float] = dict.fromkeys(columns.losses, 0.0)
        self.metrics: dict[str, list[float]] = {key: [] for key in columns.metrics}
        self.last: dict[str, float] = {}

    def add(self, outputs: dict[str, Any]) -> None:
        self.steps += 1
        for key in self.sums:
            self.sums[key] += float(outputs[key].detach())
        for key, values in self.metrics.items():
            if key in outputs:
                values.append(float(torch.as_tensor(outputs[key]).detach()))
        self.last = {key: float(outputs[key]) for key in self.columns.gradients if key in outputs}

    def summary(self, images_per_step: int) -> dict[str, float]:
        elapsed = time.perf_counter() - self.started
        out = {key: total / max(self.steps, 1) for key, total in self.sums.items()}
        out["images_per_s"] = self.steps * images_per_step / max(elapsed, 1e-9)
        for key, values in self.metrics.items():
            finite = [v for v in values if math.isfinite(v)]
            out[key] = sum(finite) / len(finite) if finite else math.nan
        return {**out, **self.last}


class MetricsLog:
    """``metrics.csv``, appended row by row; on resume, rows after the resumed step are dropped."""

    def __init__(self, path: Path, classes: Sequence[str], columns: StepColumns, keep_until: int = 0) -> None:
        self.path = path
        self.columns = [
            "iteration",
            *columns.losses,
            *columns.gradients,
            *columns.metrics,
            "lr",
            "images_per_s",
            "val_miou",
            "val_pixel_accuracy",
            *(f"iou_{name}" for name in classes),
        ]
        kept = []
        if keep_until > 0 and path.exists():
            with path.open() as handle:
                kept = [row for row in csv.DictReader(handle) if int(row["iteration"]) <= keep_until]
        with path.open("w", newline="") as handle:
            writer = csv.DictWriter(handle, self.columns)
            writer.writeheader()
            writer.writerows(kept)

    def write(self, row: dict[str, Any]) -> None:
        with self.path.open("a", newline="") as handle:
            csv.DictWriter(handle, self.columns, extrasaction="ignore").writerow(row)
