"""Dice + cross-entropy: the compound loss of nnU-Net, so small classes get a gradient from the first step."""

from __future__ import annotations

import torch

from ._common import DEFAULT_IGNORE_INDEX, SegmentationLoss
from .ce import CrossEntropyLoss
from .dice import DiceLoss


class DiceCELoss(SegmentationLoss):
    """``dice_weight * Dice + ce_weight * CE`` of the same logits (both 1 by default, as in nnU-Net).

    Shapes: ``logits`` (B, C, H, W) float, ``target`` (B, H, W) int64 -> scalar.
    Soft Dice alone gives a class that the network never predicts almost no gradient (its Dice term is flat near
    a zero prediction), so with an unlucky initialisation the mouth or the eyes are never learnt; the
    cross-entropy term pulls every labelled pixel toward its class from the start. Ignored pixels count in
    neither term.
    """

    def __init__(
        self,
        ignore_index: int = DEFAULT_IGNORE_INDEX,
        dice_weight: float = 1.0,
        ce_weight: float = 1.0,
        smooth: float = 1.0,
        validate: bool = True,
    ):
        super().__init__(ignore_index, validate)
        self.dice_weight = dice_weight
        self.ce_weight = ce_weight
        self.dice = DiceLoss(ignore_index=ignore_index, smooth=smooth, validate=validate)
        self.ce = CrossEntropyLoss(ignore_index=ignore_index)

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return self.dice_weight * self.dice(logits, target) + self.ce_weight * self.ce(logits, target)
