"""Per-image augmentation throughput on one core: TiAug vs Albumentations' CoarseDropout vs a plain copy.

Times, in one run and interleaved (so machine noise hits every candidate alike), on a 256x320 float32 thermal
face with its mask: TiAugOcclusion (p=1) per configuration and mixed, ThermalNoise, occlusion + noise, the
paper's full training preset, ``A.CoarseDropout`` (the peer) and ``np.copy`` (the floor).

Targets (issue 2): occlusion + noise <= 2x CoarseDropout; the full preset < 1 ms per image.

``--clock cpu`` (the default) times each block with the thread's CPU time, which a loaded machine does not
inflate by preempting the benchmark (at a low priority on busy cores wall-clock blocks vary by 10x and more);
``--clock wall`` uses the wall clock. Either way, read the ratios to CoarseDropout.

    python benchmarks/bench_augment.py [--repeats 15] [--calls 200] [--clock cpu|wall] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from collections.abc import Callable

import albumentations as A
import cv2
import numpy as np

from tiaug.presets import paper_training_pipeline
from tiaug.synth import generate_face
from tiaug.transforms import ThermalNoise, TiAugOcclusion


def candidates(image: np.ndarray, mask: np.ndarray) -> dict[str, Callable[[], object]]:
    """Name -> zero-argument callable doing one augmentation of (image, mask)."""

    def compose(*transforms: A.BasicTransform) -> Callable[[], object]:
        pipeline = A.Compose(list(transforms), seed=0)
        return lambda: pipeline(image=image, mask=mask)

    def occlusion(configuration: str | None = None) -> TiAugOcclusion:
        return TiAugOcclusion(p=1, configurations=None if configuration is None else {configuration: 1.0})

    preset = paper_training_pipeline(seed=0)
    return {
        "np.copy (floor)": lambda: np.copy(image),
        "A.CoarseDropout (peer)": compose(A.CoarseDropout(p=1)),
        "TiAugOcclusion single": compose(occlusion("single")),
        "TiAugOcclusion dual": compose(occlusion("dual")),
        "TiAugOcclusion connected": compose(occlusion("connected")),
        "TiAugOcclusion mixed": compose(occlusion()),
        "ThermalNoise": compose(ThermalNoise(p=1)),
        "occlusion + noise": compose(occlusion(), ThermalNoise(p=1)),
        "paper preset (full pipeline)": lambda: preset(image=image, mask=mask),
    }


def measure(
    funcs: dict[str, Callable[[], object]], repeats: int, calls: int, clock: Callable[[], float] = time.thread_time
) -> dict[str, float]:
    """Median over ``repeats`` interleaved blocks of the mean time per call (by ``clock``), in microseconds."""
    samples: dict[str, list[float]] = {name: [] for name in funcs}
    for func in funcs.values():  # warm up caches, lazy textures, first allocations
        for _ in range(20):
            func()
    for _ in range(repeats):
        for name, func in funcs.items():
            start = clock()
            for _ in range(calls):
                func()
            samples[name].append((clock() - start) / calls * 1e6)
    return {name: statistics.median(values) for name, values in samples.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--clock", choices=("cpu", "wall"), default="cpu", help="thread CPU time or wall clock")
    parser.add_argument("--json", help="also write the numbers to this JSON file")
    args = parser.parse_args()

    cv2.setNumThreads(1)
    face = generate_face(256, 320, np.random.default_rng(0))
    image, mask = face.image, face.mask
    clock = time.thread_time if args.clock == "cpu" else time.perf_counter
    results = measure(candidates(image, mask), args.repeats, args.calls, clock)
    peer = results["A.CoarseDropout (peer)"]

    blocks = f"median of {args.repeats} interleaved blocks of {args.calls} calls"
    print(f"256x320 float32, one core, {args.clock} time, {blocks}")
    print(f"machine: {platform.processor() or platform.machine()}, Python {platform.python_version()}\n")
    print("| operation | us / image | x CoarseDropout |")
    print("|---|---:|---:|")
    for name, micros in results.items():
        print(f"| {name} | {micros:.1f} | {micros / peer:.2f} |")
    ratio = results["occlusion + noise"] / peer
    preset_ms = results["paper preset (full pipeline)"] / 1000
    print(f"\nocclusion + noise = {ratio:.2f}x CoarseDropout (target <= 2x): {'met' if ratio <= 2 else 'NOT met'}")
    print(f"full preset = {preset_ms:.3f} ms per image (target < 1 ms): {'met' if preset_ms < 1 else 'NOT met'}")
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(
                {"us_per_image": results, "occlusion_noise_over_peer": ratio, "preset_ms": preset_ms}, handle, indent=2
            )


if __name__ == "__main__":
    main()
