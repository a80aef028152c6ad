"""A trained network ready for inference: device choice and a checkpoint turned into a predictor.

``load_inference_model("run/best.pt", device="auto")`` reads a self-describing checkpoint
(:mod:`samcl.checkpoint`), rebuilds its network on the chosen device in eval mode and returns an
:class:`InferenceModel` whose ``predict(images)`` maps temperatures (B, H, W) in degrees Celsius to class
indices (B, H, W) uint8, at any image size. Every refusal is a ``ValueError`` naming the file and the problem.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from samcl.checkpoint import Normalization, load_checkpoint, model_from_checkpoint, normalization_of
from samcl.inference import predict_labels

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


def resolve_checkpoint_path(path: str | Path) -> Path:
    """A checkpoint file; a training run folder stands for its ``best.pt`` (then ``last.pt``)."""
    path = Path(path)
    if path.is_dir():
        for name in ("best.pt", "last.pt"):
            if (path / name).is_file():
                return path / name
        raise ValueError(f"checkpoint {path}: is a folder without best.pt or last.pt; give a checkpoint file")
    return path


@dataclass
class InferenceModel:
    """A segmentation network in eval mode with everything needed to run it on temperatures."""

    model: nn.Module
    normalization: Normalization
    classes: tuple[str, ...]
    ignore_index: int
    spec: dict[str, Any]
    input_size: tuple[int, int] | None
    device: torch.device
    amp: bool
    source: Path

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def describe(self) -> str:
        """One line: file, model name and arguments, classes."""
        kwargs = ", ".join(f"{k}={v}" for k, v in self.spec.get("kwargs", {}).items())
        return f"{self.source} ({self.spec['name']}({kwargs}), {self.num_classes} classes, on {self.device})"

    def predict(self, images: np.ndarray) -> np.ndarray:
        """Class index per pixel (B, H, W) uint8 for temperatures (B, H, W) in degrees Celsius."""
        return predict_labels(self.model, images, self.normalization, self.device, self.amp)


def _checked_classes(payload: dict[str, Any], source: Path) -> tuple[str, ...]:
    classes = payload["classes"]
    if not isinstance(classes, list | tuple) or not classes or not all(isinstance(c, str) for c in classes):
        raise ValueError(f"checkpoint {source}: 'classes' must be a non-empty list of class names, got {classes!r}")
    spec = payload["model"]
    if not isinstance(spec, dict) or not {"name", "kwargs", "num_classes"} <= set(spec):
        raise ValueError(f"checkpoint {source}: 'model' must hold name, kwargs and num_classes, got {spec!r}")
    if int(spec["num_classes"]) != len(classes):
        raise ValueError(
            f"checkpoint {source}: the model has {spec['num_classes']} output classes but the checkpoint names "
            f"{len(classes)} ({list(classes)})"
        )
    if int(spec.get("in_channels", 1)) != 1:
        raise ValueError(
            f"checkpoint {source}: the model takes {spec['in_channels']} input channels; thermal images have one"
        )
    return tuple(classes)


def load_inference_model(path: str | Path, device: str | torch.device = "auto", amp: bool = False) -> InferenceModel:
    """Read a checkpoint (file or run folder) and rebuild its network on ``device``, in eval mode.

    ``amp``: bfloat16 autocast on CUDA (ignored on the CPU). Raises ValueError for a missing, unreadable or
    foreign checkpoint, inconsistent entries, or weights that do not fit the described model.
    """
    device = device if isinstance(device, torch.device) else resolve_device(device)
    source = resolve_checkpoint_path(path)
    payload = load_checkpoint(source, map_location="cpu")
    classes = _checked_classes(payload, source)
    try:
        normalization = normalization_of(payload)
    except (KeyError, TypeError, ValueError):
        raise ValueError(
            f"checkpoint {source}: 'normalization' must be {{'mean': C, 'std': C}}, got {payload['normalization']!r}"
        ) from None
    if not (np.isfinite(normalization.mean) and np.isfinite(normalization.std) and normalization.std > 0):
        raise ValueError(f"checkpoint {source}: normalization std must be a positive number, got {normalization}")
    try:
        model = model_from_checkpoint(payload, source)
    except (TypeError, KeyError) as e:  # unknown constructor arguments, malformed spec
        raise ValueError(f"checkpoint {source}: cannot rebuild model {payload['model']!r} ({e})") from None
    except ValueError as e:  # e.g. an unknown model name
        if str(source) in str(e):
            raise
        raise ValueError(f"checkpoint {source}: {e}") from None
    model.to(device).eval()
    size = payload.get("input_size")
    return InferenceModel(
        model=model,
        normalization=normalization,
        classes=classes,
        ignore_index=255 if payload.get("ignore_index") is None else int(payload["ignore_index"]),
        spec=dict(payload["model"]),
        input_size=tuple(int(v) for v in size) if size is not None else None,
        device=device,
        amp=bool(amp) and device.type == "cuda",
        source=source,
    )
