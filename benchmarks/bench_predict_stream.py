"""Per-frame latency of live segmentation, PyTorch beside onnxruntime (fp32, int8), for `unet` w16 and `live`.

A TOPDON TC001 delivers 25 frames per second of 256x192 temperatures. This benchmark writes a TC001 recording
(384x256 uint16 frame pairs of synthetic faces, headerless) and, for every network and runtime, times:

1. **the chain**, frame by frame (batch 1, as a live camera feeds it), per step: read (TC001 reader) ->
   normalise -> network -> argmax -> statistics (pixels, mean, max per class); the runtimes are interleaved frame
   by frame so a noisy machine disturbs them alike. PyTorch runs each network in the layout its predictor uses
   (channels-last for ``live``); onnxruntime runs the ``samcl-export`` file (fp32, and int8 statically quantised
   on synthetic faces).
2. **samcl-predict's whole path** (``--stream-frames``, default 200): :func:`samcl.inference.stream.predict_stream`
   on the recording, as ``samcl-predict REC --format tc001`` runs it (read, normalise, network, argmax,
   statistics, the mask PNG and the CSV row of every frame; no overlays), the time per frame taken between
   consecutive frames after the first 10 (start-up excluded).

Reported: median, p99 and minimum (the least disturbed frame on a shared machine) in ms, each step's median, and
the GFLOP per frame of each network (``torch.utils.flop_counter``: a multiply-add is 2 FLOP). Weights are random
(latency does not depend on them).

Usage::

    python benchmarks/bench_predict_stream.py --threads 2                      # both networks, all runtimes
    python benchmarks/bench_predict_stream.py --threads 2 --models live --stream-frames 300
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
from torch.utils.flop_counter import FlopCounterMode

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from samcl.artifacts.checkpoint import save_checkpoint
from samcl.inference.predictor import Predictor, load_inference_model
from samcl.inference.regions import region_statistics
from samcl.inference.stream import predict_stream
from samcl.models import build_model
from tiaug.io import DEFAULT_CLASSES
from tiaug.io.readers import ReadOptions, open_source
from tiaug.synth import generate_faces

STEPS = ("read", "normalise", "network", "argmax", "statistics")
BUDGET_MS = 40.0  # 25 fps
MODELS = {"unet w16": ("unet", {"base_width": 16}), "live": ("live", {})}
RUNTIMES = ("pytorch", "onnxruntime fp32", "onnxruntime int8")


def write_tc001_recording(path: Path, frames: int, height: int, width: int, seed: int = 0) -> None:
    """``frames`` TC001 frame pairs (2*height x width uint16: palette bytes above 1/64 K counts) of synthetic faces."""
    rng = np.random.default_rng(seed)
    faces = generate_faces(min(frames, 24), height, width, seed=seed).images
    with open(path, "wb") as f:
        for k in range(frames):
            counts = np.round((faces[k % len(faces)] + 273.15) * 64).astype("<u2")
            palette = rng.integers(0, 65535, counts.shape, dtype=np.uint16).astype("<u2")
            f.write(np.concatenate([palette, counts]).tobytes())


def gflop_per_frame(name: str, kwargs: dict, height: int, width: int) -> float:
    model = build_model(name, len(DEFAULT_CLASSES), **kwargs).eval()
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model(torch.zeros(1, 1, height, width))
    return counter.get_total_flops() / 1e9


def make_predictors(folder: Path, label: str, runtimes: list[str], size: tuple[int, int], threads: int) -> dict:
    """{runtime: predictor} for one network: a checkpoint with random weights, exported where asked."""
    name, kwargs = MODELS[label]
    torch.manual_seed(0)
    model = build_model(name, len(DEFAULT_CLASSES), **kwargs)
    stem = label.replace(" ", "_")  # one file per row: two rows may share a registry name (unet w16, unet w8)
    checkpoint = folder / f"{stem}.pt"
    payload = {
        "model": {"name": name, "kwargs": kwargs, "num_classes": len(DEFAULT_CLASSES), "in_channels": 1},
        "classes": list(DEFAULT_CLASSES),
        "normalization": {"mean": 30.0, "std": 5.0, "mode": "dataset"},
        "input_size": list(size),
        "model_state": model.state_dict(),
        "config": {},
    }
    save_checkpoint(checkpoint, payload)
    predictors = {}
    for runtime in runtimes:
        path = checkpoint
        if runtime.startswith("onnxruntime"):
            from samcl.inference.export import export_onnx

            path = folder / f"{stem}-{runtime.split()[-1]}.onnx"
            export_onnx(checkpoint, path, int8=runtime.endswith("int8"), frames=16)
        predictors[runtime] = load_inference_model(path, device="cpu", threads=threads)
    return predictors


def _network(predictor: Predictor, x):
    """(network input -> logits) and (logits -> uint8 classes) of either runtime."""
    if hasattr(predictor, "session"):
        return predictor.session.run(["logits"], {"frames": x})[0], lambda y: y.argmax(1).astype(np.uint8)[0]
    with torch.inference_mode():
        return predictor.model(x), lambda y: y.argmax(1).to(torch.uint8).numpy()[0]


def time_frame(source, index: int, predictor: Predictor) -> dict:
    """Milliseconds of each step for frame ``index`` (frames whose size fits the network: no padding)."""
    t0 = time.perf_counter()
    image = source.read(index).image
    t1 = time.perf_counter()
    if hasattr(predictor, "session"):
        x = predictor.normalization(image)[None, None]
    else:
        x = predictor.normalization(torch.from_numpy(image))[None, None]
        if getattr(predictor.model, "prefers_channels_last", False):
            x = x.contiguous(memory_format=torch.channels_last)
    t2 = time.perf_counter()
    logits, argmax = _network(predictor, x)
    t3 = time.perf_counter()
    labels = argmax(logits)
    t4 = time.perf_counter()
    region_statistics(image, labels, predictor.num_classes)
    t5 = time.perf_counter()
    times = {name: (b - a) * 1000 for name, a, b in zip(STEPS, (t0, t1, t2, t3, t4), (t1, t2, t3, t4, t5), strict=True)}
    times["total"] = (t5 - t0) * 1000
    return times


def summary(totals: list[float]) -> dict[str, float]:
    values = np.asarray(totals)
    return {
        "median_ms": float(np.median(values)),
        "p99_ms": float(np.percentile(values, 99)),
        "min_ms": float(values.min()),
    }


def time_predict_path(predictor: Predictor, recording: Path, options: ReadOptions, frames: int, out: Path) -> dict:
    """Per-frame time of samcl-predict's streamed path (outputs written), start-up and first 10 frames excluded."""
    stamps: list[float] = []
    predict_stream(
        predictor,
        recording,
        out,
        fmt="tc001",
        options=options,
        max_frames=frames,
        batch_size=1,
        progress=lambda done, total: stamps.append(time.perf_counter()),
    )
    return summary(list(np.diff(stamps[10:]) * 1000))


def _print_table(title: str, header: list[str], rows: list[list[str]]) -> None:
    print(f"\n{title}\n")
    print("| " + " | ".join(header) + " |")
    print("|---|---|" + "---:|" * (len(header) - 2))
    for row in rows:
        print("| " + " | ".join(row) + " |")


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=2, help="CPU threads of PyTorch and onnxruntime")
    parser.add_argument("--frames", type=int, default=100, help="timed chain frames per network and runtime")
    parser.add_argument("--warmup", type=int, default=10, help="untimed frames first")
    parser.add_argument("--stream-frames", type=int, default=200, help="frames through samcl-predict's path (0: skip)")
    parser.add_argument("--height", type=int, default=192)
    parser.add_argument("--width", type=int, default=256)
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    parser.add_argument("--runtimes", nargs="+", default=list(RUNTIMES), choices=list(RUNTIMES))
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    size = (args.height, args.width)
    results: dict = {"chain": {}, "predict_path": {}, "gflop": {}}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        recording = folder / "tc001.bin"
        total_frames = max(args.warmup + args.frames, args.stream_frames + 12)
        write_tc001_recording(recording, total_frames, *size)
        options = ReadOptions(raw_size=(2 * args.height, args.width))
        configs = []
        for label in args.models:
            results["gflop"][label] = gflop_per_frame(*MODELS[label], *size)
            for runtime, predictor in make_predictors(folder, label, args.runtimes, size, args.threads).items():
                configs.append((f"{label} | {runtime}", predictor))
        samples: dict[str, list[dict]] = {name: [] for name, _ in configs}
        with open_source(recording, "tc001", options) as source:
            for k in range(args.warmup + args.frames):
                for name, predictor in configs if k % 2 == 0 else configs[::-1]:
                    t = time_frame(source, k, predictor)
                    if k >= args.warmup:
                        samples[name].append(t)
        for name, runs in samples.items():
            row = summary([r["total"] for r in runs])
            row["steps_median_ms"] = {s: statistics.median(r[s] for r in runs) for s in STEPS}
            results["chain"][name] = row
        if args.stream_frames:
            for k, (name, predictor) in enumerate(configs):
                out = folder / f"pred{k}"
                results["predict_path"][name] = time_predict_path(
                    predictor, recording, options, args.stream_frames + 11, out
                )
    results.update(
        threads=args.threads,
        frame=f"{args.width}x{args.height}",
        frames=args.frames,
        stream_frames=args.stream_frames,
        torch=torch.__version__,
        machine=platform.machine(),
        budget_ms=BUDGET_MS,
    )
    print(f"{args.threads} threads, {args.width}x{args.height} TC001 frames, batch 1, {args.frames} frames each")
    print("GFLOP per frame: " + ", ".join(f"{k} {v:.3f}" for k, v in results["gflop"].items()))
    chain_rows = [
        [*name.split(" | "), *(f"{row['steps_median_ms'][s]:.2f}" for s in STEPS)]
        + [f"{row[k]:.1f}" for k in ("median_ms", "p99_ms", "min_ms")]
        for name, row in results["chain"].items()
    ]
    _print_table("chain", ["model", "runtime", *STEPS, "median ms", "p99 ms", "min ms"], chain_rows)
    if results["predict_path"]:
        path_rows = [
            [*name.split(" | "), *(f"{row[k]:.1f}" for k in ("median_ms", "p99_ms", "min_ms"))]
            for name, row in results["predict_path"].items()
        ]
        _print_table(
            f"samcl-predict path ({args.stream_frames} frames)",
            ["model", "runtime", "median ms", "p99 ms", "min ms"],
            path_rows,
        )
    if args.json is not None:
        args.json.write_text(json.dumps(results, indent=2))
    return results


if __name__ == "__main__":
    main()
