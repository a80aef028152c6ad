"""Training throughput of `samcl-train` against a minimal hand-written PyTorch loop, in one run.

Both train the same network with the same loss (base + SAM-CL), optimiser and batch size on the same
synthetic 256x320 data. The minimal loop keeps the data as tensors in memory and applies no augmentation;
`samcl-train` reads HDF5 rows and runs the paper's augmentation with TiAug in DataLoader workers, logs,
and checkpoints. Throughput is images/s over the steps after a warm-up (``--warmup`` steps excluded from
both). Target (issue 5): samcl-train >= 0.9 x the minimal loop.

    python benchmarks/bench_train_throughput.py [--steps 40] [--batch-size 8] [--base-width 16] [--device cpu]
    python benchmarks/bench_train_throughput.py --device cuda --batch-size 16 --base-width 64 --steps 200
"""

from __future__ import annotations

import argparse
import csv
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from samcl.device import autocast
from samcl.losses import SAMCLLoss
from samcl.models import build_model
from samcl.training.config import TrainConfig
from samcl.training.data import compute_normalization
from samcl.training.loop import Run
from tiaug.io import write_thermal_h5
from tiaug.synth import generate_faces


def minimal_loop(data: Path, args: argparse.Namespace, device: torch.device, amp: bool) -> float:
    """images/s of a bare loop: in-memory tensors, random rows, no augmentation, no logging."""
    faces = generate_faces(args.images, 256, 320, seed=0)
    norm = compute_normalization(str(data))
    images = torch.from_numpy(np.asarray(norm(faces.images), dtype=np.float32))[:, None].to(device)
    masks = torch.from_numpy(faces.masks.astype(np.int64)).to(device)
    torch.manual_seed(0)
    model = build_model("unet", 6, base_width=args.base_width).to(device)
    criterion = SAMCLLoss(6, base_loss="rmi", seed=0).to(device)
    params = list(model.parameters()) + list(criterion.parameters())
    optimizer = torch.optim.SGD(params, lr=0.01, momentum=0.9, weight_decay=5e-4)
    generator = torch.Generator().manual_seed(0)
    start = 0.0
    for step in range(args.warmup + args.steps):
        if step == args.warmup:
            if device.type == "cuda":
                torch.cuda.synchronize()
            start = time.perf_counter()
        rows = torch.randint(0, len(images), (args.batch_size,), generator=generator).to(device)
        with autocast(device, amp):
            loss = criterion(model(images[rows]), masks[rows])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        float(loss.detach())  # the framework reads the loss every step too (for its log)
    if device.type == "cuda":
        torch.cuda.synchronize()
    return args.steps * args.batch_size / (time.perf_counter() - start)


def framework(data: Path, run_dir: Path, args: argparse.Namespace) -> float:
    """images/s of samcl-train's loop (HDF5 + on-the-fly TiAug in workers), from its metrics.csv."""
    config = TrainConfig(
        data=str(data),
        val=str(data),
        out=str(run_dir),
        model="unet",
        model_kwargs={"base_width": args.base_width},
        loss="rmi",
        samcl=True,
        tiaug=True,
        iters=args.warmup + args.steps,
        batch_size=args.batch_size,
        val_every=10**9,
        checkpoint_every=10**9,
        log_every=args.warmup,
        device=args.device,
        workers=args.workers,
        amp=args.amp,
    ).validate()
    Run(config).fit()
    with (run_dir / "metrics.csv").open() as handle:
        rows = [r for r in csv.DictReader(handle) if int(r["iteration"]) > args.warmup]
    seconds = sum(args.warmup * args.batch_size / float(r["images_per_s"]) for r in rows)  # one row per interval
    return args.steps * args.batch_size / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=40, help="timed steps (a multiple of --warmup)")
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--base-width", type=int, default=16)
    parser.add_argument("--images", type=int, default=64)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--amp", action=argparse.BooleanOptionalAction, default=None)
    parser.add_argument("--json", help="also write the numbers to this JSON file")
    args = parser.parse_args()
    if args.steps % args.warmup:
        parser.error("--steps must be a multiple of --warmup (the framework logs every --warmup steps)")
    device = torch.device(args.device if args.device != "auto" else ("cuda" if torch.cuda.is_available() else "cpu"))
    amp = args.amp if args.amp is not None else device.type == "cuda"

    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "train.h5"
        faces = generate_faces(args.images, 256, 320, seed=0)
        write_thermal_h5(data, faces.images, faces.masks)
        bare = minimal_loop(data, args, device, amp)
        ours = framework(data, Path(tmp) / "run", args)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU ({torch.get_num_threads()} threads)"
    print(f"unet base width {args.base_width}, 256x320, batch {args.batch_size}, RMI + SAM-CL, {name}, amp={amp}")
    print(f"{args.steps} timed steps after {args.warmup} warm-up steps; samcl-train with {args.workers} workers\n")
    print("| loop | images/s |")
    print("|---|---:|")
    print(f"| minimal PyTorch loop (in-memory tensors, no augmentation) | {bare:.1f} |")
    print(f"| samcl-train (HDF5, on-the-fly TiAug preset, logging) | {ours:.1f} |")
    ratio = ours / bare
    print(f"\nsamcl-train / minimal = {ratio:.3f} (target >= 0.9): {'met' if ratio >= 0.9 else 'NOT met'}")
    if args.json:
        Path(args.json).write_text(
            json.dumps(
                {"minimal": bare, "samcl_train": ours, "ratio": ratio, "device": name, "args": vars(args)}, indent=2
            )
        )


if __name__ == "__main__":
    main()
