"""Time one training step of ``unet`` with the base loss alone vs base + SAM-CL, side by side.

A step is: ``zero_grad -> forward -> loss -> backward -> optimizer.step`` (Adam), on random
thermal-like inputs (B, 1, H, W) and random 6-class targets. The two configurations use identical
copies of the model and are timed in the same process, interleaved (ABAB..., the order flipping
each repeat), after warm-up steps; the table reports the median milliseconds per step and the
overhead of SAM-CL relative to the base-loss step, from the medians and from the minima (on a
shared machine the minimum is the least disturbed estimate).

Defaults: CPU, batch 8, 256x320, ``unet`` with ``--base-width 16`` (the paper's U-Net has 64; on
two CPU cores a width-64 step takes many seconds, so the default is smaller; pass
``--base-width 64`` on a GPU), base loss CE (as in the measurement quoted in issue 4), SAM-CL
with its defaults (scale-0 distance RMI, MSE feature distance, 4 scales, instance norm,
one batched auxiliary pass). On a GPU: ``--device cuda --amp --batch-size 16 --base-width 64``.

How the SAM-CL side is kept cheap (details in :mod:`samcl.losses.aux_net` and :mod:`samcl.losses.samcl_loss`):

- Nothing about Y+ and Y- runs at full resolution through normalisation or 1x1 convs. A one-hot
  map through ``1x1 conv -> per-sample norm -> ReLU`` is a per-class lookup table whose statistics
  follow from the class counts, so the first auxiliary block for Y+ and Y- is one grouped 3x3
  stride-2 conv of the one-hot labels with per-sample kernels (exact; tested against the plain
  network). Only Y (B maps, not 3B) goes through the first block as written.
- The norm is per-sample (GroupNorm with one group per channel), so the three maps share one batched
  pass from half resolution on and the result equals three separate passes; no batch-norm
  statistics over full-resolution maps (what dominated the straightforward version's profile).
- Scale-0 distances use the label maps directly (gathers and per-class sums instead of products
  with one-hot maps); RMI's 3x3 max-pool of a one-hot map is a scatter, and the prediction's
  RMI statistics are computed once for d(Y, Y+) and d(Y, Y-), in float64 as RMI requires.
- No host-device synchronisation on a GPU (device-side label check, pinned derangement copy,
  ``cholesky_ex``). Under ``--amp`` convolutions run in bf16/fp16 while distances are computed in
  float32 (float64 for RMI's covariances and log-determinants).
- On CPU, 1x1 convs run as batched matmuls and 3x3 convs in channels-last layout (oneDNN is several
  times slower on NCHW maps with a handful of channels).

``--naive`` adds a third configuration, the straightforward SAM-CL (batch norm, three separate
auxiliary passes over full-resolution one-hot maps, map-based distances), for comparison.

``--adversarial-k 2,4`` adds worst-of-K steps (``samcl-train --adversarial-k``): before the base-loss step, one
no-grad forward pass scores K candidates per image (K x B images, at ``--adversarial-scale`` of their size) and
the hardest is trained on. It also times the candidates' side in a DataLoader worker: one image's K
photometric draws (TiAug + scene, geometry once) with the paper's pipeline, per image, against one draw.

Usage::

    python benchmarks/bench_train_step.py                       # CPU, batch 8
    python benchmarks/bench_train_step.py --device cuda --amp --batch-size 16 --base-width 64
    python benchmarks/bench_train_step.py --json out.json
    python benchmarks/bench_train_step.py --adversarial-k 2,4 --adversarial-scale 0.5   # worst-of-K cost
"""

from __future__ import annotations

import argparse
import copy
import json
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from samcl.losses import SAMCL_PRESETS, SAMCLLoss, build_loss
from samcl.losses.samcl_loss import DEFAULT_PRESET
from samcl.models import build_model, has_base_width


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def make_step(model, loss_fn, params, device, amp: bool, amp_dtype):
    opt = torch.optim.Adam(params, lr=1e-4)

    def step(x, y):
        opt.zero_grad(set_to_none=True)
        with torch.autocast(device_type=device.type, dtype=amp_dtype, enabled=amp):
            logits = model(x)
            loss = loss_fn(logits, y)
        loss.backward()
        opt.step()
        return loss

    return step


def make_adversarial_step(model, loss_fn, device, amp: bool, amp_dtype, k: int, scale: float, seed: int):
    """A worst-of-K step: score K jittered copies of each image with one no-grad pass, train on the hardest."""
    from samcl.training.adversarial import candidate_losses, choose_candidates, per_sample_ce, take

    train = make_step(model, loss_fn, list(model.parameters()), device, amp, amp_dtype)
    g = torch.Generator().manual_seed(seed)

    def step(x, y):
        jitter = torch.randn(x.shape[0], k, *x.shape[1:], generator=g).to(device)
        candidates = x[:, None] + 0.1 * jitter
        masks = y[:, None].expand(-1, k, -1, -1)
        with torch.autocast(device_type=device.type, dtype=amp_dtype, enabled=amp):
            losses = candidate_losses(model, candidates, masks, per_sample_ce, 255, scale)
        chosen = choose_candidates(losses)
        return train(take(candidates, chosen), take(masks, chosen))

    return step


def time_candidate_draws(ks: list[int], height: int, width: int, repeats: int, seed: int) -> dict[str, float]:
    """Median ms per image of K photometric draws in a DataLoader worker (CandidateSet), K = 1 and each of ``ks``."""
    import tempfile

    from samcl.training.candidates import CandidateSet
    from samcl.training.config import TrainConfig
    from samcl.training.data import compute_normalization, view_seed
    from tiaug.io import write_thermal_h5
    from tiaug.synth import generate_faces

    with tempfile.TemporaryDirectory() as folder:
        path = str(Path(folder) / "faces.h5")
        faces = generate_faces(8, height, width, seed=seed)
        write_thermal_h5(path, faces.images, faces.masks)
        config = TrainConfig(data=path, val=path, out=folder, crop=(height, width), seed=seed)
        dataset = CandidateSet(config, compute_normalization(path))
        out = {}
        for k in [1, *ks]:
            times = []
            for r in range(repeats * 8):
                item = (r % 8, r, tuple(view_seed(r, c) for c in range(k)), ())
                t0 = time.perf_counter()
                dataset[item]
                times.append((time.perf_counter() - t0) * 1e3)
            out[f"K={k}" if k > 1 else "one draw"] = statistics.median(times[8:])
    return out


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--height", type=int, default=256)
    ap.add_argument("--width", type=int, default=320)
    ap.add_argument("--classes", type=int, default=6)
    ap.add_argument("--model", default="unet")
    ap.add_argument(
        "--base-width",
        type=int,
        default=16,
        help="width of a model that takes one (samcl.models.has_base_width); the others build at their own",
    )
    ap.add_argument("--base-loss", default="ce", choices=["ce", "dice", "rmi"])
    ap.add_argument("--seg-distance", default="rmi", choices=["rmi", "dice", "ce"])
    ap.add_argument("--feat-distance", default="mse", choices=["mse", "l1", "cosine"])
    ap.add_argument("--aux-norm", default="instance", choices=["instance", "group", "batch", "none"])
    ap.add_argument("--separate-aux", action="store_true", help="three auxiliary passes instead of one")
    ap.add_argument("--naive", action="store_true", help="also time a straightforward SAM-CL (BN, 3 separate passes)")
    ap.add_argument("--amp", action="store_true", help="autocast the forward pass")
    ap.add_argument("--amp-dtype", default="bf16", choices=["bf16", "fp16"], help="autocast dtype (bf16)")
    ap.add_argument("--channels-last", action="store_true")
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: leave the default)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--samcl-preset", default=DEFAULT_PRESET, choices=sorted(SAMCL_PRESETS))
    ap.add_argument("--adversarial-k", default="", help="comma-separated K of worst-of-K steps to add, e.g. 2,4")
    ap.add_argument("--adversarial-scale", type=float, default=1.0, help="scoring size, fraction of the input")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args(argv)

    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    torch.manual_seed(args.seed)
    amp_dtype = torch.bfloat16 if args.amp_dtype == "bf16" else torch.float16
    mf = torch.channels_last if args.channels_last else torch.contiguous_format

    width = {"base_width": args.base_width} if has_base_width(args.model) else {}
    model_a = build_model(args.model, args.classes, **width).to(device, memory_format=mf)
    model_b = copy.deepcopy(model_a)
    base = build_loss(args.base_loss, args.classes).to(device)

    def make_samcl(**choices: Any) -> SAMCLLoss:
        """SAM-CL with the command line's loss settings and these implementation choices."""
        loss = SAMCLLoss(
            args.classes,
            base_loss=args.base_loss,
            preset=args.samcl_preset,
            seg_distance=args.seg_distance,
            feat_distance=args.feat_distance,
            seed=args.seed,
            **choices,
        )
        return loss.to(device, memory_format=mf)

    samcl = make_samcl(aux_norm=args.aux_norm, batched_aux=not args.separate_aux)
    g = torch.Generator().manual_seed(args.seed)
    x = (30 + 3 * torch.randn(args.batch_size, 1, args.height, args.width, generator=g)).to(device, memory_format=mf)
    y = torch.randint(0, args.classes, (args.batch_size, args.height, args.width), generator=g).to(device)

    configs = {
        "base": make_step(model_a, base, list(model_a.parameters()), device, args.amp, amp_dtype),
        "base+samcl": make_step(
            model_b, samcl, [*model_b.parameters(), *samcl.parameters()], device, args.amp, amp_dtype
        ),
    }
    if args.naive:
        # the straightforward version: batch norm, three separate auxiliary passes over one-hot maps
        naive = make_samcl(aux_norm="batch", batched_aux=False, fast_path=False)
        model_c = copy.deepcopy(model_a)
        configs["base+samcl (naive)"] = make_step(
            model_c, naive, [*model_c.parameters(), *naive.parameters()], device, args.amp, amp_dtype
        )
    labels = {
        "base": args.base_loss,
        "base+samcl": f"{args.base_loss} + 0.5 SAM-CL (d0={args.seg_distance}, {args.feat_distance})",
    }
    if args.naive:
        labels["base+samcl (naive)"] = labels["base+samcl"] + ", naive: BN, 3 separate aux passes, one-hot maps"
    ks = [int(k) for k in args.adversarial_k.split(",") if k.strip()]
    for k in ks:
        name = f"base+worst-of-{k}"
        configs[name] = make_adversarial_step(
            copy.deepcopy(model_a), base, device, args.amp, amp_dtype, k, args.adversarial_scale, args.seed
        )
        labels[name] = f"{args.base_loss}, worst of {k} (scored at {args.adversarial_scale:g} of the size)"
    times: dict[str, list[float]] = {k: [] for k in configs}
    for _ in range(args.warmup):
        for step in configs.values():
            step(x, y)
    _sync(device)
    names = list(configs)
    for r in range(args.repeats):
        shift = r % len(names)
        order = names[shift:] + names[:shift]
        for name in order if r % 2 == 0 else order[::-1]:
            _sync(device)
            t0 = time.perf_counter()
            configs[name](x, y)
            _sync(device)
            times[name].append((time.perf_counter() - t0) * 1e3)

    med = {k: statistics.median(v) for k, v in times.items()}
    mins = {k: min(v) for k, v in times.items()}
    overheads = {k: 100.0 * (med[k] / med["base"] - 1.0) for k in names if k != "base"}
    overheads_min = {k: 100.0 * (mins[k] / mins["base"] - 1.0) for k in names if k != "base"}
    overhead = overheads["base+samcl"]
    dev_name = torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or "cpu"
    result = {
        "device": str(device),
        "device_name": dev_name,
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "model": args.model,
        "base_width": width.get("base_width"),
        "batch_size": args.batch_size,
        "size": [args.height, args.width],
        "classes": args.classes,
        "base_loss": args.base_loss,
        "seg_distance": args.seg_distance,
        "feat_distance": args.feat_distance,
        "aux_norm": args.aux_norm,
        "batched_aux": not args.separate_aux,
        "amp": args.amp,
        "amp_dtype": str(amp_dtype).replace("torch.", "") if args.amp else None,
        "channels_last": args.channels_last,
        "repeats": args.repeats,
        "median_ms": med,
        "all_ms": times,
        "samcl_overhead_pct": overhead,
        "overheads_pct": overheads,
        "overheads_of_min_pct": overheads_min,
    }
    print(
        f"{args.model}{f' (base width {args.base_width})' if width else ''}, batch {args.batch_size}, "
        f"{args.height}x{args.width}, "
        f"{args.classes} classes, device {device} ({dev_name}, {torch.get_num_threads()} threads), "
        f"amp={'off' if not args.amp else result['amp_dtype']}, channels_last={args.channels_last}, "
        f"median of {args.repeats} interleaved steps\n"
    )
    print("| configuration | median ms / step | min ms | max ms | overhead (medians) | overhead (mins) |")
    print("|---|---:|---:|---:|---:|---:|")
    for name in names:
        ov = "- | -" if name == "base" else f"{overheads[name]:+.1f}% | {overheads_min[name]:+.1f}%"
        print(f"| {labels[name]} | {med[name]:.1f} | {min(times[name]):.1f} | {max(times[name]):.1f} | {ov} |")
    if ks:
        draws = result["candidate_draw_ms"] = time_candidate_draws(ks, args.height, args.width, args.repeats, args.seed)
        print("\n| photometric draws per image (one worker) | median ms / image |\n|---|---:|")
        for name, ms in draws.items():
            print(f"| {name} | {ms:.2f} |")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
