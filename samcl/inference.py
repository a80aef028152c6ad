"""Running a segmentation network on temperature images of any size, and scoring it on a dataset.

Images are (B, H, W) degrees Celsius. They are normalised with the checkpoint's mean/std, padded by
reflection up to the model's size multiple (and minimum size), segmented, and cropped back, so masks come
out at the input's size.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from samcl.checkpoint import Normalization
from samcl.metrics import ConfusionMatrix


def padded_size(height: int, width: int, model: nn.Module) -> tuple[int, int]:
    """Smallest (H', W') >= (height, width) that the model accepts (multiples of ``size_multiple``)."""
    multiple = int(getattr(model, "size_multiple", 1))
    minimum = int(getattr(model, "min_size", 1))
    return (
        max(minimum, math.ceil(height / multiple) * multiple),
        max(minimum, math.ceil(width / multiple) * multiple),
    )


def autocast(device: torch.device, enabled: bool) -> contextlib.AbstractContextManager:
    """bfloat16 autocast on CUDA when enabled; a no-op otherwise."""
    if enabled and device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


@torch.no_grad()
def predict_logits(
    model: nn.Module,
    images: np.ndarray | torch.Tensor,
    normalization: Normalization,
    device: torch.device | str = "cpu",
    amp: bool = False,
) -> torch.Tensor:
    """Logits (B, C, H, W) float32 for temperature images (B, H, W); pads to the model's size and crops back."""
    device = torch.device(device)
    x = torch.as_tensor(np.asarray(images, dtype=np.float32) if not torch.is_tensor(images) else images)
    x = normalization(x.to(device=device, dtype=torch.float32)).unsqueeze(1)
    height, width = x.shape[-2:]
    target_h, target_w = padded_size(height, width, model)
    if (target_h, target_w) != (height, width):
        pad = (0, target_w - width, 0, target_h - height)
        mode = "reflect" if target_h - height < height and target_w - width < width else "replicate"
        x = F.pad(x, pad, mode=mode)
    with autocast(device, amp):
        logits = model(x)
    return logits[..., :height, :width].float()


def predict_labels(model: nn.Module, images, normalization: Normalization, device="cpu", amp=False) -> np.ndarray:
    """Class index per pixel (B, H, W) uint8."""
    return predict_logits(model, images, normalization, device, amp).argmax(1).to(torch.uint8).cpu().numpy()


def evaluate_batches(
    model: nn.Module,
    batches: Iterable[tuple[np.ndarray, np.ndarray]],
    normalization: Normalization,
    num_classes: int,
    ignore_index: int | None = 255,
    device: torch.device | str = "cpu",
    amp: bool = False,
) -> ConfusionMatrix:
    """Dataset-wide confusion matrix of ``model`` over (images (B, H, W) C, masks (B, H, W)) batches."""
    was_training = model.training
    model.eval()
    matrix = ConfusionMatrix(num_classes, ignore_index=ignore_index)
    try:
        for images, masks in batches:
            matrix.update(predict_labels(model, images, normalization, device, amp), np.asarray(masks))
    finally:
        model.train(was_training)
    return matrix
