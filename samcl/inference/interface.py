"""What every predictor offers, PyTorch's (:mod:`samcl.inference.predictor`) and onnxruntime's
(:mod:`samcl.inference.onnx_model`): classes, normalisation and ``predict`` on frames in degrees Celsius."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch


def frames_of(images: np.ndarray | torch.Tensor) -> tuple[np.ndarray | torch.Tensor, bool]:
    """(B, H, W) frames of one (H, W) frame or a (B, H, W) stack, and whether it was one frame."""
    if not torch.is_tensor(images):
        images = np.asarray(images, dtype=np.float32)
    if images.ndim == 2:
        return images[None], True
    if images.ndim != 3:
        raise ValueError(f"predict takes an (H, W) frame or an (N, H, W) stack in degrees Celsius, got {images.shape}")
    return images, False


class Predictor:
    """What every predictor offers (:class:`InferenceModel`, ``OnnxModel``): classes, normalisation, ``predict``.

    Subclasses are dataclasses with ``classes``, ``normalization``, ``ignore_index``, ``spec``, ``input_size``,
    ``device`` and ``source``, and implement :meth:`predict_batch`.
    """

    classes: tuple[str, ...]
    ignore_index: int
    spec: dict[str, Any]
    device: Any
    source: Path

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def describe(self) -> str:
        """One line: file, model name and arguments, classes."""
        kwargs = ", ".join(f"{k}={v}" for k, v in self.spec.get("kwargs", {}).items())
        return f"{self.source} ({self.spec['name']}({kwargs}), {self.num_classes} classes, on {self.device})"

    def predict(self, images: np.ndarray) -> np.ndarray:
        """Class index per pixel, uint8, for temperatures in degrees Celsius: (H, W) -> (H, W), (B, H, W) ->
        (B, H, W). Any frame size: frames are padded to the network's size rule inside and cropped back."""
        frames, single = frames_of(images)
        labels = self.predict_batch(frames)
        return labels[0] if single else labels

    def predict_batch(self, images: np.ndarray | torch.Tensor) -> np.ndarray:  # pragma: no cover - interface
        raise NotImplementedError
