"""Torch settings that make a training run repeatable, and the record of them kept in ``summary.json``.

What changes the numbers of two runs with the same seed and data (measured on the CPU; see docs/reproducibility.md):

- the number of intra-op CPU threads: convolutions and matrix products split their sums over threads, and a
  floating-point sum depends on its order, so 1 and 2 threads give different weights after a few steps (runs
  with the same count are bit-identical). ``threads`` fixes it; by default torch takes one per core, so two
  machines with different core counts differ;
- the CPU's instruction set: oneDNN's convolutions pick AVX2 or AVX-512 kernels, which round differently
  (``ONEDNN_MAX_CPU_ISA=AVX2`` in the environment makes an AVX-512 machine use the AVX2 ones), and OpenCV's
  geometric augmentation dispatches by instruction set too; recorded in ``summary.json`` with the versions of
  torch, numpy, OpenCV and Albumentations, which matter as well;
- on CUDA, atomic additions in some backward kernels and cuDNN's choice of algorithm: ``deterministic`` asks
  torch for deterministic algorithms (with a warning naming any operation that has none) and turns cuDNN's
  autotuning off;
- not the DataLoader workers (the augmentation of sample k is seeded from (seed, k)), nor a kill and resume.
"""

from __future__ import annotations

import contextlib
import os
import platform
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch

from samcl.training.distributed import World

#: cuBLAS needs a fixed workspace for deterministic matrix products (read when CUDA starts).
CUBLAS_WORKSPACE = ":4096:8"


def cpu_name() -> str:
    """The processor's model name (``/proc/cpuinfo`` on Linux, else what ``platform`` knows)."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.partition(":")[2].strip()
    return platform.processor() or platform.machine()


def torch_settings() -> dict[str, Any]:
    """The settings that change a run's numbers, as recorded in ``summary.json``."""
    return {
        "threads": torch.get_num_threads(),
        "interop_threads": torch.get_num_interop_threads(),
        "cpu": cpu_name(),
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "onednn_max_cpu_isa": os.environ.get("ONEDNN_MAX_CPU_ISA", "native"),
        "deterministic_algorithms": torch.are_deterministic_algorithms_enabled(),
        "cudnn_deterministic": bool(torch.backends.cudnn.deterministic),
        "cudnn_benchmark": bool(torch.backends.cudnn.benchmark),
    }


@contextlib.contextmanager
def reproducible(threads: int | None = None, deterministic: bool = True) -> Iterator[dict[str, Any]]:
    """Within the block: ``threads`` intra-op CPU threads (None: leave torch's count) and, with ``deterministic``,
    deterministic algorithms (warn only) and no cuDNN autotuning. Yields :func:`torch_settings`; restores the
    previous settings on exit (they are global to the process)."""
    previous = (
        torch.get_num_threads(),
        torch.are_deterministic_algorithms_enabled(),
        torch.is_deterministic_algorithms_warn_only_enabled(),
        torch.backends.cudnn.deterministic,
        torch.backends.cudnn.benchmark,
    )
    had_workspace = "CUBLAS_WORKSPACE_CONFIG" in os.environ
    try:
        if threads is not None:
            torch.set_num_threads(threads)
        if deterministic:
            os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", CUBLAS_WORKSPACE)
            torch.use_deterministic_algorithms(True, warn_only=True)
            torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = True, False
        yield torch_settings()
    finally:
        torch.set_num_threads(previous[0])
        torch.use_deterministic_algorithms(previous[1], warn_only=previous[2])
        torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = previous[3], previous[4]
        if not had_workspace:
            os.environ.pop("CUBLAS_WORKSPACE_CONFIG", None)


def environment(device: torch.device, world: World) -> dict[str, Any]:
    """The device, the number of processes and the versions of the libraries that change a run's numbers."""
    import albumentations
    import cv2

    return {
        "device": str(device),
        "device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else cpu_name(),
        "world_size": world.size,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "numpy": np.__version__,
        "albumentations": albumentations.__version__,
        "opencv": cv2.__version__,
    }
