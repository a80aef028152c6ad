"""The robustness benchmark's statistics and report (``benchmarks/robustness.py`` runs the trainings): the plateau
check of a validation curve, paired differences with t-intervals, results.md and robustness.png."""

from __future__ import annotations

import argparse
import json
import math
import shlex
import statistics
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # tiaug and samcl from this checkout

from tiaug.synth.conditions import CONDITIONS  # noqa: E402

if TYPE_CHECKING:
    from robustness import Size

#: Two-sided 95 % quantiles of Student's t by degrees of freedom (1.96 beyond).
T_975 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306, 9: 2.262}
CLASS_FLOOR = 0.05  # a run whose clean test IoU of any class is below this has lost that class
PLATEAU_POINTS = 1.0  # a curve is flat when val mIoU moves by less than this (points) over the last third


def run_key(run: dict[str, Any]) -> tuple[str, tuple[str, ...], int]:
    """(network, recipe flags, seed): what makes a recorded run the same as one to train."""
    return run["model"], tuple(run["flags"]), run["seed"]


def read_results(path: str) -> dict[str, Any]:
    """An earlier ``results.json`` of robustness.py (``--reuse``): its ``size`` (with ``iters``) and ``runs`` (each
    with a :func:`run_key`); a file that is not one is refused in one line (SystemExit)."""
    try:
        recorded = json.loads(Path(path).read_text())
        int(recorded["size"]["iters"])
        for run in recorded["runs"]:
            run_key(run)
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise SystemExit(f"Error: --reuse {path}: not a results.json of robustness.py ({error!r})") from None
    return recorded


def last_third(curve: list[tuple[int, float]], iters: int) -> list[tuple[int, float]]:
    """The (step, val mIoU) validations in the last third of the steps."""
    return [(step, v) for step, v in curve if step >= iters * 2 / 3]


def plateau_range(curve: list[tuple[int, float]], iters: int) -> float:
    """Max - min of val mIoU (points) over the validations in the last third of the steps."""
    tail = [v for _, v in last_third(curve, iters)]
    return 100 * (max(tail) - min(tail)) if len(tail) > 1 else float("nan")


def plateau_trend(curve: list[tuple[int, float]], iters: int) -> float:
    """How far val mIoU moves (points) over the last third of the steps: the least-squares line through its
    validations, evaluated across that third. Unlike the range, one noisy validation does not dominate it."""
    tail = last_third(curve, iters)
    if len(tail) < 2:
        return float("nan")
    slope = np.polyfit([s for s, _ in tail], [v for _, v in tail], 1)[0]
    return 100 * float(slope) * iters / 3


# -- statistics and reports ---------------------------------------------------------------------------------
def hinge_activity(rows: list[dict[str, str]], iters: int) -> list[float] | None:
    """Mean share (0-1) of SAM-CL's triplet hinges still active (``active_sK`` of metrics.csv, averaged over the
    scales) in each third of the ``iters`` steps (NaN for a third without a logged value); None for a run
    without SAM-CL."""
    columns = [name for name in (rows[0] if rows else {}) if name.startswith("active_s")]
    if not columns:
        return None
    thirds: list[list[float]] = [[], [], []]
    for row in rows:
        values = [float(row[name]) for name in columns if row[name]]
        values = [value for value in values if math.isfinite(value)]
        if values:
            thirds[min(2, (int(row["iteration"]) - 1) * 3 // iters)].append(statistics.fmean(values))
    return [statistics.fmean(third) if third else math.nan for third in thirds]


def mean_std(values: list[float]) -> tuple[float, float]:
    return statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else 0.0


def paired_interval(diffs: list[float]) -> tuple[float, float, float]:
    """Mean of paired differences and its 95 % t-interval (lo, hi); NaN bounds for one pair."""
    mean, std = mean_std(diffs)
    if len(diffs) < 2:
        return mean, float("nan"), float("nan")
    half = T_975.get(len(diffs) - 1, 1.96) * std / math.sqrt(len(diffs))
    return mean, mean - half, mean + half


def condition_mean(run: dict[str, Any]) -> float:
    """Mean mIoU over the single-condition test sets."""
    return statistics.fmean(run["scores"][c]["miou"] for c in CONDITIONS)


def label(run: dict[str, Any]) -> str:
    """A run's row in the tables: its recipe, prefixed by its network when several are compared."""
    return run.get("label", run["recipe"])


def baseline_label(run: dict[str, Any], baseline: str) -> str:
    """The row a run's paired difference is taken against: the baseline recipe of the same network."""
    return f"{run['model']}: {baseline}" if ": " in label(run) else baseline


def column_values(runs: list[dict[str, Any]], recipe: str, column: str) -> dict[int, float]:
    """{seed: mIoU (points)} of a table row (see :func:`label`) for a test set, or for 'conditions' (their mean)."""
    out = {}
    for r in runs:
        if label(r) == recipe:
            value = condition_mean(r) if column == "conditions" else r["scores"][column]["miou"]
            out[r["seed"]] = 100 * value
    return out


def paired_table(
    runs: list[dict[str, Any]], pairs: list[tuple[str, str]], columns: list[str], seeds: list[int], title: str
) -> list[str]:
    """Markdown rows of paired differences (row - baseline, same seed), mean [95 % t-interval]."""
    lines = [
        "",
        f"{title} (mIoU points, same seed and network), mean [95 % t-interval over the seeds both rows have, up to "
        f"{len(seeds)}]:",
        "",
        "| recipe | vs | " + " | ".join(columns) + " |",
        "|---|---|" + "---:|" * len(columns),
    ]
    for recipe, baseline in pairs:
        cells = []
        for column in columns:
            base, other = column_values(runs, baseline, column), column_values(runs, recipe, column)
            mean, lo, hi = paired_interval([other[s] - base[s] for s in seeds if s in base and s in other])
            cells.append(f"{mean:+.1f} [{lo:+.1f}, {hi:+.1f}]" if math.isfinite(lo) else f"{mean:+.1f} (1 seed)")
        lines.append(f"| {recipe} | {baseline} | " + " | ".join(cells) + " |")
    return lines


def trains_at_own_width(model: str) -> bool:
    """Whether ``model`` trains at its own width, not the size's ``base_width``: the networks that take none (the
    heavy ones and ``smp:`` models, read from the registry) and ``live``, whose width is part of its design."""
    from samcl.models.registry import has_base_width  # lazy: importing this module needs no torch

    return model == "live" or not has_base_width(model)


def write_reports(
    out: Path, runs: list[dict[str, Any]], size: Size, args: argparse.Namespace, wall: float, missing: int = 0
) -> str:
    """results.md and robustness.png; returns the markdown. ``missing``: requested runs not trained yet (a
    ``--report-only`` pass), said at the top."""
    recipes = list(dict.fromkeys(label(r) for r in runs))
    models = list(dict.fromkeys(r.get("model", args.models[0]) for r in runs))
    seeds = sorted({r["seed"] for r in runs})
    columns = ["clean", *CONDITIONS, "conditions", "mixed"]
    own_width = [m for m in models if trains_at_own_width(m)]
    width = f"base width {size.base_width}" + (f" ({' / '.join(own_width)}: its own default)" if own_width else "")
    lines = [
        f"# Robustness on synthetic thermal faces ({size.name} size)",
        "",
        *[
            f"**Incomplete: {missing} of the requested runs are not trained yet**; what follows is the runs that are.",
            "",
        ]
        * bool(missing),
        f"Command: `python benchmarks/robustness.py {shlex.join(args.argv)}`  ",
        f"Device: {args.device_name}; wall time {wall / 60:.1f} min.  ",
        f"Data: `tiaug synth`, {size.height}x{size.width} px, {size.n_train} training / {size.n_val} validation "
        f"faces; {size.n_test} test faces, clean and under each condition alone (same faces).  ",
        f"Training: `samcl-train --model {' / '.join(models)}`, {width}, {size.iters} steps of "
        f"batch {size.batch_size}, lr {size.lr} (SGD, poly), best checkpoint by validation mIoU; seeds {seeds}.",
        *reused_note(runs),
        "",
        "mIoU (%) over 6 classes, mean ± standard deviation over seeds (`conditions`: the mean over the 8 "
        "single-condition test sets; `mixed`: the `--unconstrained` test set):",
        "",
        "| recipe | " + " | ".join(columns) + " |",
        "|---|" + "---:|" * len(columns),
    ]
    for recipe in recipes:
        cells = []
        for column in columns:
            values = list(column_values(runs, recipe, column).values())
            m, s = mean_std(values)
            spread = f"± {s:.1f}" if len(values) > 1 else "(1 seed)"
            cells.append(f"**{m:.1f}** {spread}" if column == "conditions" else f"{m:.1f} {spread}")
        lines.append(f"| {recipe} | " + " | ".join(cells) + " |")
    first = {label(r): r for r in runs}
    pairs = [(row, baseline_label(first[row], args.baseline)) for row in recipes]
    pairs = [(row, base) for row, base in pairs if row != base and base in first]
    if pairs:
        lines += paired_table(runs, pairs, columns, seeds, f"Paired difference to **{args.baseline}**")
    extra = [(row, base) for row, base in args.compare if row in first and base in first]
    if extra:
        lines += paired_table(runs, extra, columns, seeds, "Paired difference of each recipe to the one it adds to")
    lines += [
        "",
        f"Plateau check over the last third of the steps, worst seed: the trend (least-squares line "
        f"through the validations, points moved across that third; flat if within ±{PLATEAU_POINTS:g}) and "
        "the range (max - min, which one noisy validation of 100 faces can dominate); then the mean "
        "validation curve:",
        "",
        "| recipe | best val mIoU | last-third trend | last-third range | flat | validation mIoU (%) at steps |",
        "|---|---:|---:|---:|---|---|",
    ]
    for recipe in recipes:
        group = [r for r in runs if label(r) == recipe]
        trend = max((plateau_trend(r["curve"], size.iters) for r in group), key=abs)
        worst = max(r["plateau_range"] for r in group)
        steps = [step for step, _ in group[0]["curve"]]
        curve = [statistics.fmean(dict(r["curve"]).get(s, float("nan")) for r in group) for s in steps]
        shown = ", ".join(f"{s}: {100 * v:.1f}" for s, v in zip(steps, curve, strict=True))
        flat = "yes" if abs(trend) < PLATEAU_POINTS else "NO"
        best = mean_std([100 * max(v for _, v in r["curve"]) for r in group])
        lines.append(f"| {recipe} | {best[0]:.1f} ± {best[1]:.1f} | {trend:+.2f} | {worst:.2f} | {flat} | {shown} |")
    lines += hinge_table(runs, recipes)
    lines += class_loss_table(runs, recipes)
    text = "\n".join(lines) + "\n"
    (out / "results.md").write_text(text)
    plot(out / "robustness.png", runs, recipes, columns)
    return text


def hinge_table(runs: list[dict[str, Any]], recipes: list[str]) -> list[str]:
    """Markdown rows: per recipe with SAM-CL, the share of its hinges still active in each third of the steps
    (mean over seeds), i.e. how long the triplet loss kept sending gradient; empty when no run has SAM-CL."""
    rows = []
    for recipe in recipes:
        spans = [r["active_hinges"] for r in runs if label(r) == recipe and r.get("active_hinges")]
        if spans:
            shares = [statistics.fmean(seed[k] for seed in spans) for k in range(3)]
            rows.append(f"| {recipe} | {len(spans)} | " + " | ".join(f"{100 * v:.1f}" for v in shares) + " |")
    if not rows:
        return []
    return [
        "",
        "SAM-CL's triplet hinges still active (%, mean over scales, steps and seeds) in each third of the steps:",
        "",
        "| recipe | seeds | first third | second third | last third |",
        "|---|---:|---:|---:|---:|",
        *rows,
    ]


def reused_note(runs: list[dict[str, Any]]) -> list[str]:
    """A line naming the runs taken from an earlier results.json (``--reuse``) rather than trained here."""
    seeds: dict[str, list[str]] = {}
    for r in runs:
        if r.get("reused"):
            seeds.setdefault(label(r), []).append(str(r["seed"]))
    if not seeds:
        return []
    named = "; ".join(f"{row} (seeds {', '.join(s)})" for row, s in seeds.items())
    return [f"  Taken from an earlier results.json (`--reuse`), not trained again: {named}."]


def lost_classes(run: dict[str, Any], classes: list[str]) -> list[str]:
    """The classes whose clean test IoU is below :data:`CLASS_FLOOR` in a run."""
    ious = run["scores"]["clean"]["per_class_iou"]
    return [name for name, iou in zip(classes, ious, strict=True) if not iou >= CLASS_FLOOR]


def class_loss_table(runs: list[dict[str, Any]], recipes: list[str]) -> list[str]:
    """Markdown rows: per recipe, how many seeds lost a class (clean IoU below the floor), which, and the
    seed-to-seed spread of clean mIoU."""
    from tiaug.labels import DEFAULT_CLASSES

    classes = list(DEFAULT_CLASSES)
    lines = [
        "",
        f"Seeds that lost a class (clean test IoU of some class below {100 * CLASS_FLOOR:g} %), and the "
        "seed-to-seed spread of clean mIoU:",
        "",
        "| recipe | seeds | lost a class | which (seed: classes) | clean mIoU mean | std | min |",
        "|---|---:|---:|---|---:|---:|---:|",
    ]
    for recipe in recipes:
        group = sorted((r for r in runs if label(r) == recipe), key=lambda r: r["seed"])
        lost = {r["seed"]: lost_classes(r, classes) for r in group}
        which = "; ".join(f"{seed}: {', '.join(names)}" for seed, names in lost.items() if names) or "none"
        clean = [100 * r["scores"]["clean"]["miou"] for r in group]
        mean, std = mean_std(clean)
        lines.append(
            f"| {recipe} | {len(group)} | {sum(bool(v) for v in lost.values())} | {which} | {mean:.1f} "
            f"| {std:.1f} | {min(clean):.1f} |"
        )
    return lines


def plot(path: Path, runs: list[dict[str, Any]], recipes: list[str], columns: list[str]) -> None:
    """Grouped bars: one group per test set, one bar per recipe, error bars = std over seeds."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(2 + 1.1 * len(columns), 4.6))
    ax = fig.subplots()
    x = np.arange(len(columns))
    width = 0.8 / len(recipes)
    for k, recipe in enumerate(recipes):
        stats = [mean_std(list(column_values(runs, recipe, c).values())) for c in columns]
        ax.bar(
            x + (k - (len(recipes) - 1) / 2) * width,
            [m for m, _ in stats],
            width,
            yerr=[s for _, s in stats],
            capsize=2,
            label=recipe,
        )
    ax.set_xticks(x, [c.replace("_", " ") for c in columns], rotation=30, ha="right")
    ax.set_ylabel("test mIoU (%)")
    ax.set_ylim(0, 100)
    ax.axvline(len(columns) - 2.5, color="0.6", lw=0.8)
    ax.legend(fontsize=7, ncol=3, loc="lower center", bbox_to_anchor=(0.5, 1.0), frameon=False)
    ax.set_title("mIoU per real-world condition (mean ± std over seeds)", pad=8 + 11 * math.ceil(len(recipes) / 3))
    fig.tight_layout()
    fig.savefig(path, dpi=110)
