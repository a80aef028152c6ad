"""Knowledge distillation (Hinton et al., 2015), per pixel: a small network learns the predictions of a larger
trained one besides the labels.

The teacher's softened distribution ``softmax(teacher / T)`` is the target of the student's
``log_softmax(student / T)``; the Kullback-Leibler divergence is taken per pixel, scaled by ``T**2`` (so its
gradients keep their size whatever ``T``) and averaged over the labelled pixels. Where the labels say only "eye",
the teacher also says how much a pixel looks like an eyebrow, and it sees through the occluders and rooms of the
same augmented frame the student is trained on.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ._common import DEFAULT_IGNORE_INDEX, as_float, labelled_mean


def kd_divergence_map(student: torch.Tensor, teacher: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
    """Per-pixel ``T**2 * KL(softmax(teacher / T) || softmax(student / T))`` (nats, >= 0).

    Shapes: two (B, C, H, W) logit maps -> (B, H, W), in float32; no gradient flows into ``teacher``.
    """
    if student.shape != teacher.shape or student.dim() != 4:
        raise ValueError(
            f"two (B, C, H, W) logit maps of one shape expected, got {tuple(student.shape)} and {tuple(teacher.shape)}"
        )
    if not temperature > 0:
        raise ValueError(f"the temperature must be > 0, got {temperature}")
    log_q = F.log_softmax(as_float(student) / temperature, dim=1)
    log_p = F.log_softmax(as_float(teacher).detach() / temperature, dim=1)
    return temperature**2 * (log_p.exp() * (log_p - log_q)).sum(1)


def kd_loss(
    student: torch.Tensor,
    teacher: torch.Tensor,
    target: torch.Tensor | None = None,
    temperature: float = 1.0,
    ignore_index: int | None = DEFAULT_IGNORE_INDEX,
) -> torch.Tensor:
    """Mean of :func:`kd_divergence_map` (scalar, nats); ``target`` (B, H, W), when given, leaves out the pixels
    labelled ``ignore_index``."""
    return labelled_mean(kd_divergence_map(student, teacher, temperature), target, ignore_index)


class KDLoss(nn.Module):
    """Module form of :func:`kd_loss`: ``forward(student, teacher, target=None)`` -> scalar."""

    def __init__(self, temperature: float = 1.0, ignore_index: int | None = DEFAULT_IGNORE_INDEX) -> None:
        super().__init__()
        self.temperature, self.ignore_index = temperature, ignore_index

    def forward(self, student: torch.Tensor, teacher: torch.Tensor, target: torch.Tensor | None = None) -> torch.Tensor:
        return kd_loss(student, teacher, target, self.temperature, self.ignore_index)
