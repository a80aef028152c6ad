"""Self-describing checkpoints: everything eval and predict need travels with the weights.

A checkpoint is a ``torch.save``d dict::

    format         "samcl-checkpoint" (refused otherwise), version 1
    model          {"name": registry name, "kwargs": constructor arguments, "num_classes", "in_channels"}
    classes        class names (index = label), ignore_index
    normalization  {"mean": C, "std": C, "mode": "dataset" | "image"} (see :class:`Normalization`; checkpoints
                   without "mode" are "dataset")
    input_size     [H, W] the network was trained on (a multiple of the model's size_multiple)
    model_state    the segmentation network's state_dict
    iteration, best_miou, best_iteration, config (the resolved training configuration)
    train_state    (last.pt, for --resume) optimiser, scheduler, AMP scaler, loss (auxiliary network), RNG states

Files are written to a temporary name in the same folder and renamed when complete.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from samcl.models import build_model

FORMAT = "samcl-checkpoint"
VERSION = 1


INPUT_NORMS = ("dataset", "image")
IMAGE_NORM_SAMPLES = 4096  # grid samples per image for its quantiles
IMAGE_NORM_MIN_SCALE = 0.25  # degrees Celsius: the smallest robust spread (flat frames are not amplified)
_NORMAL_P5_P95 = 3.2897  # p95 - p5 of a standard normal: the quantile span is turned into a robust std


@dataclass(frozen=True)
class Normalization:
    """Maps temperatures (degrees Celsius) to network inputs.

    ``mode="dataset"``: ``(t - mean) / std`` with one mean and std (degrees Celsius) for every image, measured on
    the training set: the network sees absolute temperatures. ``mode="image"``: each image (the last two axes)
    is centred on its own median and divided by its robust spread ``(p95 - p5) / 3.29`` (at least 0.25 C),
    both taken on a regular grid of about 4,096 pixels: a warm room, a cold room or a camera offset/gain moves
    the input far less. ``mean``/``std`` are kept (and stored) in both modes. Works on numpy arrays and torch
    tensors of shape (..., H, W).
    """

    mean: float
    std: float
    mode: str = "dataset"

    def __post_init__(self) -> None:
        if self.mode not in INPUT_NORMS:
            raise ValueError(f"input normalisation must be one of {list(INPUT_NORMS)}, got {self.mode!r}")

    def __call__(self, images: np.ndarray | torch.Tensor) -> np.ndarray | torch.Tensor:
        if self.mode == "dataset":
            return (images - self.mean) / self.std
        height, width = images.shape[-2:]
        step = max(1, int(np.sqrt(height * width / IMAGE_NORM_SAMPLES)))
        grid = images[..., ::step, ::step].reshape(*images.shape[:-2], -1)
        if torch.is_tensor(images):
            q = torch.quantile(grid.float(), torch.tensor([0.05, 0.5, 0.95], device=grid.device), dim=-1)
            q = q.to(images.dtype)[..., None, None]
            scale = ((q[2] - q[0]) / _NORMAL_P5_P95).clamp_min(IMAGE_NORM_MIN_SCALE)
        else:
            q = np.quantile(grid, [0.05, 0.5, 0.95], axis=-1).astype(images.dtype)[..., None, None]
            scale = np.maximum((q[2] - q[0]) / _NORMAL_P5_P95, IMAGE_NORM_MIN_SCALE).astype(images.dtype)
        return (images - q[1]) / scale

    def as_dict(self) -> dict[str, float | str]:
        return {"mean": self.mean, "std": self.std, "mode": self.mode}


def save_checkpoint(path: str | Path, payload: dict[str, Any]) -> None:
    """Write ``payload`` whole or not at all (temporary file in the same folder, then rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(handle)
    try:
        torch.save({"format": FORMAT, "version": VERSION, **payload}, tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Read and check a checkpoint; a missing, unreadable or foreign file raises ValueError naming it."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"checkpoint {path}: file not found")
    try:
        payload = torch.load(path, map_location=map_location, weights_only=False)
    except Exception as e:  # pickle, zip or torch errors: not a checkpoint we can read
        raise ValueError(f"checkpoint {path}: not a readable PyTorch checkpoint ({type(e).__name__}: {e})") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise ValueError(f"checkpoint {path}: not a samcl checkpoint (no 'format': '{FORMAT}' entry)")
    if payload.get("version", 0) > VERSION:
        raise ValueError(f"checkpoint {path}: version {payload['version']} is newer than this samcl ({VERSION})")
    for key in ("model", "model_state", "classes", "normalization"):
        if key not in payload:
            raise ValueError(f"checkpoint {path}: missing entry {key!r}")
    return payload


def build_model_from_spec(spec: dict[str, Any]) -> nn.Module:
    """The (untrained) network a checkpoint's ``model`` entry describes."""
    return build_model(spec["name"], spec["num_classes"], in_channels=spec.get("in_channels", 1), **spec["kwargs"])


def model_from_checkpoint(payload: dict[str, Any], source: str | Path = "checkpoint") -> nn.Module:
    """Rebuild the network and load its weights; a state that does not fit the model raises ValueError."""
    model = build_model_from_spec(payload["model"])
    try:
        model.load_state_dict(payload["model_state"])
    except RuntimeError as e:
        spec = payload["model"]
        raise ValueError(
            f"{source}: weights do not fit model {spec['name']!r} with {spec['kwargs']} "
            f"(a checkpoint from a different model?): {str(e).splitlines()[0]}"
        ) from None
    return model


def normalization_of(payload: dict[str, Any]) -> Normalization:
    """The checkpoint's input normalisation."""
    entry = payload["normalization"]
    return Normalization(float(entry["mean"]), float(entry["std"]), str(entry.get("mode", "dataset")))
