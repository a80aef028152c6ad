"""Cross-entropy: the plain pixel-wise baseline, and the same quantity as a distance between maps."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ._common import DEFAULT_IGNORE_INDEX, SegmentationLoss, as_float, check_logits_target

_EPS = 1e-7


class CrossEntropyLoss(SegmentationLoss):
    """Softmax cross-entropy averaged over the non-ignored pixels.

    Shapes: ``logits`` (B, C, H, W) float, ``target`` (B, H, W) int64 -> scalar.
    A thin wrapper over :func:`torch.nn.functional.cross_entropy` that checks shapes and computes
    in float32 under autocast. If every pixel is ignored the loss is 0 (not nan).
    """

    ignore_index: int
    weight: torch.Tensor | None  # a buffer: (C,) float32 class weights

    def __init__(
        self,
        ignore_index: int = DEFAULT_IGNORE_INDEX,
        weight: torch.Tensor | None = None,
        label_smoothing: float = 0.0,
    ):
        super().__init__(ignore_index)
        self.label_smoothing = label_smoothing
        self.register_buffer("weight", None if weight is None else torch.as_tensor(weight, dtype=torch.float32))

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        check_logits_target(logits, target)
        target = target.long()
        # reduction="sum" / count, so that an all-ignored batch gives 0 rather than nan.
        loss_sum = F.cross_entropy(
            as_float(logits),
            target,
            weight=None
            if self.weight is None
            else self.weight.to(logits.dtype if logits.dtype == torch.float64 else torch.float32),
            ignore_index=self.ignore_index,
            reduction="sum",
            label_smoothing=self.label_smoothing,
        )
        valid = target != self.ignore_index
        if self.weight is None:
            denom = valid.sum()
        else:
            denom = (self.weight[torch.where(valid, target, 0)] * valid).sum()
        return loss_sum / denom.clamp_min(1)


def ce_map_distance(pred: torch.Tensor, ref: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """Cross-entropy H(ref, pred) between two (B, C, H, W) maps, averaged over valid pixels.

    ``pred`` holds probabilities (e.g. a softmax), ``ref`` a (one-hot or soft) reference map,
    ``valid`` a (B, H, W) 0/1 mask. Returns a scalar; 0 when no pixel is valid.
    """
    logp = torch.log(as_float(pred).clamp_min(_EPS))
    per_pixel = -(as_float(ref) * logp).sum(dim=1)
    return (per_pixel * valid).sum() / valid.sum().clamp_min(1)
