"""Figures of samcl runs: training curves from ``metrics.csv`` (matplotlib, Agg backend, no display needed)."""

from __future__ import annotations

import csv
from pathlib import Path

from matplotlib.figure import Figure

from tiaug.io.atomic import atomic_output


def plot_training_curves(metrics_csv: str | Path, png: str | Path) -> None:
    """Loss (total, base, SAM-CL) and validation mIoU against the training step."""
    with Path(metrics_csv).open() as handle:
        rows = list(csv.DictReader(handle))
    fig = Figure(figsize=(10, 4))
    ax_loss, ax_miou = fig.subplots(1, 2)
    steps = [int(r["iteration"]) for r in rows]
    for key, label in (("loss", "total"), ("base_loss", "base"), ("samcl_loss", "SAM-CL")):
        values = [float(r[key]) for r in rows]
        if any(values):
            ax_loss.plot(steps, values, label=label)
    ax_loss.set_xlabel("step")
    ax_loss.set_ylabel("training loss")
    ax_loss.legend()
    ax_loss.set_title("Training loss")
    validated = [(int(r["iteration"]), float(r["val_miou"])) for r in rows if r.get("val_miou")]
    if validated:
        ax_miou.plot(*zip(*validated, strict=True), marker="o")
    ax_miou.set_xlabel("step")
    ax_miou.set_ylabel("validation mIoU")
    ax_miou.set_ylim(0, 1)
    ax_miou.set_title("Validation mIoU")
    fig.tight_layout()
    with atomic_output(png, overwrite=True) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
