"""Per-frame latency of live segmentation: read -> normalise -> network -> argmax -> statistics, one frame at a time.

A TOPDON TC001 delivers 25 frames per second (40 ms per frame) of 256x192 temperatures. This benchmark writes a
TC001 recording (384x256 uint16 frame pairs of synthetic faces, headerless, as a recorder dumps them) and runs
the steps of ``samcl-predict`` on it frame by frame (batch 1, as a live camera would), timing each step:

- read: :class:`tiaug.io.readers` TC001 reader: memory-mapped frame, bottom half, counts -> degrees Celsius,
  NaN/plausibility checks;
- normalise: tensor on the device, ``(T - mean) / std`` (256x192 needs no padding: a multiple of 16);
- network: the U-Net forward pass (``torch.inference_mode``);
- argmax: class per pixel, back on the host as uint8;
- statistics: pixels, mean and max temperature per class (:func:`samcl.inference.regions.region_statistics`).

Models are ``unet`` with base width 16 and 32 (random weights: latency does not depend on them), in NCHW and in
channels-last layout, timed interleaved frame by frame so a noisy machine disturbs them alike. Reported: median
and 99th percentile of the whole chain, its minimum (the least disturbed estimate on a shared machine), the median
of each step, frames per second from the median, and whether the median and the p99 fit 40 ms. Writing the
outputs is not part of the chain (a mask PNG costs about a millisecond, an overlay about 0.2 s).

Usage::

    python benchmarks/bench_predict_stream.py                          # CPU, all its threads
    python benchmarks/bench_predict_stream.py --threads 2 --frames 150
    python benchmarks/bench_predict_stream.py --device cuda            # when a GPU is lent
    python benchmarks/bench_predict_stream.py --json out.json
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from samcl.artifacts.normalization import Normalization
from samcl.inference.regions import region_statistics
from samcl.models import build_model
from tiaug.io.readers import ReadOptions, open_source
from tiaug.synth import generate_faces

STEPS = ("read", "normalise", "network", "argmax", "statistics")
BUDGET_MS = 40.0  # 25 fps


def write_tc001_recording(path: Path, frames: int, height: int, width: int, seed: int = 0) -> None:
    """``frames`` TC001 frame pairs (2*height x width uint16: palette bytes above 1/64 K counts) of synthetic faces."""
    rng = np.random.default_rng(seed)
    faces = generate_faces(min(frames, 24), height, width, seed=seed).images
    with open(path, "wb") as f:
        for k in range(frames):
            counts = np.round((faces[k % len(faces)] + 273.15) * 64).astype("<u2")
            palette = rng.integers(0, 65535, counts.shape, dtype=np.uint16).astype("<u2")
            f.write(np.concatenate([palette, counts]).tobytes())


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_frame(source, index: int, model, norm: Normalization, device, channels_last: bool, classes: int) -> dict:
    """Milliseconds of each step for frame ``index``."""
    times = {}
    t0 = time.perf_counter()
    image = source.read(index).image
    t1 = time.perf_counter()
    x = norm(torch.from_numpy(image).to(device, non_blocking=True))[None, None]
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    _sync(device)
    t2 = time.perf_counter()
    with torch.inference_mode():
        logits = model(x)
    _sync(device)
    t3 = time.perf_counter()
    labels = logits.argmax(1).to(torch.uint8).cpu().numpy()[0]
    t4 = time.perf_counter()
    region_statistics(image, labels, classes)
    t5 = time.perf_counter()
    for name, a, b in zip(STEPS, (t0, t1, t2, t3, t4), (t1, t2, t3, t4, t5), strict=True):
        times[name] = (b - a) * 1000
    times["total"] = (t5 - t0) * 1000
    return times


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    parser.add_argument("--frames", type=int, default=150, help="timed frames per model")
    parser.add_argument("--warmup", type=int, default=10, help="untimed frames per model first")
    parser.add_argument("--height", type=int, default=192)
    parser.add_argument("--width", type=int, default=256)
    parser.add_argument("--widths", type=int, nargs="+", default=[16, 32], help="U-Net base widths")
    parser.add_argument("--classes", type=int, default=6)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    torch.manual_seed(0)
    configs = []
    for width in args.widths:
        for channels_last in (False, True):
            model = build_model("unet", num_classes=args.classes, base_width=width).to(device).eval()
            if channels_last:
                model = model.to(memory_format=torch.channels_last)
            configs.append((f"unet w{width}" + (" channels-last" if channels_last else ""), model, channels_last))
    norm = Normalization(30.0, 5.0)
    samples: dict[str, list[dict]] = {name: [] for name, _, _ in configs}
    with tempfile.TemporaryDirectory() as tmp:
        recording = Path(tmp) / "tc001.bin"
        write_tc001_recording(recording, args.warmup + args.frames, args.height, args.width)
        options = ReadOptions(raw_size=(2 * args.height, args.width))
        with open_source(recording, "tc001", options) as source:
            for k in range(args.warmup + args.frames):
                order = configs if k % 2 == 0 else configs[::-1]
                for name, model, channels_last in order:
                    t = time_frame(source, k, model, norm, device, channels_last, args.classes)
                    if k >= args.warmup:
                        samples[name].append(t)
    rows = {}
    for name, runs in samples.items():
        total = np.array([r["total"] for r in runs])
        rows[name] = {
            "median_ms": float(np.median(total)),
            "p99_ms": float(np.percentile(total, 99)),
            "min_ms": float(total.min()),
            "steps_median_ms": {s: statistics.median(r[s] for r in runs) for s in STEPS},
        }
        rows[name]["fps"] = 1000.0 / rows[name]["median_ms"]
    result = {
        "device": str(device),
        "threads": torch.get_num_threads(),
        "frame": f"{args.width}x{args.height}",
        "frames": args.frames,
        "torch": torch.__version__,
        "machine": platform.machine(),
        "budget_ms": BUDGET_MS,
        "models": rows,
    }
    print(
        f"device {device}, {torch.get_num_threads()} threads, {args.width}x{args.height} TC001 frames, "
        f"{args.frames} frames per model, batch 1\n"
    )
    header = ["model", *STEPS, "median ms", "p99 ms", "min ms", "fps", "40 ms met?"]
    print("| " + " | ".join(header) + " |")
    print("|---|" + "---:|" * (len(header) - 2) + "---|")
    for name, row in rows.items():
        met = "no" if row["median_ms"] > BUDGET_MS else ("median and p99" if row["p99_ms"] <= BUDGET_MS else "median")
        cells = [f"{row['steps_median_ms'][s]:.2f}" for s in STEPS]
        cells += [f"{row[k]:.1f}" for k in ("median_ms", "p99_ms", "min_ms", "fps")]
        print(f"| {name} | " + " | ".join(cells) + f" | {met} |")
    if args.json is not None:
        args.json.write_text(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
