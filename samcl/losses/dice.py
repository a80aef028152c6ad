"""Soft multi-class Dice loss on softmax probabilities."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ._common import (
    DEFAULT_IGNORE_INDEX,
    SegmentationLoss,
    as_float,
    one_hot_map,
)


def dice_map_distance(pred: torch.Tensor, ref: torch.Tensor, valid: torch.Tensor, smooth: float = 1.0) -> torch.Tensor:
    """``1 - mean_c Dice_c`` between two (B, C, H, W) maps, over the valid pixels of the whole batch.

    ``Dice_c = (2 * sum(pred_c * ref_c) + smooth) / (sum(pred_c) + sum(ref_c) + smooth)``, sums over
    batch and pixels where ``valid`` (B, H, W) is 1. A class absent from both maps scores Dice 1
    (thanks to ``smooth``). Scalar in [0, 1].
    """
    p = as_float(pred)
    v = valid.unsqueeze(1).to(p.dtype)
    p = p * v
    r = as_float(ref) * v
    dims = (0, 2, 3)
    inter = (p * r).sum(dims)
    denom = p.sum(dims) + r.sum(dims)
    dice = (2.0 * inter + smooth) / (denom + smooth)
    return 1.0 - dice.mean()


class DiceLoss(SegmentationLoss):
    """Soft multi-class Dice loss: ``1 - mean over classes of soft Dice(softmax(logits), one_hot(target))``.

    Shapes: ``logits`` (B, C, H, W) float, ``target`` (B, H, W) int64 -> scalar in [0, 1].
    Per-class sums run over the whole batch (batch Dice); ignored pixels are removed from both the
    prediction and the target. ``smooth`` (default 1) keeps absent classes finite.
    """

    def __init__(self, ignore_index: int = DEFAULT_IGNORE_INDEX, smooth: float = 1.0, validate: bool = True):
        super().__init__(ignore_index, validate)
        self.smooth = smooth

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        c = logits.shape[1]
        safe, valid = self.checked_target(logits, target)
        probs = F.softmax(as_float(logits), dim=1)
        return dice_map_distance(probs, one_hot_map(safe, c), valid, self.smooth)
