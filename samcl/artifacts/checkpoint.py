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
    train_state    (last.pt, for --resume) optimisers, scheduler, training add-ons, RNG states
                   (:mod:`samcl.training.checkpoints`)

Files are written to a temporary name in the same folder and renamed when complete.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from samcl.artifacts.normalization import Normalization
from samcl.models import build_model
from tiaug.io.h5.atomic import atomic_output

FORMAT = "samcl-checkpoint"
VERSION = 1


def save_checkpoint(path: str | Path, payload: dict[str, Any]) -> None:
    """Write ``payload`` whole or not at all (temporary file in the same folder, then rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_output(path, overwrite=True) as tmp:
        torch.save({"format": FORMAT, "version": VERSION, **payload}, tmp)


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
