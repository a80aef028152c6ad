"""Which device a command runs on (``auto``, ``cpu``, ``cuda``, ``cuda:N``) and bfloat16 autocast on it."""

from __future__ import annotations

import contextlib
import re

import torch

DEVICE_CHOICES = "auto, cpu, cuda or cuda:N"
_DEVICE = re.compile(r"^(auto|cpu|cuda(:\d+)?)$")


def resolve_device(name: str) -> torch.device:
    """``auto`` -> the first GPU when CUDA is available, else the CPU; ``cpu``; ``cuda`` / ``cuda:N``.

    Asking for CUDA on a machine without it raises ValueError (instead of a deep torch error).
    """
    key = str(name).strip().lower()
    if not _DEVICE.match(key):
        raise ValueError(f"device must be {DEVICE_CHOICES}, got {name!r}")
    if key == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(key)
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(f"device {name!r}: CUDA is not available here (use --device cpu or --device auto)")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise ValueError(f"device {name!r}: only {torch.cuda.device_count()} CUDA device(s) are visible")
    return device


def autocast(device: torch.device, enabled: bool) -> contextlib.AbstractContextManager:
    """bfloat16 autocast on CUDA when enabled; a no-op otherwise."""
    if enabled and device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()
