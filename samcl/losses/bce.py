"""Per-class sigmoid binary cross-entropy on one-hot targets: the BCE term of RMI on its own."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ._common import SegmentationLoss, as_float, one_hot_map


def one_hot_bce(logits: torch.Tensor, one_hot: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """``sum over valid pixels and classes of BCE(sigmoid(logits), one_hot) / (valid pixels + 1)``.

    ``logits`` and ``one_hot`` (B, C, H, W) float, ``valid`` (B, H, W) 0/1. Each class channel is an independent
    sigmoid (not a softmax), so the value is the sum over classes of a per-pixel mean; the ``+ 1`` keeps an
    all-ignored batch at 0 (the RMI reference code's normalisation, so RMI's BCE term is this function).
    """
    weight = valid.unsqueeze(1).to(logits.dtype).expand_as(logits)
    total = F.binary_cross_entropy_with_logits(logits, one_hot, weight=weight, reduction="sum")
    return total / (valid.sum() + 1.0)


class BCELoss(SegmentationLoss):
    """Per-class sigmoid BCE on one-hot targets, ignored pixels excluded (see :func:`one_hot_bce`).

    Shapes: ``logits`` (B, C, H, W) float, ``target`` (B, H, W) int64 -> scalar >= 0. Computed in float32 under
    autocast.
    """

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        safe, valid = self.checked_target(logits, target)
        with torch.autocast(device_type=logits.device.type, enabled=False):
            z = as_float(logits)
            return one_hot_bce(z, one_hot_map(safe, z.shape[1], valid).to(z.dtype), valid.to(z.dtype))
