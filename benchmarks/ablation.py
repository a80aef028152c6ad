"""The poster's ablation on synthetic thermal faces: does TiAug, then SAM-CL, raise mIoU?

For every network (default unet, attention_unet), recipe and seed, trains with `samcl-train` (run as a
subprocess, two at a time on two cores) on a synthetic training set from `tiaug synth`, then scores the best
checkpoint on a clean synthetic test set and on an `--unconstrained` one (eyeglasses, hands, cups, hair, face
masks, scarves, hot rooms: conditions TiAug never draws; same faces as the clean set). Writes, in --out:

- ``results.json``: every run (network, recipe, seed, clean and unconstrained mIoU and per-class IoU),
- ``results.md``: mIoU mean +- standard deviation over seeds per network and recipe, and the gain of each
  ablation step (the poster's table),
- ``ablation.png``: the same as grouped bars with error bars.

Sizes: ``--quick`` (64x80 images, tiny networks, a few hundred steps; under 20 minutes on 2 CPU cores) and
``full`` (256x320, base width 32, meant for a GPU: ``--device cuda``). The paper trained for far longer on the
Thermal Face Database; these budgets are scaled to the time a user can spend, and say so in results.md.

    python benchmarks/ablation.py --quick --out benchmarks/results/quick
    python benchmarks/ablation.py --device cuda --out benchmarks/results/full
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]

RECIPES = {  # name: (base loss, SAM-CL, TiAug)
    "CE": ("ce", False, False),
    "Dice": ("dice", False, False),
    "RMI": ("rmi", False, False),
    "RMI + TiAug": ("rmi", False, True),
    "RMI + TiAug + SAM-CL": ("rmi", True, True),
    "Dice + TiAug + SAM-CL": ("dice", True, True),
}
ABLATION_STEPS = [("RMI", "RMI + TiAug"), ("RMI + TiAug", "RMI + TiAug + SAM-CL"), ("Dice", "Dice + TiAug + SAM-CL")]


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


QUICK = Size("quick", 64, 80, 240, 40, 80, base_width=8, iters=700, batch_size=8, lr=0.05)
FULL = Size("full", 256, 320, 1000, 100, 200, base_width=32, iters=3000, batch_size=16, lr=0.01)


def _env(threads: int) -> dict[str, str]:
    return dict(os.environ, PYTHONPATH=str(REPO), OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))


def make_data(folder: Path, size: Size) -> dict[str, Path]:
    """Synthetic train/val/test files (clean and unconstrained test share their faces)."""
    files = {"train": (size.n_train, 11, []), "val": (size.n_val, 12, []), "test": (size.n_test, 13, []),
             "test_unconstrained": (size.n_test, 13, ["--unconstrained"])}  # fmt: skip
    paths = {}
    folder.mkdir(parents=True, exist_ok=True)
    for name, (n, seed, extra) in files.items():
        path = folder / f"{name}.h5"
        if not path.exists():
            subprocess.run([sys.executable, "-m", "tiaug", "synth", str(path), "-n", str(n), "--size",
                            f"{size.height}x{size.width}", "--seed", str(seed), "--no-progress", *extra],
                           check=True, env=_env(2))  # fmt: skip
        paths[name] = path
    return paths


def train_one(run_dir: Path, data: dict[str, Path], size: Size, network: str, recipe: str, seed: int,
              device: str, threads: int) -> Path:  # fmt: skip
    """Train one (network, recipe, seed) with samcl-train; returns best.pt."""
    if (run_dir / "summary.json").exists():  # finished earlier: re-use
        return run_dir / "best.pt"
    loss, samcl, tiaug = RECIPES[recipe]
    command = [sys.executable, "-m", "samcl.cli.train_cmd", "--data", str(data["train"]), "--val", str(data["val"]),
               "--out", str(run_dir), "--model", network, "--model-arg", f"base_width={size.base_width}",
               "--loss", loss, "--samcl" if samcl else "--no-samcl", "--tiaug" if tiaug else "--no-tiaug",
               "--crop", f"{size.height}x{size.width}", "--iters", str(size.iters), "--batch-size",
               str(size.batch_size), "--lr", str(size.lr), "--val-every", str(max(size.iters // 4, 1)),
               "--checkpoint-every", str(size.iters), "--log-every", "25", "--seed", str(seed), "--device", device,
               "--workers", "0" if device == "cpu" else "4", "--no-progress"]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, env=_env(threads))
    if result.returncode != 0:
        raise RuntimeError(f"training {network} / {recipe} / seed {seed} failed:\n{result.stderr[-3000:]}")
    return run_dir / "best.pt"


def score(checkpoint: Path, data: dict[str, Path], device: str) -> dict[str, dict]:
    """mIoU and per-class IoU of a checkpoint on the clean and unconstrained test sets."""
    from samcl.inference.checkpoint import load_checkpoint, model_from_checkpoint, normalization_of
    from samcl.inference.predictor import evaluate_batches
    from tiaug.io import open_thermal
    from tiaug.labels import IGNORE_INDEX

    payload = load_checkpoint(checkpoint)
    model = model_from_checkpoint(payload, checkpoint).to(device)
    scores = {}
    for name in ("test", "test_unconstrained"):
        with open_thermal(data[name], require_masks=True) as reader:
            batches = ((b.images, b.masks) for b in reader.iter_batches(32))
            matrix = evaluate_batches(model, batches, normalization_of(payload), len(payload["classes"]),
                                      payload.get("ignore_index", IGNORE_INDEX), device)  # fmt: skip
        scores[name] = {"miou": matrix.miou(), "per_class_iou": [float(v) for v in matrix.per_class_iou()]}
    return scores


def mean_std(values: list[float]) -> tuple[float, float]:
    return statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else 0.0


def write_reports(out: Path, runs: list[dict], size: Size, args: argparse.Namespace, wall: float) -> None:
    """results.md and ablation.png from the runs."""
    networks = list(dict.fromkeys(r["network"] for r in runs))
    table: dict[tuple[str, str, str], tuple[float, float]] = {}
    for network in networks:
        for recipe in RECIPES:
            for split in ("test", "test_unconstrained"):
                values = [r[split]["miou"] for r in runs if r["network"] == network and r["recipe"] == recipe]
                if values:
                    table[network, recipe, split] = mean_std(values)
    seeds = sorted({r["seed"] for r in runs})
    lines = [
        f"# Ablation on synthetic thermal faces ({size.name} size)",
        "",
        f"Command: `python benchmarks/ablation.py {'--quick ' if size.name == 'quick' else ''}--device {args.device} "
        f"--out {args.out}`  ",
        f"Device: {args.device_name}; wall time {wall / 60:.1f} min.  ",
        f"Data: `tiaug synth`, {size.height}x{size.width} px, {size.n_train} training / {size.n_val} validation / "
        f"{size.n_test} test faces; the unconstrained test set holds the same faces with eyeglasses, hands, cups, "
        "hair, face masks, scarves or hot rooms.  ",
        f"Training: `samcl-train`, {size.iters} steps, batch {size.batch_size}, lr {size.lr} (SGD, poly), base width "
        f"{size.base_width}, best checkpoint by validation mIoU; seeds {seeds}.",
        "",
        "mIoU (%) over 6 classes, mean ± standard deviation over seeds:",
        "",
        "| network | recipe | clean | unconstrained |",
        "|---|---|---:|---:|",
    ]
    for network in networks:
        for recipe in RECIPES:
            if (network, recipe, "test") in table:
                clean, wild = table[network, recipe, "test"], table[network, recipe, "test_unconstrained"]
                lines.append(f"| {network} | {recipe} | {100 * clean[0]:.2f} ± {100 * clean[1]:.2f} | "
                             f"{100 * wild[0]:.2f} ± {100 * wild[1]:.2f} |")  # fmt: skip
    lines += ["", "Gain of each ablation step (mIoU points, difference of the means):", "",
              "| network | step | clean | unconstrained |", "|---|---|---:|---:|"]  # fmt: skip
    for network in networks:
        for before, after in ABLATION_STEPS:
            if (network, before, "test") in table and (network, after, "test") in table:
                gains = [100 * (table[network, after, s][0] - table[network, before, s][0])
                         for s in ("test", "test_unconstrained")]  # fmt: skip
                lines.append(f"| {network} | {before} → {after} | {gains[0]:+.2f} | {gains[1]:+.2f} |")
    (out / "results.md").write_text("\n".join(lines) + "\n")
    plot(out / "ablation.png", networks, table)


def plot(path: Path, networks: list[str], table: dict) -> None:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(5 + 4 * len(networks), 4.2))
    axes = fig.subplots(1, len(networks), squeeze=False)[0]
    recipes = list(RECIPES)
    x = np.arange(len(recipes))
    for ax, network in zip(axes, networks, strict=True):
        for offset, split, label in ((-0.2, "test", "clean"), (0.2, "test_unconstrained", "unconstrained")):
            means = [100 * table.get((network, r, split), (np.nan, 0))[0] for r in recipes]
            stds = [100 * table.get((network, r, split), (0, np.nan))[1] for r in recipes]
            ax.bar(x + offset, means, width=0.4, yerr=stds, capsize=3, label=label)
        ax.set_xticks(x, recipes, rotation=25, ha="right", fontsize=8)
        ax.set_ylabel("mIoU (%)")
        ax.set_title(network)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="the small size (2 CPU cores, < 20 min)")
    parser.add_argument("--networks", nargs="+", default=["unet", "attention_unet"])
    parser.add_argument("--recipes", nargs="+", default=list(RECIPES), choices=list(RECIPES), metavar="RECIPE")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--jobs", type=int, default=2, help="trainings run at once (one thread each on the CPU)")
    parser.add_argument("--out", default="benchmarks/results/ablation")
    parser.add_argument("--iters", type=int, help="override the size's training steps (smoke tests)")
    args = parser.parse_args()
    size = QUICK if args.quick else FULL
    if args.iters:
        size = dataclasses.replace(size, iters=args.iters)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.device.startswith("cuda"):
        import torch

        args.device_name = torch.cuda.get_device_name(0)
        args.jobs = 1
    else:
        args.device_name = f"CPU, {os.cpu_count()} cores, {args.jobs} trainings at once"

    started = time.perf_counter()
    data = make_data(out / "data", size)
    jobs = [(n, r, s) for n in args.networks for r in args.recipes for s in args.seeds]
    threads = max(1, (os.cpu_count() or 2) // args.jobs)

    def run(job: tuple[str, str, int]) -> dict:
        network, recipe, seed = job
        run_dir = out / "runs" / f"{network}__{recipe.replace(' ', '').replace('+', '_')}__seed{seed}"
        best = train_one(run_dir, data, size, network, recipe, seed, args.device, threads)
        print(f"trained {network:15s} {recipe:24s} seed {seed} ({time.perf_counter() - started:.0f} s)", flush=True)
        return {"network": network, "recipe": recipe, "seed": seed, "checkpoint": str(best)}

    with ThreadPoolExecutor(args.jobs) as pool:
        runs = list(pool.map(run, jobs))
    for record in runs:
        record.update(score(Path(record["checkpoint"]), data, args.device))
    wall = time.perf_counter() - started
    (out / "results.json").write_text(json.dumps({"size": vars(size), "device": args.device_name, "wall_s": wall,
                                                  "runs": runs}, indent=2))  # fmt: skip
    write_reports(out, runs, size, args, wall)
    print((out / "results.md").read_text())


if __name__ == "__main__":
    main()
