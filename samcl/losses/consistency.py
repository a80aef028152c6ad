"""Consistency between two views of the same images: the Jensen-Shannon divergence of their predictions.

AugMix (Hendrycks et al., ICLR 2020) keeps clean accuracy while training for corruptions by asking the network
to predict the same distribution for a clean and an augmented view of an image. For segmentation the two views
must be pixel-aligned (same geometry, different photometry: occluders, noise, room, drift), so the divergence
is taken per pixel and averaged over the pixels that count.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ._common import DEFAULT_IGNORE_INDEX, as_float, labelled_mean


def js_divergence_map(logits_a: torch.Tensor, logits_b: torch.Tensor) -> torch.Tensor:
    """Per-pixel Jensen-Shannon divergence (nats, in [0, ln 2]) of softmax(logits_a) and softmax(logits_b).

    Shapes: two (B, C, H, W) logit maps -> (B, H, W), computed in float32 from log-probabilities.
    """
    if logits_a.shape != logits_b.shape or logits_a.dim() != 4:
        shapes = f"{tuple(logits_a.shape)} and {tuple(logits_b.shape)}"
        raise ValueError(f"two (B, C, H, W) logit maps of one shape expected, got {shapes}")
    log_p = F.log_softmax(as_float(logits_a), dim=1)
    log_q = F.log_softmax(as_float(logits_b), dim=1)
    log_m = torch.logaddexp(log_p, log_q) - math.log(2.0)
    kl_pm = (log_p.exp() * (log_p - log_m)).sum(1)
    kl_qm = (log_q.exp() * (log_q - log_m)).sum(1)
    return 0.5 * (kl_pm + kl_qm)


def js_consistency(
    logits_a: torch.Tensor,
    logits_b: torch.Tensor,
    target: torch.Tensor | None = None,
    ignore_index: int | None = DEFAULT_IGNORE_INDEX,
) -> torch.Tensor:
    """Mean per-pixel Jensen-Shannon divergence of two views' predictions (scalar, nats).

    ``target`` (B, H, W), when given, leaves out the pixels labelled ``ignore_index``.
    """
    return labelled_mean(js_divergence_map(logits_a, logits_b), target, ignore_index)


class JSConsistency(nn.Module):
    """Module form of :func:`js_consistency`: ``forward(logits_a, logits_b, target=None)`` -> scalar."""

    def __init__(self, ignore_index: int | None = DEFAULT_IGNORE_INDEX) -> None:
        super().__init__()
        self.ignore_index = ignore_index

    def forward(
        self, logits_a: torch.Tensor, logits_b: torch.Tensor, target: torch.Tensor | None = None
    ) -> torch.Tensor:
        return js_consistency(logits_a, logits_b, target, self.ignore_index)
