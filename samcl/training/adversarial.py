"""Worst-of-K augmentation: the current network scores K candidate augmentations of each image, the hardest
(or a softmax draw over the K losses) is trained on.

Scoring is one no-grad forward pass of the K x B candidates in training mode (batch statistics, as the training
step will see them); the network's buffers (batch-norm running statistics) are restored afterwards, so scoring
leaves no trace in the network. ``scale`` < 1 scores downsampled candidates (a forward pass costs about
``scale ** 2`` as much). Per-sample losses (:data:`PER_SAMPLE_LOSSES`) follow the base loss where one exists.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from samcl.inference.padding import size_rule

PerSampleLoss = Callable[[torch.Tensor, torch.Tensor, int], torch.Tensor]
ADVERSARIAL_STREAM = 11  # SeedSequence entropy word of the softmax draws


def per_sample_ce(logits: torch.Tensor, target: torch.Tensor, ignore_index: int) -> torch.Tensor:
    """Cross-entropy of each sample, averaged over its labelled pixels: (N, C, H, W), (N, H, W) -> (N,)."""
    pixels = F.cross_entropy(logits.float(), target, ignore_index=ignore_index, reduction="none")
    valid = (target != ignore_index).float()
    return (pixels * valid).flatten(1).sum(1) / valid.flatten(1).sum(1).clamp_min(1.0)


def per_sample_dice(logits: torch.Tensor, target: torch.Tensor, ignore_index: int, smooth: float = 1.0) -> torch.Tensor:
    """Soft Dice loss of each sample (1 - mean over classes of its soft Dice): (N, C, H, W), (N, H, W) -> (N,)."""
    classes = logits.shape[1]
    valid = (target != ignore_index).unsqueeze(1).float()
    probs = F.softmax(logits.float(), dim=1) * valid
    truth = F.one_hot(torch.where(target == ignore_index, 0, target), classes).permute(0, 3, 1, 2).float() * valid
    inter = (probs * truth).sum((2, 3))
    dice = (2 * inter + smooth) / (probs.sum((2, 3)) + truth.sum((2, 3)) + smooth)
    return 1.0 - dice.mean(1)


def per_sample_dice_ce(logits: torch.Tensor, target: torch.Tensor, ignore_index: int) -> torch.Tensor:
    """Soft Dice + cross-entropy of each sample (the ``dice_ce`` base loss, both weights 1): -> (N,)."""
    return per_sample_dice(logits, target, ignore_index) + per_sample_ce(logits, target, ignore_index)


#: per-sample loss of a base loss's name; the others (rmi, bce) are scored by cross-entropy
PER_SAMPLE_LOSSES: dict[str, PerSampleLoss] = {
    "ce": per_sample_ce,
    "dice": per_sample_dice,
    "dice_ce": per_sample_dice_ce,
}


def per_sample_loss(base_loss: str) -> PerSampleLoss:
    """The per-sample loss that scores candidates for a base loss."""
    return PER_SAMPLE_LOSSES.get(base_loss, per_sample_ce)


@contextlib.contextmanager
def buffers_kept(model: nn.Module) -> Iterator[None]:
    """Run forward passes that leave the module's buffers (batch-norm statistics and counts) as they were."""
    saved = [(buffer, buffer.detach().clone()) for buffer in model.buffers()]
    try:
        yield
    finally:
        with torch.no_grad():
            for buffer, copy in saved:
                buffer.copy_(copy)


@torch.no_grad()
def candidate_losses(
    model: nn.Module,
    images: torch.Tensor,
    masks: torch.Tensor,
    loss: PerSampleLoss,
    ignore_index: int,
    scale: float = 1.0,
) -> torch.Tensor:
    """(B, K) losses of K candidates per image: ``images`` (B, K, 1, H, W), ``masks`` (B, K, H, W), one batched
    forward pass of the K x B candidates (at ``scale`` of their size, :func:`scoring_size`) that leaves ``model``
    unchanged."""
    batch, k = masks.shape[:2]
    flat_images, flat_masks = images.flatten(0, 1), masks.flatten(0, 1)
    if scale != 1.0:
        size = scoring_size(flat_images.shape[-2:], scale, model)
        flat_images = F.interpolate(flat_images, size=size, mode="bilinear", align_corners=False)
        flat_masks = F.interpolate(flat_masks[:, None].float(), size=flat_images.shape[-2:], mode="nearest")[:, 0]
        flat_masks = flat_masks.long()
    with buffers_kept(model):
        logits = model(flat_images)
    return loss(logits, flat_masks, ignore_index).view(batch, k)


def scoring_size(size: tuple[int, ...] | torch.Size, scale: float, model: nn.Module) -> tuple[int, int]:
    """(H, W) at which candidates of ``size`` are scored: ``scale`` of it, each side rounded to the nearest size the
    network accepts (a multiple of its ``size_multiple``, at least its ``min_size``)."""
    multiple, min_size = size_rule(getattr(model, "module", model))  # DistributedDataParallel: in .module
    smallest = -(-min_size // multiple) * multiple
    height, width = (max(smallest, multiple * int(side * scale / multiple + 0.5)) for side in size[-2:])
    return height, width


def choose_candidates(
    losses: torch.Tensor, temperature: float = 0.0, seed: int = 0, step: int = 0, rank: int = 0
) -> torch.Tensor:
    """(B,) index of the candidate trained on per image, from (B, K) losses: the hardest (``temperature`` 0; the
    first on ties), or a draw with probabilities softmax(losses / temperature) (temperature in the loss's units)
    from a generator seeded by (seed, step, rank)."""
    if temperature <= 0:
        return losses.argmax(dim=1)
    generator = torch.Generator().manual_seed(
        int(np.random.SeedSequence([int(seed), ADVERSARIAL_STREAM, int(step), int(rank)]).generate_state(1)[0])
    )
    probabilities = torch.softmax(losses.detach().double().cpu() / temperature, dim=1)
    return torch.multinomial(probabilities, 1, generator=generator)[:, 0].to(losses.device)


def take(values: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """``values[b, index[b]]`` for each image b: (B, K, ...) and (B,) -> (B, ...)."""
    return values[torch.arange(values.shape[0], device=values.device), index.to(values.device)]
