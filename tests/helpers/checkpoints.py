"""Checkpoints for the samcl inference and CLI tests: the payload of a tiny U-Net and what it predicts."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from samcl.artifacts.checkpoint import load_checkpoint, model_from_checkpoint, normalization_of
from samcl.inference.predictor import predict_labels
from tiaug.io import DEFAULT_CLASSES

CLASSES = list(DEFAULT_CLASSES)
NORMALIZATION = {"mean": 27.0, "std": 5.0}  # degC


def checkpoint_payload(state: dict, *, kwargs: dict | None = None, classes: list[str] | None = None) -> dict:
    """A checkpoint's contents around a U-Net ``state`` dict (base width 4 unless ``kwargs`` say otherwise)."""
    classes = CLASSES if classes is None else classes
    return {
        "model": {"name": "unet", "kwargs": kwargs or {"base_width": 4}, "num_classes": len(classes), "in_channels": 1},
        "classes": classes,
        "ignore_index": 255,
        "normalization": dict(NORMALIZATION),
        "input_size": [32, 48],
        "model_state": state,
        "iteration": 40,
        "config": {},
    }


def reference_labels(checkpoint: Path, images: np.ndarray) -> np.ndarray:
    """What the checkpoint predicts for ``images`` (N, H, W) in degC, computed without the commands."""
    payload = load_checkpoint(checkpoint)
    model = model_from_checkpoint(payload).eval()
    return predict_labels(model, images, normalization_of(payload))
