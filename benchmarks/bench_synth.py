"""Synthetic face generation speed: milliseconds per face, in-process, one core.

    PYTHONPATH=. python benchmarks/bench_synth.py [--size 256x320] [--faces 100] [--repeats 5]

Each repeat generates ``--faces`` faces with ``generate_face`` (new seeds every repeat, nothing cached);
the best and median repeat are reported, clean and --unconstrained. The first face is generated before
timing (imports, OpenCV warm-up).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

from tiaug.synth import face_rng, generate_face


def bench(h: int, w: int, faces: int, repeats: int, unconstrained: bool) -> tuple[float, float]:
    generate_face(h, w, face_rng(0, 0), unconstrained)
    per_face = []
    for rep in range(repeats):
        t0 = time.perf_counter()
        for i in range(faces):
            generate_face(h, w, face_rng(1000 + rep, i), unconstrained)
        per_face.append((time.perf_counter() - t0) / faces * 1e3)
    return min(per_face), statistics.median(per_face)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", default="256x320", help="HxW pixels")
    ap.add_argument("--faces", type=int, default=100)
    ap.add_argument("--repeats", type=int, default=5)
    a = ap.parse_args()
    h, w = (int(v) for v in a.size.lower().split("x"))
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    import cv2

    cv2.setNumThreads(1)
    for unconstrained in (False, True):
        best, med = bench(h, w, a.faces, a.repeats, unconstrained)
        kind = "unconstrained" if unconstrained else "clean"
        runs = f"{a.faces} faces x {a.repeats}"
        print(f"synth {h}x{w} {kind:13s}: {best:.2f} ms/face best, {med:.2f} ms/face median ({runs})")


if __name__ == "__main__":
    main()
