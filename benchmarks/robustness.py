"""Robustness benchmark on synthetic thermal faces: trained to a plateau, scored per real-world condition.

For every recipe (a set of `samcl-train` flags) and seed, trains with `samcl-train` (a subprocess, `--jobs` at a
time, one thread each on the CPU) on a synthetic training set from `tiaug synth`, checks that the validation
curve has plateaued, then scores the best checkpoint on a clean test set and on the *same* test faces under
each real-world condition alone (`tiaug synth --condition NAME`: eyeglasses, hand, cup, fringe, face mask,
scarf, hot room, cold room) and all mixed (`--unconstrained`). Writes, in --out:

- ``results.json``: every run (recipe, seed, flags, validation curve, per-test-set mIoU and per-class IoU);
- ``results.md``: mIoU mean +- std over seeds per recipe and test set, the mean over the conditions, the
  **paired** difference of each recipe to the baseline recipe with a 95 % t-interval over seeds, and the
  plateau check (validation mIoU range over the last third of the steps, in points);
- ``robustness.png``: per-condition mIoU per recipe, with the seeds' standard deviation.

Sizes: ``quick`` (a smoke test: minutes, far from converged, labelled as such), ``converged`` (2 CPU cores,
about 1.7 hours for 4 recipes x 3 seeds, 4,000 steps each: trained until the validation curve is flat) and
``full`` (the paper's 256x320, for a GPU: ``--device cuda``). Recipes are named sets of flags (``--recipes``),
and more can be given on the command line (``--recipe 'NAME=--loss dice --samcl ...'``), so a study of loss
variants uses this same code path.

    python benchmarks/robustness.py --size converged --out benchmarks/results/converged
    python benchmarks/robustness.py --size quick --out /tmp/smoke --recipes Dice "Dice + TiAug" --seeds 0
    python benchmarks/robustness.py --size full --device cuda --models unet attention_unet --baseline RMI \
        --recipes RMI "RMI + TiAug" "RMI + TiAug + SAM-CL (poster)" --out benchmarks/results/poster_ablation
    python benchmarks/robustness.py --size converged --out benchmarks/results/adversarial --recipes Dice \
        "Dice + TiAug + scene" "Dice + TiAug + scene + worst-of-4" "Dice + TiAug + scene + bandit" \
        "Dice + TiAug + scene + consistency" --compare "Dice + TiAug + scene + worst-of-4=Dice + TiAug + scene"
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import shlex
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tiaug.synth.conditions import CONDITIONS  # noqa: E402

COMMON = ["--no-samcl", "--no-tiaug", "--no-scene", "--input-norm", "dataset"]
RECIPES: dict[str, list[str]] = {  # flags on top of COMMON (later flags win)
    "Dice": ["--loss", "dice"],
    "Dice + TiAug": ["--loss", "dice", "--tiaug"],
    "Dice + TiAug + scene": ["--loss", "dice", "--tiaug", "--scene"],
    "Dice + TiAug + scene + image norm": ["--loss", "dice", "--tiaug", "--scene", "--input-norm", "image"],
    "Dice + TiAug + image norm": ["--loss", "dice", "--tiaug", "--input-norm", "image"],
    **{
        f"Dice + TiAug + scene + SAM-CL λ{lam}": [
            "--loss",
            "dice",
            "--tiaug",
            "--scene",
            "--samcl",
            "--samcl-preset",
            "stable",
            "--samcl-lambda",
            lam,
        ]
        for lam in ("0.1", "0.02")
    },
    "Dice + CE": ["--loss", "dice_ce"],
    "Dice + CE + TiAug + scene + SAM-CL λ0.1": [
        "--loss",
        "dice_ce",
        "--tiaug",
        "--scene",
        "--samcl",
        "--samcl-preset",
        "stable",
        "--samcl-lambda",
        "0.1",
    ],
    "RMI": ["--loss", "rmi"],
    # the poster's other learning strategies (benchmarks/poster_table.py); {base_width}: the size's network width
    "BCE": ["--loss", "bce"],
    "SegAN": ["--loss", "dice", "--strategy", "segan", "--segan-arg", "width={base_width}"],
    "SegGAN": [
        "--loss",
        "ce",
        "--strategy",
        "seggan",
        "--seggan-arg",
        "generator_width={base_width}",
        "--seggan-arg",
        "discriminator_width={base_width}",
    ],
    "ContrastiveSeg": ["--loss", "rmi", "--strategy", "contrastiveseg"],
    "SAM-CL": ["--loss", "rmi", "--tiaug", "--samcl"],  # the poster's SAM-CL row: RMI + TiAug + SAM-CL
    "RMI + TiAug": ["--loss", "rmi", "--tiaug"],
    "RMI + TiAug + SAM-CL (poster)": ["--loss", "rmi", "--tiaug", "--samcl", "--samcl-preset", "poster"],
}
#: Self-adversarial TiAug (issue 21): samcl-train's defaults (Dice + TiAug + scene), without and with SAM-CL λ0.1,
#: plus an attack: worst-of-4 draws, the loss-following bandit, the clean/augmented consistency term, or both.
DEFAULTS_FLAGS = ["--loss", "dice", "--tiaug", "--scene"]
SAMCL_FLAGS = ["--samcl", "--samcl-preset", "stable", "--samcl-lambda", "0.1"]
ATTACKS = {
    "worst-of-4": ["--adversarial-k", "4"],
    "bandit": ["--bandit"],
    "consistency": ["--consistency", "1"],
    "worst-of-4 + consistency": ["--adversarial-k", "4", "--consistency", "1"],
}
RECIPES.update(
    {
        f"Dice + TiAug + scene + {attack}{' + SAM-CL λ0.1' if samcl else ''}": [
            *DEFAULTS_FLAGS,
            *flags,
            *(SAMCL_FLAGS if samcl else []),
        ]
        for attack, flags in ATTACKS.items()
        for samcl in (False, True)
    }
)
DEFAULT_RECIPES = ["Dice", "Dice + TiAug", "Dice + TiAug + scene", "Dice + TiAug + scene + SAM-CL λ0.1"]
TEST_SETS = ("clean", *CONDITIONS, "mixed")
FIXED_WIDTH_MODELS = ("deeplabv3plus_resnet101", "deeplabv3plus_xception65", "hrnetv2_w48")  # no base_width
T_975 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306, 9: 2.262}
CLASS_FLOOR = 0.05  # a run whose clean test IoU of any class is below this has lost that class
PLATEAU_POINTS = 1.0  # a curve is flat when val mIoU moves by less than this (points) over the last third


@dataclass(frozen=True)
class Size:
    """A benchmark size: data, network width and the training budget."""

    name: str
    height: int
    width: int
    n_train: int
    n_val: int
    n_test: int
    base_width: int
    iters: int
    batch_size: int
    lr: float
    val_points: int = 12  # validations per run (4 of them in the last third)


SIZES = {
    "quick": Size("quick", 64, 80, 240, 40, 80, base_width=8, iters=300, batch_size=8, lr=0.05, val_points=6),
    "converged": Size("converged", 64, 80, 1000, 100, 200, base_width=16, iters=4000, batch_size=8, lr=0.05),
    "seeds": Size("seeds", 64, 80, 512, 100, 200, base_width=16, iters=1500, batch_size=8, lr=0.05, val_points=6),
    "full": Size("full", 256, 320, 1000, 100, 200, base_width=32, iters=6000, batch_size=16, lr=0.01),
    # an end-to-end check of the code path (seconds per run, meaningless numbers)
    "smoke": Size("smoke", 64, 80, 32, 8, 8, base_width=4, iters=8, batch_size=4, lr=0.05, val_points=2),
}


def _env(threads: int) -> dict[str, str]:
    return dict(os.environ, PYTHONPATH=str(REPO), OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))


def _tool(name: str) -> list[str]:
    """Run a project command with this interpreter (its console script may not be on PATH)."""
    modules = {"tiaug": ["-m", "tiaug"], "samcl-train": ["-m", "samcl.cli.train_cmd"]}
    return [sys.executable, *modules[name]]


def make_data(folder: Path, size: Size) -> dict[str, Path]:
    """Synthetic train/val files and the test faces, clean and under every condition (same faces, seed 13)."""
    specs: dict[str, tuple[int, int, list[str]]] = {
        "train": (size.n_train, 11, []),
        "val": (size.n_val, 12, []),
        "clean": (size.n_test, 13, []),
        "mixed": (size.n_test, 13, ["--unconstrained"]),
        **{c: (size.n_test, 13, ["--condition", c]) for c in CONDITIONS},
    }
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, (n, seed, extra) in specs.items():
        path = folder / f"{name}.h5"
        if not path.exists():
            subprocess.run([*_tool("tiaug"), "synth", str(path), "-n", str(n), "--size", f"{size.height}x{size.width}",
                            "--seed", str(seed), "--no-progress", *extra], check=True, env=_env(2))  # fmt: skip
        paths[name] = path
    return paths


def train_command(run_dir: Path, data: dict[str, Path], size: Size, model: str, flags: list[str], seed: int,
                  device: str, threads: int) -> list[str]:  # fmt: skip
    """The samcl-train command of one run."""
    val_every = max(size.iters // size.val_points, 1)
    flags = [flag.replace("{base_width}", str(size.base_width)) for flag in flags]
    width = [] if model in FIXED_WIDTH_MODELS else ["--model-arg", f"base_width={size.base_width}"]
    return [*_tool("samcl-train"), "--data", str(data["train"]), "--val", str(data["val"]), "--out", str(run_dir),
            "--model", model, *width, "--crop", f"{size.height}x{size.width}",
            "--iters", str(size.iters), "--batch-size", str(size.batch_size), "--lr", str(size.lr),
            "--val-every", str(val_every), "--checkpoint-every", str(val_every), "--log-every", "50",
            "--seed", str(seed), "--device", device, "--workers", "0" if device == "cpu" else "4",
            "--threads", str(threads), "--no-progress", *COMMON, *flags]  # fmt: skip


def train_one(command: list[str], run_dir: Path, threads: int) -> None:
    """Run (or resume, or re-use) one training."""
    if (run_dir / "summary.json").exists():
        return
    if (run_dir / "last.pt").exists():  # interrupted earlier: continue exactly where it stopped
        command = [*_tool("samcl-train"), "--resume", str(run_dir), "--no-progress"]
    log = run_dir.parent / f"{run_dir.name}.log"  # names may hold dots (λ0.1)
    run_dir.parent.mkdir(parents=True, exist_ok=True)
    with log.open("w") as handle:
        result = subprocess.run(command, stdout=handle, stderr=subprocess.STDOUT, env=_env(threads))
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed; see {log}:\n{log.read_text()[-3000:]}")


def validation_curve(run_dir: Path) -> list[tuple[int, float]]:
    """(step, val mIoU) of a run's metrics.csv."""
    import csv

    with (run_dir / "metrics.csv").open() as handle:
        return [(int(r["iteration"]), float(r["val_miou"])) for r in csv.DictReader(handle) if r["val_miou"]]


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


def score(checkpoint: Path, data: dict[str, Path], device: str) -> dict[str, dict[str, Any]]:
    """mIoU and per-class IoU of a checkpoint on every test set."""
    from samcl.inference.evaluation import evaluate_file, scores
    from samcl.inference.predictor import load_inference_model

    model = load_inference_model(checkpoint, device=device)
    out = {}
    for name in TEST_SETS:
        s = scores(evaluate_file(model, data[name], batch_size=32).clean)
        out[name] = {"miou": s["miou"], "per_class_iou": s["per_class_iou"]}
    return out


# -- statistics and reports ---------------------------------------------------------------------------------
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


def paired_table(runs: list[dict[str, Any]], pairs: list[tuple[str, str]], columns: list[str], seeds: list[int],
                 title: str) -> list[str]:  # fmt: skip
    """Markdown rows of paired differences (row - baseline, same seed), mean [95 % t-interval]."""
    lines = ["", f"{title} (mIoU points, same seed and network), mean [95 % t-interval over {len(seeds)} seeds]:",
             "", "| recipe | vs | " + " | ".join(columns) + " |", "|---|---|" + "---:|" * len(columns)]  # fmt: skip
    for recipe, baseline in pairs:
        cells = []
        for column in columns:
            base, other = column_values(runs, baseline, column), column_values(runs, recipe, column)
            mean, lo, hi = paired_interval([other[s] - base[s] for s in seeds if s in base and s in other])
            cells.append(f"{mean:+.1f} [{lo:+.1f}, {hi:+.1f}]")
        lines.append(f"| {recipe} | {baseline} | " + " | ".join(cells) + " |")
    return lines


def write_reports(out: Path, runs: list[dict[str, Any]], size: Size, args: argparse.Namespace, wall: float) -> str:
    """results.md and robustness.png; returns the markdown."""
    recipes = list(dict.fromkeys(label(r) for r in runs))
    models = list(dict.fromkeys(r.get("model", args.models[0]) for r in runs))
    seeds = sorted({r["seed"] for r in runs})
    columns = ["clean", *CONDITIONS, "conditions", "mixed"]
    lines = [
        f"# Robustness on synthetic thermal faces ({size.name} size)",
        "",
        f"Command: `python benchmarks/robustness.py {' '.join(args.argv)}`  ",
        f"Device: {args.device_name}; wall time {wall / 60:.1f} min.  ",
        f"Data: `tiaug synth`, {size.height}x{size.width} px, {size.n_train} training / {size.n_val} validation "
        f"faces; {size.n_test} test faces, clean and under each condition alone (same faces).  ",
        f"Training: `samcl-train --model {' / '.join(models)}`, base width {size.base_width}, {size.iters} steps of "
        f"batch {size.batch_size}, lr {size.lr} (SGD, poly), best checkpoint by validation mIoU; seeds {seeds}.",
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
            m, s = mean_std(list(column_values(runs, recipe, column).values()))
            cells.append(f"**{m:.1f}** ± {s:.1f}" if column == "conditions" else f"{m:.1f} ± {s:.1f}")
        lines.append(f"| {recipe} | " + " | ".join(cells) + " |")
    first = {label(r): r for r in runs}
    pairs = [(row, baseline_label(first[row], args.baseline)) for row in recipes]
    pairs = [(row, base) for row, base in pairs if row != base and base in first]
    lines += paired_table(runs, pairs, columns, seeds, f"Paired difference to **{args.baseline}**")
    extra = [(row, base) for row, base in args.compare if row in first and base in first]
    if extra:
        lines += paired_table(runs, extra, columns, seeds, "Paired difference of each recipe to the one it adds to")
    lines += ["", f"Plateau check over the last third of the steps, worst seed: the trend (least-squares line "
              f"through the validations, points moved across that third; flat if within ±{PLATEAU_POINTS:g}) and "
              "the range (max - min, which one noisy validation of 100 faces can dominate); then the mean "
              "validation curve:", "",
              "| recipe | best val mIoU | last-third trend | last-third range | flat | validation mIoU (%) at steps |",
              "|---|---:|---:|---:|---|---|"]  # fmt: skip
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
    lines += class_loss_table(runs, recipes)
    text = "\n".join(lines) + "\n"
    (out / "results.md").write_text(text)
    plot(out / "robustness.png", runs, recipes, columns)
    return text


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
        ax.bar(x + (k - (len(recipes) - 1) / 2) * width, [m for m, _ in stats], width, yerr=[s for _, s in stats],
               capsize=2, label=recipe)  # fmt: skip
    ax.set_xticks(x, [c.replace("_", " ") for c in columns], rotation=30, ha="right")
    ax.set_ylabel("test mIoU (%)")
    ax.set_ylim(0, 100)
    ax.axvline(len(columns) - 2.5, color="0.6", lw=0.8)
    ax.legend(fontsize=7, ncol=3, loc="lower center", bbox_to_anchor=(0.5, 1.0), frameon=False)
    ax.set_title("mIoU per real-world condition (mean ± std over seeds)", pad=8 + 11 * math.ceil(len(recipes) / 3))
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def parse_recipe(text: str) -> tuple[str, list[str]]:
    """'NAME=FLAGS' -> (NAME, [flags])."""
    name, sep, flags = text.partition("=")
    if not sep or not name.strip():
        raise argparse.ArgumentTypeError(f"expected NAME=FLAGS, got {text!r}")
    return name.strip(), shlex.split(flags)


def parse_pair(text: str) -> tuple[str, str]:
    """'RECIPE=BASELINE' -> (RECIPE, BASELINE)."""
    recipe, sep, baseline = text.rpartition("=")
    if not sep or not recipe.strip() or not baseline.strip():
        raise argparse.ArgumentTypeError(f"expected RECIPE=BASELINE, got {text!r}")
    return recipe.strip(), baseline.strip()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", choices=list(SIZES), default="converged")
    parser.add_argument("--quick", action="store_const", const="quick", dest="size", help="same as --size quick")
    parser.add_argument("--recipes", nargs="*", default=DEFAULT_RECIPES, metavar="NAME",
                        help=f"named recipes to run; known: {list(RECIPES)}")  # fmt: skip
    parser.add_argument("--recipe", type=parse_recipe, action="append", default=[], metavar="NAME=FLAGS",
                        help="an extra recipe: samcl-train flags on top of the common ones (repeatable)")  # fmt: skip
    parser.add_argument("--baseline", default="Dice", help="recipe the paired differences are taken against")
    parser.add_argument("--compare", type=parse_pair, action="append", default=[], metavar="RECIPE=BASELINE",
                        help="also report RECIPE's paired difference to BASELINE (repeatable)")  # fmt: skip
    parser.add_argument("--models", nargs="+", default=["unet"], help="networks (registry names) to compare")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--jobs", type=int, default=2, help="trainings at once (one thread each on the CPU)")
    parser.add_argument("--iters", type=int, help="override the size's training steps")
    parser.add_argument("--out", help="results folder [benchmarks/results/robustness; with --table T: .../T]")
    parser.add_argument(
        "--table",
        choices=["poster"],
        help="run a named table with its own networks, recipes and baseline (benchmarks/"
        "poster_table.py); --size, --seeds, --iters, --device, --jobs, --out apply",
    )
    parser.add_argument("--no-heavy", action="store_true", help="with --table poster: skip the heavy networks")
    parser.add_argument("--report-only", action="store_true",
                        help="train nothing: score and report the runs in --out that have finished")  # fmt: skip
    args = parser.parse_args(argv)
    args.argv = sys.argv[1:] if argv is None else argv
    args.out = args.out or f"benchmarks/results/{args.table or 'robustness'}"
    if args.table:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from poster_table import run_table

        return run_table(args, sys.modules[__name__])
    size = SIZES[args.size] if args.iters is None else dataclasses.replace(SIZES[args.size], iters=args.iters)
    recipes = {name: RECIPES[name] for name in args.recipes if name in RECIPES}
    unknown = [name for name in args.recipes if name not in RECIPES]
    if unknown:
        parser.error(f"unknown recipe(s) {unknown}; known: {list(RECIPES)} (or give --recipe NAME=FLAGS)")
    recipes.update(dict(args.recipe))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.device.startswith("cuda"):
        import torch

        args.device_name, args.jobs = torch.cuda.get_device_name(0), 1
    else:
        args.device_name = f"CPU, {os.cpu_count()} cores, {args.jobs} trainings at once, one thread each"
    threads = max(1, (os.cpu_count() or 2) // args.jobs) if args.device == "cpu" else 4
    import torch

    torch.set_num_threads(1)
    started = time.perf_counter()
    data = make_data(out / "data", size)
    jobs = [(model, recipe, seed) for seed in args.seeds for model in args.models for recipe in recipes]

    def run(job: tuple[str, str, int]) -> dict[str, Any] | None:
        model, recipe, seed = job
        several = len(args.models) > 1
        name = f"{model}__" * several + recipe.replace(" ", "").replace("+", "_")
        run_dir = out / "runs" / f"{name}__seed{seed}"
        flags = recipes[recipe]
        if args.report_only and not (run_dir / "summary.json").exists():
            return None
        train_one(train_command(run_dir, data, size, model, flags, seed, args.device, threads), run_dir,
                  threads)  # fmt: skip
        curve = validation_curve(run_dir)
        record = {"recipe": recipe, "model": model, "label": f"{model}: {recipe}" if several else recipe,
                  "seed": seed, "flags": flags, "run_dir": str(run_dir), "curve": curve,
                  "plateau_range": plateau_range(curve, size.iters),
                  "scores": score(run_dir / "best.pt", data, args.device)}  # fmt: skip
        print(f"{time.perf_counter() - started:6.0f} s  {record['label']:40s} seed {seed}: clean "
              f"{100 * record['scores']['clean']['miou']:.1f}, conditions {100 * condition_mean(record):.1f}, "
              f"last-third trend {plateau_trend(curve, size.iters):+.2f}, range {record['plateau_range']:.2f} points",
              flush=True)  # fmt: skip
        return record

    with ThreadPoolExecutor(args.jobs) as pool:
        runs = [r for r in pool.map(run, jobs) if r is not None]
    wall = time.perf_counter() - started
    (out / "results.json").write_text(json.dumps({"size": vars(size), "device": args.device_name, "wall_s": wall,
                                                  "runs": runs}, indent=1))  # fmt: skip
    print(write_reports(out, runs, size, args, wall))


if __name__ == "__main__":
    main()
