"""Figures of samcl runs: training curves from ``metrics.csv`` (matplotlib, Agg backend, no display needed)."""

from __future__ import annotations

import csv
import math
import re
from pathlib import Path

from matplotlib.axes import Axes
from matplotlib.figure import Figure

from tiaug.io.h5.atomic import atomic_output

_SCALE_COLUMN = re.compile(r"d_pos_s(\d+)$")
_BANDIT_COLUMN = re.compile(r"bandit_([a-z]+)_([a-z]+)$")  # bandit_<factor>_<arm>: an arm's weight
_LINE_STYLES = ("-", "--", "-.", ":", (0, (5, 1, 1, 1, 1, 1)))


def _column(rows: list[dict[str, str]], key: str, positive: bool = False) -> list[float]:
    """Column ``key`` as floats: empty cells are NaN, and with ``positive`` so is every value <= 0 (log axes)."""
    values = [float(r[key]) if r.get(key) else math.nan for r in rows]
    return [v if v > 0 else math.nan for v in values] if positive else values


def _finish(ax: Axes, ylabel: str, title: str, log: bool = False) -> None:
    ax.set_xlabel("step")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    if log:
        ax.set_yscale("log")
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize="small")


#: How the curves name some loss columns; any other ``<name>_loss`` (a training add-on's) is labelled ``<name>``.
_LOSS_LABELS = {"loss": "total", "base_loss": "base", "samcl_loss": "SAM-CL"}


def _loss_columns(columns: list[str]) -> list[str]:
    """``loss``, ``base_loss`` and each add-on's ``<name>_loss`` among ``columns``, in order."""
    return [c for c in columns if c == "loss" or (c.endswith("_loss") and not c.startswith("grad_"))]


def _label(column: str) -> str:
    return _LOSS_LABELS.get(column, column.removesuffix("_loss"))


def _plot_losses(ax: Axes, steps: list[int], rows: list[dict[str, str]], columns: list[str]) -> None:
    for key in _loss_columns(columns):
        label = _label(key)
        values = _column(rows, key)
        if any(v != 0 and not math.isnan(v) for v in values):
            ax.plot(steps, values, label=label)
    _finish(ax, "training loss", "Training loss")


def _plot_miou(ax: Axes, rows: list[dict[str, str]]) -> None:
    validated = [(int(r["iteration"]), float(r["val_miou"])) for r in rows if r.get("val_miou")]
    if validated:
        ax.plot(*zip(*validated, strict=True), marker="o")
    ax.set_ylim(0, 1)
    _finish(ax, "validation mIoU", "Validation mIoU")


def _plot_samcl(
    axes: list[Axes], steps: list[int], rows: list[dict[str, str]], columns: list[str], scales: list[int]
) -> None:
    """Per-scale distances (log), fraction of active hinges per scale, gradient norms at the logits (log), lambda."""
    ax_dist, ax_active, ax_grad, ax_lam = axes
    for k in scales:
        (line,) = ax_dist.plot(steps, _column(rows, f"d_pos_s{k}", positive=True), label=f"d_pos s{k}")
        ax_dist.plot(
            steps, _column(rows, f"d_neg_s{k}", positive=True), "--", color=line.get_color(), label=f"d_neg s{k}"
        )
        ax_active.plot(steps, _column(rows, f"active_s{k}"), label=f"s{k}")
    _finish(ax_dist, "distance", "SAM-CL distances (solid d_pos, dashed d_neg)", log=True)
    ax_active.set_ylim(-0.05, 1.05)
    _finish(ax_active, "fraction of hinges > 0", "Active SAM-CL hinges")
    for key in (f"grad_{c}" for c in _loss_columns(columns) if f"grad_{c}" in columns):
        label = _label(key.removeprefix("grad_"))
        ax_grad.plot(steps, _column(rows, key, positive=True), marker=".", label=label)
    _finish(ax_grad, "gradient norm at the logits", "Gradient norms at the logits", log=True)
    ax_lam.plot(steps, _column(rows, "lam"))
    _finish(ax_lam, "lambda", "SAM-CL weight lambda")


def _plot_attack(axes: list[Axes], steps: list[int], rows: list[dict[str, str]], columns: list[str]) -> None:
    """The bandit's weights relative to uniform (1: an arm drawn as often as without the bandit; one line style per
    factor) and the worst-of-K attack's gain (per-sample loss of the trained draw minus that of draw 0)."""
    ax_bandit, ax_gain = axes
    arms = [(m.group(1), m.group(2), c) for c in columns if (m := _BANDIT_COLUMN.match(c))]
    factors = list(dict.fromkeys(factor for factor, _, _ in arms))
    for factor, arm, column in arms:
        n = sum(f == factor for f, _, _ in arms)
        style = _LINE_STYLES[factors.index(factor) % len(_LINE_STYLES)]
        ax_bandit.plot(steps, [v * n for v in _column(rows, column)], linestyle=style, label=f"{factor}: {arm}")
    ax_bandit.axhline(1.0, color="grey", linewidth=0.8, linestyle=":")
    _finish(ax_bandit, "weight / uniform weight", "What the network found hard (bandit weights)")
    if arms:
        ax_bandit.legend(fontsize="x-small", ncol=3)
    if "attack_gain" in columns:
        ax_gain.plot(steps, _column(rows, "attack_gain"))
    _finish(ax_gain, "loss gain", "Worst-of-K: trained draw vs draw 0")


def training_curves_figure(columns: list[str], rows: list[dict[str, str]]) -> Figure:
    """The figure of :func:`plot_training_curves` for ``metrics.csv``'s ``columns`` and ``rows``.

    Always the training losses (the total, the base loss, each add-on's term) and the validation mIoU; when the
    run has SAM-CL's per-scale columns (``d_pos_sK``, ``d_neg_sK``, ``active_sK``, ``grad_base_loss``,
    ``grad_samcl_loss``, ``lam``) also the distances per scale, the fraction of active hinges per scale, the
    gradient norms at the logits and lambda; with the self-adversarial augmentation (``bandit_*``,
    ``attack_gain``) a last row of its curves.
    """
    scales = sorted(int(m.group(1)) for c in columns if (m := _SCALE_COLUMN.match(c)))
    attack = any(c == "attack_gain" or _BANDIT_COLUMN.match(c) for c in columns)
    steps = [int(r["iteration"]) for r in rows]
    ncols, nrows = (3, 2) if scales else (2, 1)
    fig = Figure(figsize=(5 * ncols, 4 * (nrows + attack)))
    grid = fig.add_gridspec(nrows + attack, ncols)
    axes = [fig.add_subplot(grid[r, c]) for r in range(nrows) for c in range(ncols)]
    ax_loss, ax_miou = axes[:2]
    if scales:
        _plot_samcl(axes[2:], steps, rows, columns, scales)
    if attack:
        _plot_attack(
            [fig.add_subplot(grid[nrows, : ncols - 1]), fig.add_subplot(grid[nrows, -1])], steps, rows, columns
        )
    _plot_losses(ax_loss, steps, rows, columns)
    _plot_miou(ax_miou, rows)
    fig.tight_layout()
    return fig


def plot_training_curves(metrics_csv: str | Path, png: str | Path) -> None:
    """Write ``png``: the training curves of a run's ``metrics.csv`` (see :func:`training_curves_figure`)."""
    with Path(metrics_csv).open() as handle:
        reader = csv.DictReader(handle)
        rows = list(reader)
        columns = list(reader.fieldnames or [])
    fig = training_curves_figure(columns, rows)
    with atomic_output(png, overwrite=True) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
