"""Writing faces' bytes to disk through the page cache or past it (``O_DIRECT``): throughput and kernel CPU.

Writes ``--faces`` faces' worth of bytes (256x320 float32 image + uint8 mask = 410 KB each) to ``--dir``, in
blocks of ``--block`` faces from one page-aligned buffer, then ``fsync``; once buffered and once with
``O_DIRECT`` (Linux). This is what the main process of `tiaug augment` does with each batch
(``tiaug/io/h5/direct_rows.py``). The kernel (system) CPU time says what the page cache costs per byte.

    python benchmarks/bench_direct_write.py [--faces 20000] [--block 32] [--dir /work/bench]

Needs ``--faces`` x 410 KB of free disk (removed at the end).
"""

from __future__ import annotations

import argparse
import mmap
import os
import time
from pathlib import Path

from bench_augment_cli import ROW_BYTES as FACE_BYTES  # one 256x320 float32 image + uint8 mask


def write_once(path: Path, faces: int, block: int, direct: bool) -> dict[str, float]:
    """Write ``faces`` x FACE_BYTES in blocks of ``block`` faces; wall seconds and system CPU seconds."""
    buffer = mmap.mmap(-1, block * FACE_BYTES)  # page-aligned, as O_DIRECT needs
    buffer.write(os.urandom(len(buffer)))
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | (os.O_DIRECT if direct else 0)
    fd = os.open(path, flags, 0o644)
    start, cpu = time.perf_counter(), os.times()
    try:
        for k in range(faces // block):
            os.pwrite(fd, buffer, k * len(buffer))
        os.fsync(fd)
    finally:
        os.close(fd)
        path.unlink()
    wall, after = time.perf_counter() - start, os.times()
    return {"seconds": wall, "system_s": after.system - cpu.system, "mb_per_s": faces * FACE_BYTES / 1e6 / wall}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--faces", type=int, default=20000)
    parser.add_argument("--block", type=int, default=32)
    parser.add_argument("--dir", type=Path, default=Path("."))
    args = parser.parse_args()
    if not hasattr(os, "O_DIRECT"):
        raise SystemExit("O_DIRECT is Linux-only")
    print("| writes | faces/s | MB/s | kernel CPU s |\n|---|---:|---:|---:|")
    for direct in (False, True):
        os.sync()
        r = write_once(args.dir / "bench_direct_write.bin", args.faces, args.block, direct)
        name = "O_DIRECT" if direct else "page cache"
        print(f"| {name} | {args.faces / r['seconds']:.0f} | {r['mb_per_s']:.0f} | {r['system_s']:.1f} |")


if __name__ == "__main__":
    main()
