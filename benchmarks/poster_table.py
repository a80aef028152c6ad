"""The poster's table (``python benchmarks/robustness.py --table poster``): its learning strategies on its networks.

Two passes of the robustness benchmark's one code path (:func:`robustness.main`), then a comparison with the
poster's numbers appended to ``results.md``:

1. UNet and Attention UNet with every strategy (BCE, Dice, SegAN, SegGAN, RMI, ContrastiveSeg, SAM-CL: the
   recipes of those names in ``robustness.RECIPES``) and the control row "RMI + TiAug", at ``--size`` (default
   ``converged``) with ``--seeds``, paired differences against RMI, per condition, and SAM-CL's against the
   control: ``--out`` (default ``benchmarks/results/poster``);
2. the heavy networks (DeepLabV3+ ResNet-101, DeepLabV3+ Xception-65, HRNetV2-W48; the ``zoo`` extra) with the
   strategies the poster ran on them (RMI, ContrastiveSeg, SAM-CL): on the CPU a smoke budget, 1/48 of the steps
   and the first seed only (it shows that every strategy trains each network; it cannot rank them); on a GPU
   (``--device cuda``) the full budget and every seed: ``--out``/heavy.

Every strategy trains on the same data and augmentation as the poster's baselines (no TiAug), except SAM-CL, whose
row is the poster's "RMI + TiAug + SAM-CL"; the control row "RMI + TiAug" (not a poster row) separates what SAM-CL
adds from what TiAug does. The poster's digits come from the Thermal Face Database; ours from
synthetic faces: compare the ordering, not the digits (Spearman's rank correlation per network).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import statistics
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

from robustness_report import read_results

STRATEGIES = ["BCE", "Dice", "SegAN", "SegGAN", "RMI", "ContrastiveSeg", "SAM-CL"]
LIGHT_NETWORKS = ["unet", "attention_unet"]
HEAVY_NETWORKS = ["deeplabv3plus_resnet101", "deeplabv3plus_xception65", "hrnetv2_w48"]
HEAVY_STRATEGIES = ["RMI", "ContrastiveSeg", "SAM-CL"]
#: on the CPU the heavy networks train 1/48 of the size's steps, first seed only: a budget that fits one session of
#: 2 cores (benchmarks/README.md, section 3), enough to show each strategy trains each network, not to rank them
HEAVY_CPU_SHARE = 48
BASELINE = "RMI"
#: not a poster row: SAM-CL's row without SAM-CL, so that SAM-CL's own share of that row's gain can be paired out
CONTROL = "RMI + TiAug"

#: The poster's mIoU (%) per network and strategy (its quantitative table; Xception from its ablation, where SAM-CL
#: is RMI + TiAug + SAM-CL as in every SAM-CL row).
POSTER_MIOU: dict[str, dict[str, float]] = {
    "unet": {
        "BCE": 67.64,
        "Dice": 75.00,
        "SegAN": 76.79,
        "SegGAN": 75.50,
        "RMI": 81.35,
        "ContrastiveSeg": 81.24,
        "SAM-CL": 82.11,
    },
    "attention_unet": {
        "BCE": 66.61,
        "Dice": 75.14,
        "SegAN": 76.75,
        "SegGAN": 76.24,
        "RMI": 81.39,
        "ContrastiveSeg": 81.50,
        "SAM-CL": 82.85,
    },
    "deeplabv3plus_resnet101": {"RMI": 75.85, "ContrastiveSeg": 74.45, "SAM-CL": 79.29},
    "deeplabv3plus_xception65": {"RMI": 76.55, "SAM-CL": 77.85},
    "hrnetv2_w48": {"RMI": 78.46, "ContrastiveSeg": 78.36, "SAM-CL": 78.97},
}


def recorded_steps(path: str) -> int:
    """The training steps a ``--reuse`` results.json was recorded at."""
    return int(read_results(path)["size"]["iters"])


def table_passes(args: argparse.Namespace, sizes: dict[str, Any]) -> list[tuple[Path, list[str]]]:
    """(results folder, robustness.py arguments) of each pass of the table. Each ``--reuse`` file goes to the passes
    that train as many steps as it was recorded at (on the CPU the heavy pass trains fewer than the light one); a
    file that fits no pass is refused."""
    out = Path(args.out)
    gpu = args.device.startswith("cuda")
    iters = args.iters or sizes[args.size].iters
    steps_of = {path: recorded_steps(path) for path in args.reuse}

    def one_pass(folder: Path, models: list[str], strategies: list[str], seeds: list[int], steps: int) -> tuple:
        controlled = CONTROL in strategies
        argv = [
            "--size",
            args.size,
            "--device",
            args.device,
            "--jobs",
            str(args.jobs),
            "--models",
            *models,
            "--recipes",
            *strategies,
            "--baseline",
            BASELINE,
            "--seeds",
            *map(str, seeds),
            "--iters",
            str(steps),
            "--out",
            str(folder),
            *(f"--compare={m}: SAM-CL={m}: {CONTROL}" for m in models if controlled),
            *["--report-only"] * args.report_only,
            *(f"--reuse={path}" for path in args.reuse if steps_of[path] == steps),
        ]
        return folder, argv

    passes = [one_pass(out, LIGHT_NETWORKS, [*STRATEGIES, CONTROL], args.seeds, iters)]
    budgets = {iters}
    if not args.no_heavy:
        heavy_iters = iters if gpu else max(1, iters // HEAVY_CPU_SHARE)
        seeds = args.seeds if gpu else args.seeds[:1]
        passes.append(one_pass(out / "heavy", HEAVY_NETWORKS, HEAVY_STRATEGIES, seeds, heavy_iters))
        budgets.add(heavy_iters)
    for path, steps in steps_of.items():
        if steps not in budgets:
            raise SystemExit(
                f"Error: --reuse {path}: recorded at {steps} steps; this table's passes train "
                f"{' and '.join(map(str, sorted(budgets)))}"
            )
    return passes


def share_data(first: Path, folder: Path) -> None:
    """Let a later pass use the first pass's synthetic data (same size, same seeds) instead of making it again."""
    if folder != first and not (folder / "data").exists():
        folder.mkdir(parents=True, exist_ok=True)
        (first / "data").mkdir(parents=True, exist_ok=True)
        (folder / "data").symlink_to((first / "data").resolve(), target_is_directory=True)


def check_heavy_networks() -> None:
    """Stop with a clear message when the heavy networks cannot be built here."""
    missing = [name for name in ("segmentation_models_pytorch", "timm") if importlib.util.find_spec(name) is None]
    if missing:
        raise SystemExit(
            f"--table poster: the heavy networks need {', '.join(missing)} (the 'zoo' extra: run with the zoo "
            "environment's python), or pass --no-heavy"
        )


def run_table(args: argparse.Namespace, robustness: ModuleType) -> None:
    """Run every pass with ``robustness.main`` (each resumes or re-uses finished runs), then append the comparison
    to results.md."""
    if not args.no_heavy:
        check_heavy_networks()
    passes = table_passes(args, robustness.SIZES)
    for folder, argv in passes:
        share_data(passes[0][0], folder)
        robustness.main(argv)
    runs = [run for folder, _ in passes for run in json.loads((folder / "results.json").read_text())["runs"]]
    command = " ".join(["python benchmarks/robustness.py", *args.argv])
    notes = comparison(runs, command, robustness.condition_mean, heavy_out=passes[1][0] if len(passes) > 1 else None)
    results = Path(args.out) / "results.md"
    results.write_text(results.read_text() + "\n".join(notes) + "\n")
    print("\n".join(notes))


def ranks(values: list[float]) -> list[float]:
    """Ranks (1 = highest), ties sharing their mean rank."""
    order = sorted(values, reverse=True)
    return [statistics.fmean(i + 1 for i, v in enumerate(order) if v == x) for x in values]


def spearman(a: list[float], b: list[float]) -> float:
    """Spearman's rank correlation of two equally long lists (NaN for fewer than 3 or constant ranks)."""
    if len(a) < 3:
        return float("nan")
    ra, rb = ranks(a), ranks(b)
    try:
        return statistics.correlation(ra, rb)
    except statistics.StatisticsError:
        return float("nan")


def comparison(
    runs: list[dict[str, Any]], command: str, condition_mean: Callable[[dict[str, Any]], float], heavy_out: Path | None
) -> list[str]:
    """Markdown: per network, the poster's mIoU beside ours (clean test set and the conditions' mean), the ranks of
    each, and Spearman's rank correlation of the two orderings."""
    lines = [
        "",
        "## The poster's numbers beside ours",
        "",
        f"Command: `{command}`.  ",
        "Poster: Thermal Face Database, the paper's sizes. Ours: synthetic faces (`tiaug synth`) at this "
        "benchmark's size: **compare the ordering, not the digits**. SAM-CL is RMI + TiAug + SAM-CL in both; "
        f"every other row trains without TiAug (SAM-CL's own share: its paired difference to {CONTROL}, above). "
        "Ours: mean over seeds of the clean test mIoU and of the mean "
        "over the single-condition test sets.",
        "",
    ]
    if heavy_out is not None:
        lines += [f"Heavy networks: reduced budget, see `{heavy_out}/results.md` for their size and seeds.", ""]
    lines += [
        "| network | strategy | poster mIoU | poster rank | ours clean | ours rank | ours conditions |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    summary = []
    for network, poster in POSTER_MIOU.items():
        ours = {s: [r for r in runs if r["model"] == network and r["recipe"] == s] for s in poster}
        rows = [s for s in poster if ours[s]]
        if not rows:
            continue
        clean = [statistics.fmean(100 * r["scores"]["clean"]["miou"] for r in ours[s]) for s in rows]
        conditions = [statistics.fmean(100 * condition_mean(r) for r in ours[s]) for s in rows]
        theirs = [poster[s] for s in rows]
        for s, p, rp, c, rc, k in zip(rows, theirs, ranks(theirs), clean, ranks(clean), conditions, strict=True):
            lines.append(f"| {network} | {s} | {p:.2f} | {rp:g} | {c:.1f} | {rc:g} | {k:.1f} |")
        summary.append(
            f"| {network} | {len(rows)} | {spearman(theirs, clean):+.2f} | {spearman(theirs, conditions):+.2f} |"
        )
    lines += [
        "",
        "Spearman's rank correlation of the poster's ordering with ours (+1: same order, -1: reversed):",
        "",
        "| network | strategies | clean | conditions |",
        "|---|---:|---:|---:|",
        *summary,
    ]
    return lines
