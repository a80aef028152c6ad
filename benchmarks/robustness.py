"""Robustness benchmark on synthetic thermal faces: trained to a plateau, scored per real-world condition.

For every recipe (a set of `samcl-train` flags) and seed, trains with `samcl-train` (a subprocess, `--jobs` at a
time, one thread each on the CPU) on a synthetic training set from `tiaug synth`, checks that the validation
curve has plateaued, then scores the best checkpoint on a clean test set and on the *same* test faces under
each real-world condition alone (`tiaug synth --condition NAME`: eyeglasses, hand, cup, fringe, face mask,
scarf, hot room, cold room) and all mixed (`--unconstrained`). Writes, in --out:

- ``results.json``: every run (recipe, seed, flags, validation curve, per-test-set mIoU and per-class IoU, and
  with SAM-CL the share of its hinges still active in each third of the steps),
  rewritten after each finished run (``"complete": false`` until the last), so a stopped benchmark can be
  continued with ``--reuse``;
- ``results.md``: mIoU mean +- std over seeds per recipe and test set, the mean over the conditions, the
  **paired** difference of each recipe to the baseline recipe with a 95 % t-interval over seeds, and the
  plateau check (validation mIoU range over the last third of the steps, in points), and with SAM-CL how long
  its hinges stayed active;
- ``robustness.png``: per-condition mIoU per recipe, with the seeds' standard deviation.

Sizes: ``quick`` (a smoke test: minutes, far from converged, labelled as such), ``converged`` (2 CPU cores,
about 30 minutes per run, two at a time, 6,000 steps each: long enough that the validation curve of the
defaults, which bring in TiAug and the scene steps only after 40 % of the steps, levels off) and
``full`` (the paper's 256x320, for a GPU: ``--device cuda``). Recipes are named sets of flags (``--recipes``),
and more can be given on the command line (``--recipe 'NAME=--loss dice --samcl ...'``), so a study of loss
variants uses this same code path. ``--reuse RESULTS_JSON`` takes runs already recorded (same size, network,
flags and seed) from an earlier results.json instead of training them again.

    python benchmarks/robustness.py --size converged --out benchmarks/results/converged
    python benchmarks/robustness.py --size quick --out /tmp/smoke --recipes Dice "Dice + TiAug" --seeds 0
    python benchmarks/robustness.py --size full --device cuda --models unet attention_unet --baseline RMI \
        --recipes RMI "RMI + TiAug" "RMI + TiAug + SAM-CL (poster)" --out benchmarks/results/poster_ablation
    python benchmarks/robustness.py --size converged --out benchmarks/results/adversarial --recipes Dice \
        "Dice + CE + TiAug + scene + warm-up + ramp" "Dice + CE + TiAug + scene + warm-up + ramp + worst-of-4" \
        "Dice + CE + TiAug + scene + warm-up + ramp + bandit" \
        "Dice + CE + TiAug + scene + warm-up + ramp + consistency" --compare \
        "Dice + CE + TiAug + scene + warm-up + ramp + worst-of-4=Dice + CE + TiAug + scene + warm-up + ramp"
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shlex
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from robustness_report import (  # the statistics and the report; it also puts this checkout on sys.path
    CONDITIONS,
    REPO,
    condition_mean,
    hinge_activity,
    plateau_range,
    plateau_trend,
    read_results,
    run_key,
    trains_at_own_width,
    write_reports,
)

COMMON = ["--no-samcl", "--no-tiaug", "--no-scene", "--input-norm", "dataset", "--aug-warmup", "0", "--aug-ramp", "0"]
WARMUP = ["--aug-warmup", "0.2"]  # the first fifth of the steps without TiAug and the scene steps
RAMP = ["--aug-ramp", "0.2"]  # then the share of samples with them grows to all over the next fifth


def _scene(loss: str) -> list[str]:
    """The flags of ``loss`` with TiAug and the scene steps."""
    return ["--loss", loss, "--tiaug", "--scene"]


def _samcl_scene(loss: str, lam: str) -> list[str]:
    """The flags of ``loss`` with TiAug, the scene steps and SAM-CL (stable preset) at weight ``lam``."""
    return [*_scene(loss), "--samcl", "--samcl-preset", "stable", "--samcl-lambda", lam]


RECIPES: dict[str, list[str]] = {  # flags on top of COMMON (later flags win)
    "Dice": ["--loss", "dice"],
    "Dice + TiAug": ["--loss", "dice", "--tiaug"],
    "Dice + TiAug + scene": _scene("dice"),
    "Dice + TiAug + scene + image norm": [*_scene("dice"), "--input-norm", "image"],
    "Dice + TiAug + image norm": ["--loss", "dice", "--tiaug", "--input-norm", "image"],
    **{f"Dice + TiAug + scene + SAM-CL λ{lam}": _samcl_scene("dice", lam) for lam in ("0.1", "0.02")},
    "Dice + CE": ["--loss", "dice_ce"],
    "Dice + CE + TiAug + scene": _scene("dice_ce"),
    "Dice + CE + TiAug + scene + SAM-CL λ0.1": _samcl_scene("dice_ce", "0.1"),
    "Dice + CE + TiAug + scene + warm-up": [*_scene("dice_ce"), *WARMUP],
    "Dice + CE + TiAug + scene + warm-up + SAM-CL λ0.1": [*_samcl_scene("dice_ce", "0.1"), *WARMUP],
    # samcl-train's defaults without SAM-CL, and all of them
    "Dice + CE + TiAug + scene + warm-up + ramp": [*_scene("dice_ce"), *WARMUP, *RAMP],
    "Dice + CE + TiAug + scene + warm-up + ramp + SAM-CL λ0.1": [*_samcl_scene("dice_ce", "0.1"), *WARMUP, *RAMP],
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
#: Self-adversarial TiAug (issue 21): samcl-train's defaults (Dice + CE + TiAug + scene after a warm-up and a
#: ramp), without and with SAM-CL λ0.1, plus an attack: worst-of-4 draws, the loss-following bandit, the
#: clean/augmented consistency term, or both.
DEFAULTS = "Dice + CE + TiAug + scene + warm-up + ramp"
DEFAULTS_FLAGS = RECIPES[DEFAULTS]
SAMCL_FLAGS = ["--samcl", "--samcl-preset", "stable", "--samcl-lambda", "0.1"]
ATTACKS = {
    "worst-of-4": ["--adversarial-k", "4"],
    "worst-of-4 at half size": ["--adversarial-k", "4", "--adversarial-scale", "0.5"],  # a quarter of the scoring
    "bandit": ["--bandit"],
    "consistency": ["--consistency", "1"],
    "worst-of-4 + consistency": ["--adversarial-k", "4", "--consistency", "1"],
}
RECIPES.update(
    {
        f"{DEFAULTS} + {attack}{' + SAM-CL λ0.1' if samcl else ''}": [
            *DEFAULTS_FLAGS,
            *flags,
            *(SAMCL_FLAGS if samcl else []),
        ]
        for attack, flags in ATTACKS.items()
        for samcl in (False, True)
    }
)
DEFAULT_RECIPES = ["Dice", "Dice + CE", DEFAULTS, f"{DEFAULTS} + SAM-CL λ0.1"]
TEST_SETS = ("clean", *CONDITIONS, "mixed")


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
    "converged": Size("converged", 64, 80, 1000, 100, 200, base_width=16, iters=6000, batch_size=8, lr=0.05),
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
            subprocess.run(
                [
                    *_tool("tiaug"),
                    "synth",
                    str(path),
                    "-n",
                    str(n),
                    "--size",
                    f"{size.height}x{size.width}",
                    "--seed",
                    str(seed),
                    "--no-progress",
                    *extra,
                ],
                check=True,
                env=_env(2),
            )
        paths[name] = path
    return paths


def train_command(
    run_dir: Path, data: dict[str, Path], size: Size, model: str, flags: list[str], seed: int, device: str, threads: int
) -> list[str]:
    """The samcl-train command of one run."""
    val_every = max(size.iters // size.val_points, 1)
    flags = [flag.replace("{base_width}", str(size.base_width)) for flag in flags]
    width = [arg for key, value in model_kwargs(model, size).items() for arg in ("--model-arg", f"{key}={value}")]
    return [
        *_tool("samcl-train"),
        "--data",
        str(data["train"]),
        "--val",
        str(data["val"]),
        "--out",
        str(run_dir),
        "--model",
        model,
        *width,
        "--crop",
        f"{size.height}x{size.width}",
        "--iters",
        str(size.iters),
        "--batch-size",
        str(size.batch_size),
        "--lr",
        str(size.lr),
        "--val-every",
        str(val_every),
        "--checkpoint-every",
        str(val_every),
        "--log-every",
        "50",
        "--seed",
        str(seed),
        "--device",
        device,
        "--workers",
        "0" if device == "cpu" else "4",
        "--threads",
        str(threads),
        "--no-progress",
        *COMMON,
        *flags,
    ]


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


def metrics_rows(run_dir: Path) -> list[dict[str, str]]:
    """The rows of a run's metrics.csv."""
    import csv

    with (run_dir / "metrics.csv").open() as handle:
        return list(csv.DictReader(handle))


def validation_curve(rows: list[dict[str, str]]) -> list[tuple[int, float]]:
    """(step, val mIoU) of a run's metrics.csv rows."""
    return [(int(r["iteration"]), float(r["val_miou"])) for r in rows if r["val_miou"]]


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


def save_results(out: Path, size: Size, device: str, wall: float, runs: list[dict[str, Any]], complete: bool) -> None:
    """Write ``out``/results.json whole (a temporary file renamed over it); ``complete`` is false while runs of
    the benchmark are still to come."""
    text = json.dumps(
        {"size": vars(size), "device": device, "wall_s": wall, "complete": complete, "runs": runs}, indent=1
    )
    partial = out / "results.json.partial"
    partial.write_text(text)
    partial.replace(out / "results.json")


def recorded_runs(paths: list[str], size: Size) -> dict[tuple[str, tuple[str, ...], int], dict[str, Any]]:
    """The runs recorded in earlier ``results.json`` files, keyed by (network, recipe flags, seed); a file
    recorded at another size is refused (its runs are not what this size would train)."""
    runs = {}
    for path in paths:
        recorded = read_results(path)
        if recorded["size"] != vars(size):
            raise SystemExit(f"Error: --reuse {path}: recorded at size {recorded['size']}, not {vars(size)}")
        runs.update((run_key(run), run) for run in recorded["runs"])
    return runs


def model_kwargs(model: str, size: Size) -> dict[str, int]:
    """The registry arguments a run of ``model`` trains with at ``size``: the size's width, unless the network has
    its own."""
    return {} if trains_at_own_width(model) else {"base_width": size.base_width}


def network_parameters(model: str, size: Size) -> int:
    """Parameters of the segmenter a run of ``model`` trains at ``size`` (6 classes), to tell a recorded run of an
    earlier network of the same name from one of today's."""
    from samcl.models import build_model

    return sum(p.numel() for p in build_model(model, 6, **model_kwargs(model, size)).parameters())


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
    parser.add_argument(
        "--recipes",
        nargs="*",
        default=DEFAULT_RECIPES,
        metavar="NAME",
        help=f"named recipes to run; known: {list(RECIPES)}",
    )
    parser.add_argument(
        "--recipe",
        type=parse_recipe,
        action="append",
        default=[],
        metavar="NAME=FLAGS",
        help="an extra recipe: samcl-train flags on top of the common ones (repeatable)",
    )
    parser.add_argument("--baseline", default="Dice", help="recipe the paired differences are taken against")
    parser.add_argument(
        "--compare",
        type=parse_pair,
        action="append",
        default=[],
        metavar="RECIPE=BASELINE",
        help="also report RECIPE's paired difference to BASELINE (repeatable)",
    )
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
    parser.add_argument(
        "--report-only",
        action="store_true",
        help="train nothing: score and report the runs in --out that have finished",
    )
    parser.add_argument(
        "--reuse",
        action="append",
        default=[],
        metavar="RESULTS_JSON",
        help="take the runs recorded in an earlier results.json (same size, network, recipe flags and seed; a run "
        "whose network had another parameter count is refused) instead of training them again (repeatable; a "
        "training is deterministic for its flags and seed)",
    )
    args = parser.parse_args(argv)
    args.argv = sys.argv[1:] if argv is None else argv
    args.out = args.out or f"benchmarks/results/{args.table or 'robustness'}"
    if args.table:
        from poster_table import run_table

        return run_table(args, sys.modules[__name__])
    size = SIZES[args.size] if args.iters is None else dataclasses.replace(SIZES[args.size], iters=args.iters)
    extra = dict(args.recipe)  # --recipe NAME=FLAGS runs NAME, also when --recipes names it
    recipes = {name: {**RECIPES, **extra}[name] for name in args.recipes if name in RECIPES or name in extra}
    unknown = [name for name in args.recipes if name not in RECIPES and name not in extra]
    if unknown:
        parser.error(f"unknown recipe(s) {unknown}; known: {list(RECIPES)} (or give --recipe NAME=FLAGS)")
    recipes.update(extra)
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
    recorded = recorded_runs(args.reuse, size)
    jobs = [(model, recipe, seed) for seed in args.seeds for model in args.models for recipe in recipes]
    parameters = {model: network_parameters(model, size) for model in args.models}

    def run(job: tuple[str, str, int]) -> dict[str, Any] | None:
        model, recipe, seed = job
        several = len(args.models) > 1
        name = f"{model}__" * several + recipe.replace(" ", "").replace("+", "_")
        run_dir = out / "runs" / f"{name}__seed{seed}"
        flags = recipes[recipe]
        label = f"{model}: {recipe}" if several else recipe
        if (model, tuple(flags), seed) in recorded:
            earlier = recorded[model, tuple(flags), seed]
            if earlier.get("parameters", parameters[model]) != parameters[model]:
                raise SystemExit(
                    f"Error: --reuse: the recorded {label} (seed {seed}) trained a {model} of "
                    f"{earlier['parameters']:,} parameters; today's has {parameters[model]:,}: train it again"
                )
            return {**earlier, "recipe": recipe, "label": label, "reused": True}
        if args.report_only and not (run_dir / "summary.json").exists():
            return None
        train_one(train_command(run_dir, data, size, model, flags, seed, args.device, threads), run_dir, threads)
        rows = metrics_rows(run_dir)
        curve = validation_curve(rows)
        record = {
            "recipe": recipe,
            "model": model,
            "label": label,
            "seed": seed,
            "flags": flags,
            "parameters": parameters[model],
            "run_dir": str(run_dir),
            "curve": curve,
            "plateau_range": plateau_range(curve, size.iters),
            "active_hinges": hinge_activity(rows, size.iters),
            "scores": score(run_dir / "best.pt", data, args.device),
        }
        print(
            f"{time.perf_counter() - started:6.0f} s  {record['label']:40s} seed {seed}: clean "
            f"{100 * record['scores']['clean']['miou']:.1f}, conditions {100 * condition_mean(record):.1f}, "
            f"last-third trend {plateau_trend(curve, size.iters):+.2f}, range {record['plateau_range']:.2f} points",
            flush=True,
        )
        return record

    finished: list[dict[str, Any]] = []
    lock = threading.Lock()

    def run_and_record(job: tuple[str, str, int]) -> dict[str, Any] | None:
        record = run(job)
        if record is not None:
            with lock:  # results.json holds every finished run at any time: a stopped benchmark can --reuse it
                finished.append(record)
                save_results(out, size, args.device_name, time.perf_counter() - started, finished, complete=False)
        return record

    with ThreadPoolExecutor(args.jobs) as pool:
        runs = [r for r in pool.map(run_and_record, jobs) if r is not None]
    wall = time.perf_counter() - started
    save_results(out, size, args.device_name, wall, runs, complete=len(runs) == len(jobs))  # --report-only skips
    print(write_reports(out, runs, size, args, wall, missing=len(jobs) - len(runs)))


if __name__ == "__main__":
    main()
