"""`tiaug augment` end to end: throughput (images/s) and peak memory versus the size of the file.

For each file size (default 2,000 and 20,000 synthetic 256x320 faces, written once with `tiaug synth`), runs
`tiaug augment IN OUT --copies 1` with 1 and 2 workers as real subprocesses, and samples the resident memory
(PSS) of the whole process tree (main process + workers, summed) every 20 ms. Target (issue 3): the peak must not
grow with the number of images.

    python benchmarks/bench_augment_cli.py [--sizes 2000 20000] [--workers 1 2] [--dir /tmp/bench] [--json out.json]

Needs about 1.6 GB of disk per 1,000 images at 256x320 for input + output (lzf-compressed; removed at the end).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _tree_pss_kib(pid: int) -> int:
    """Proportional set size (KiB) of ``pid`` and all its descendants, from /proc.

    PSS splits pages shared between the forked workers and the main process among them, so the sum is the
    memory the tree really holds (a sum of RSS would count shared pages once per process).
    """
    total, stack = 0, [pid]
    while stack:
        current = stack.pop()
        try:
            with open(f"/proc/{current}/smaps_rollup") as handle:
                for line in handle:
                    if line.startswith("Pss:"):
                        total += int(line.split()[1])
                        break
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children") as handle:
                    stack.extend(int(child) for child in handle.read().split())
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total


def run_measured(args: list[str]) -> tuple[float, float]:
    """Run ``python -m tiaug ARGS``; return (wall seconds, peak PSS of the process tree in MiB)."""
    env = dict(os.environ, PYTHONPATH=str(REPO))
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "tiaug", *args], env=env, stderr=subprocess.PIPE)
    peak = 0
    while proc.poll() is None:
        peak = max(peak, _tree_pss_kib(proc.pid))
        time.sleep(0.02)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"tiaug {' '.join(args)} failed: {proc.stderr.read().decode()[-2000:]}")
    return elapsed, peak / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[2000, 20000])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--size", default="256x320")
    parser.add_argument("--dir", default=None, help="scratch folder (default: a temporary folder)")
    parser.add_argument("--json", help="also write the numbers to this JSON file")
    args = parser.parse_args()

    scratch = Path(args.dir or tempfile.mkdtemp(prefix="tiaug-bench-"))
    scratch.mkdir(parents=True, exist_ok=True)
    rows = []
    try:
        for n in args.sizes:
            source = scratch / f"in_{n}.h5"
            synth_s, _ = run_measured(["synth", str(source), "-n", str(n), "--size", args.size, "--overwrite",
                                       "--no-progress"])  # fmt: skip
            for workers in args.workers:
                out = scratch / f"out_{n}_{workers}.h5"
                seconds, peak = run_measured(["augment", str(source), str(out), "--workers", str(workers),
                                              "--seed", "0", "--overwrite", "--no-progress"])  # fmt: skip
                rows.append({"images": n, "workers": workers, "seconds": seconds, "images_per_s": n / seconds,
                             "peak_pss_mib": peak, "synth_seconds": synth_s})  # fmt: skip
                print(f"n={n} workers={workers}: {n / seconds:.0f} img/s, peak {peak:.0f} MiB", flush=True)
                out.unlink()
            source.unlink()
    finally:
        if args.dir is None:
            shutil.rmtree(scratch, ignore_errors=True)

    print(f"\n`tiaug augment` ({args.size}, --copies 1, default occlusion + noise, lzf), {os.cpu_count()} cores\n")
    print("| images | workers | wall s | images/s | peak PSS (MiB, all processes) |")
    print("|---:|---:|---:|---:|---:|")
    for row in rows:
        print(f"| {row['images']} | {row['workers']} | {row['seconds']:.1f} | {row['images_per_s']:.0f} | "
              f"{row['peak_pss_mib']:.0f} |")  # fmt: skip
    for workers in args.workers:
        peaks = [r["peak_pss_mib"] for r in rows if r["workers"] == workers]
        if len(peaks) > 1:
            print(f"\nworkers={workers}: peak at the largest file / smallest file = {peaks[-1] / peaks[0]:.2f}")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
