"""`tiaug augment` end to end: images/s and MB/s per codec, peak memory, and where the time goes.

Four parts, all on synthetic 256x320 faces:

1. **Codecs** (in-process, one thread): size, write and read throughput of every ``--compression`` codec on clean
   faces (``tiaug synth``) and augmented ones (occlusion + noise), and the cost of reading one random row.
2. **Ceiling**: the default pipeline (occlusion + noise, with its provenance JSON) on in-memory faces in this
   process, one core: the rate `tiaug augment` could reach if reading and writing were free.
3. **Command line**: for each file size, `tiaug synth` writes the input once (default codec), then
   `tiaug augment IN OUT --copies 1 --seed 0 --compression C --workers W` runs as a real subprocess while the
   resident memory (PSS) of its whole process tree is sampled every 0.25 s. ``--reference DIR`` also runs another
   checkout's `tiaug augment` on the same input, interleaved, for a side-by-side ratio (its own default codec).
4. **Where the main process's time goes**: one in-process run with ``augment_file(timings=...)``: waiting for the
   workers, writing to HDF5, committing (flush + fsync + rename).

Targets (issue 14): 20,000 faces at >= 1,500 images/s with ``--workers 2``, flat memory (peak PSS at 20,000 vs
2,000 faces). MB/s counts the pixel data written (float32 images + uint8 masks), not the compressed bytes.

    python benchmarks/bench_augment_cli.py [--sizes 2000 20000] [--workers 1 2] [--codecs none]
        [--reference /path/to/other/checkout] [--repeats 3] [--dir /tmp/bench] [--no-codec-table]
        [--json out.json]

Runs are interleaved (this, reference, this, ...) and each is followed by ``sync`` and a 2 s pause, so that one
run's deleted output or page-cache writes do not slow the next; with ``--repeats`` the table shows the median.
Before each run the input is read once through the page cache (``--input-cache warm``, the default: as right
after `tiaug synth`, or for a second run), or the page cache is dropped (``cold``: the run reads IN from disk).

Needs about 0.8 GB of disk per 1,000 images with the default codec (input + output; removed at the end).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
HEIGHT, WIDTH = 256, 320
ROW_BYTES = HEIGHT * WIDTH * 5  # float32 image + uint8 mask
# reading smaps_rollup of the three processes costs ~13 ms of CPU: every 20 ms that took a third of a core
PSS_INTERVAL_S = 0.25


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


def _children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_measured(args: list[str], tree: Path = REPO) -> tuple[float, float, float]:
    """Run ``python -m tiaug ARGS`` from checkout ``tree``.

    Returns (wall seconds, peak PSS of the process tree in MiB, CPU seconds of the whole tree: user + system,
    workers included). On a shared machine the CPU seconds say what the work costs whatever the load.
    """
    env = dict(os.environ, PYTHONPATH=str(tree))
    cpu = _children_cpu_s()
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "tiaug", *args], env=env, cwd=tree, stderr=subprocess.PIPE)
    peak = 0
    while proc.poll() is None:
        peak = max(peak, _tree_pss_kib(proc.pid))
        time.sleep(PSS_INTERVAL_S)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"tiaug {' '.join(args)} failed: {proc.stderr.read().decode()[-2000:]}")
    return elapsed, peak / 1024, _children_cpu_s() - cpu


def settle(seconds: float = 2.0) -> None:
    """Let the disk finish the previous run (its deleted output, another checkout's page-cache writes) before
    the next one starts, so that runs measured one after the other do not pay for each other."""
    os.sync()
    time.sleep(seconds)


def prepare_input(path: Path, cache: str) -> None:
    """Put the input file in the state a run starts from: "warm" reads it once through the page cache (as
    right after `tiaug synth`, or a second run), "cold" drops the page cache (Linux, as root) so that the run
    reads it from the disk."""
    if cache == "cold":
        os.sync()
        try:
            Path("/proc/sys/vm/drop_caches").write_text("3\n")
        except OSError as error:
            raise SystemExit(f"--input-cache cold needs to drop the page cache (Linux, root): {error}") from None
        return
    with open(path, "rb", buffering=0) as handle:
        while handle.read(16 << 20):
            pass


def median_runs(rows: list[dict]) -> list[dict]:
    """One row per (checkout, codec, images, workers): the run with the median images/s of its repeats."""
    groups: dict[tuple, list[dict]] = {}
    for row in rows:
        groups.setdefault((row["checkout"], row["codec"], row["images"], row["workers"]), []).append(row)
    return [sorted(g, key=lambda r: r["images_per_s"])[len(g) // 2] | {"repeats": len(g)} for g in groups.values()]


def available_codecs() -> list[str]:
    from tiaug.io.h5.codecs import COMPRESSIONS, dataset_filters

    usable = []
    for codec in COMPRESSIONS:
        try:
            dataset_filters(codec)
            usable.append(codec)
        except ImportError:
            print(f"(skipping {codec}: hdf5plugin is not installed)")
    return usable


def codec_table(codecs: list[str], n: int, scratch: Path) -> list[dict]:
    """Size and one-thread throughput of each codec on clean and augmented faces (in-process)."""
    import h5py

    from tiaug.io.h5.codecs import dataset_filters
    from tiaug.presets import tiaug_pipeline
    from tiaug.synth import generate_faces

    faces = generate_faces(n, HEIGHT, WIDTH, seed=0)
    pipeline = tiaug_pipeline(seed=0)
    augmented = np.stack([pipeline(image=i, mask=m)["image"] for i, m in zip(faces.images, faces.masks, strict=True)])
    rows = []
    for data_name, data in (("clean faces", faces.images), ("augmented faces", augmented), ("masks", faces.masks)):
        for codec in codecs:
            path = scratch / f"codec-{codec}.h5"
            filters = dataset_filters(codec)
            cpu = time.process_time()
            with h5py.File(path, "w") as f:
                ds = f.create_dataset("x", shape=data.shape, dtype=data.dtype, chunks=(1, HEIGHT, WIDTH), **filters)
                for a in range(0, n, 32):
                    ds[a : a + 32] = data[a : a + 32]
            write_s = time.process_time() - cpu
            size = path.stat().st_size
            cpu = time.process_time()
            with h5py.File(path, "r") as f:
                for a in range(0, n, 32):
                    f["x"][a : a + 32]
                read_s = time.process_time() - cpu
                cpu = time.process_time()
                for row in np.random.default_rng(0).permutation(n)[:32].tolist():
                    f["x"][row]
                row_ms = (time.process_time() - cpu) / 32 * 1e3
            path.unlink()
            mb = data.nbytes / 1e6
            rows.append(
                {
                    "data": data_name,
                    "codec": codec,
                    "size_pct": 100 * size / data.nbytes,
                    "write_mb_s": mb / write_s,
                    "read_mb_s": mb / read_s,
                    "random_row_ms": row_ms,
                }
            )
    return rows


def pipeline_ceiling(n: int = 200) -> float:
    """Images/s of the default `tiaug augment` pipeline (with provenance JSON) in this process, one core."""
    import albumentations as A

    from tiaug.augment import AugmentJob, _RowAugmenter
    from tiaug.presets import tiaug_pipeline
    from tiaug.synth import generate_faces

    faces = generate_faces(50, HEIGHT, WIDTH, seed=1)
    augmenter = _RowAugmenter(AugmentJob(A.to_dict(tiaug_pipeline()), 0, 1, False))
    for k in range(20):
        augmenter.one(faces.images[k % 50], faces.masks[k % 50], k, 0)
    cpu = time.process_time()
    for k in range(n):
        augmenter.one(faces.images[k % 50], faces.masks[k % 50], k, 0)
    return n / (time.process_time() - cpu)


def main_process_split(source: Path, out: Path, workers: int) -> dict[str, float]:
    """Seconds the main process spends waiting, writing and committing in one in-process `augment_file` run."""
    from tiaug.augment import augment_file
    from tiaug.presets import tiaug_pipeline

    timings: dict[str, float] = {}
    augment_file(source, out, tiaug_pipeline(), workers=workers, overwrite=True, timings=timings)
    out.unlink()
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[2000, 20000])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--codecs", nargs="+", default=["none"], help="codecs for the command-line runs")
    parser.add_argument("--reference", type=Path, help="another checkout to run side by side (e.g. main)")
    parser.add_argument("--dir", default=None, help="scratch folder (default: a temporary folder)")
    parser.add_argument("--no-codec-table", action="store_true", help="skip part 1")
    parser.add_argument("--codec-faces", type=int, default=128, help="faces per codec measurement (part 1)")
    parser.add_argument("--json", help="also write the numbers to this JSON file")
    parser.add_argument("--repeats", type=int, default=1, help="runs of each command line, interleaved (median)")
    parser.add_argument(
        "--input-cache",
        choices=("warm", "cold"),
        default="warm",
        help="input in the page cache before each run (warm) or not (cold: drops the cache, root)",
    )
    args = parser.parse_args()

    scratch = Path(args.dir or tempfile.mkdtemp(prefix="tiaug-bench-"))
    scratch.mkdir(parents=True, exist_ok=True)
    report: dict = {"cores": os.cpu_count(), "input_cache": args.input_cache, "load_average_start": os.getloadavg()}
    try:
        if not args.no_codec_table:
            report["codecs"] = codec_table(available_codecs(), args.codec_faces, scratch)
            print("\n| data | codec | size % | write MB/s | read MB/s | random row ms |\n|---|---|---:|---:|---:|---:|")
            for r in report["codecs"]:
                print(
                    f"| {r['data']} | {r['codec']} | {r['size_pct']:.0f} | {r['write_mb_s']:.0f} | "
                    f"{r['read_mb_s']:.0f} | {r['random_row_ms']:.2f} |"
                )
        ceiling = report["ceiling_images_per_s_one_core"] = pipeline_ceiling()
        print(f"\nceiling: the pipeline alone, in-process, one core: {ceiling:.0f} images/s\n")

        rows = report["runs"] = []
        for n in args.sizes:
            source = scratch / f"in_{n}.h5"
            run_measured(["synth", str(source), "-n", str(n), "--overwrite", "--no-progress"])
            trees = [("this", REPO, codec) for codec in args.codecs]
            trees += [("reference", args.reference, "reference default")] if args.reference else []
            for workers, _repeat, (label, tree, codec) in itertools.product(args.workers, range(args.repeats), trees):
                out = scratch / f"out_{n}_{workers}.h5"
                extra = [] if codec == "reference default" else ["--compression", codec]
                command = [
                    "augment",
                    str(source),
                    str(out),
                    "--workers",
                    str(workers),
                    "--seed",
                    "0",
                    "--overwrite",
                    "--no-progress",
                    *extra,
                ]
                prepare_input(source, args.input_cache)
                seconds, peak, cpu = run_measured(command, tree)
                row = {
                    "checkout": label,
                    "codec": codec,
                    "images": n,
                    "workers": workers,
                    "seconds": seconds,
                    "images_per_s": n / seconds,
                    "mb_per_s": n * ROW_BYTES / 1e6 / seconds,
                    "output_mb": out.stat().st_size / 1e6,
                    "peak_pss_mib": peak,
                    "cpu_s": cpu,
                    "images_per_cpu_s": n / cpu,
                }
                rows.append(row)
                out.unlink()
                settle()
                print(
                    f"n={n} workers={workers} {label} {codec}: {row['images_per_s']:.0f} img/s, "
                    f"{row['mb_per_s']:.0f} MB/s, {n / cpu:.0f} images per CPU-second, peak {peak:.0f} MiB",
                    flush=True,
                )
            if n == args.sizes[0]:
                prepare_input(source, args.input_cache)
                split = report["main_process_seconds"] = main_process_split(
                    source, scratch / "split.h5", max(args.workers)
                )
            source.unlink()
    finally:
        if args.dir is None:
            shutil.rmtree(scratch, ignore_errors=True)

    rows = report["medians"] = median_runs(rows)
    report["load_average_end"] = os.getloadavg()
    start_load, end_load = report["load_average_start"][0], report["load_average_end"][0]
    print(
        f"\n`tiaug augment` ({HEIGHT}x{WIDTH}, --copies 1, occlusion + noise), {os.cpu_count()} cores, "
        f"input {args.input_cache}, load average {start_load:.1f} at the start, {end_load:.1f} at the end\n"
    )
    print(
        "| checkout | codec | images | workers | runs | wall s | images/s | MB/s | images per CPU-s | output MB | "
        "peak PSS MiB |\n|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    )
    for r in rows:
        print(
            f"| {r['checkout']} | {r['codec']} | {r['images']} | {r['workers']} | {r['repeats']} | "
            f"{r['seconds']:.1f} | "
            f"{r['images_per_s']:.0f} | {r['mb_per_s']:.0f} | {r['images_per_cpu_s']:.0f} | "
            f"{r['output_mb']:.0f} | {r['peak_pss_mib']:.0f} |"
        )
    if args.reference:
        for mine in (r for r in rows if r["checkout"] == "this"):
            ref = next(
                r
                for r in rows
                if r["checkout"] == "reference" and r["images"] == mine["images"] and r["workers"] == mine["workers"]
            )
            print(
                f"n={mine['images']} workers={mine['workers']} {mine['codec']}: "
                f"{mine['images_per_s'] / ref['images_per_s']:.2f}x the reference's images/s, "
                f"{mine['images_per_cpu_s'] / ref['images_per_cpu_s']:.2f}x its images per CPU-second"
            )
    for workers in args.workers:
        peaks = [r["peak_pss_mib"] for r in rows if r["workers"] == workers and r["checkout"] == "this"]
        if len(args.sizes) > 1 and peaks:
            print(
                f"workers={workers}: peak PSS at {args.sizes[-1]} / at {args.sizes[0]} images = "
                f"{peaks[-1] / peaks[0]:.2f}"
            )
    total = split["total"]
    print(
        f"\nmain process, {args.sizes[0]} images, {max(args.workers)} workers, in-process: {total:.1f} s = "
        + ", ".join(
            f"{key} {split[key]:.1f} s ({100 * split[key] / total:.0f} %)"
            for key in ("writing", "waiting", "committing")
        )
    )
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
