"""ContrastiveSeg (Wang et al., ICCV 2021, "Exploring Cross-Image Pixel Contrast for Semantic Segmentation").

A projection head maps the segmenter's last decoder feature map to L2-normalised embeddings; a supervised pixel
contrastive loss pulls embeddings of the same class together and pushes other classes apart, across the images
of the batch and a memory of earlier batches. ``total = base(logits, target) + weight * L_contrast``.

- Anchors (:func:`sample_anchors`): per image and class with more than ``max_views`` pixels, ``n_view =
  min(max_samples // (image, class) pairs, max_views)`` embeddings, half of them hard (labelled c, predicted not
  c), half easy (labelled and predicted c), topped up from the other kind when one is short.
- Loss (:func:`pixel_contrast`), for anchor i with similarities ``s = a_i . k / temperature`` to the keys::

      l_i = - mean over positives p of [ s_p - log(exp(s_p) + sum over negatives n of exp(s_n)) ]

  Positives: keys of i's class other than i itself; negatives: keys of other classes; an anchor without any
  positive does not count.
- Keys: the batch's anchors (with gradient) and the memory (:class:`ClassMemory`, no gradient): per class a pixel
  queue (``pixels_per_image`` random embeddings of each image and class) and a segment queue (the normalised
  mean embedding of each image and class), ``memory_size`` entries each, filled by :meth:`update_memory` after
  the optimiser step from the last forward's detached embeddings.

Choices where the reference code differs:

- Labels and predictions are taken at the embedding's grid (:func:`on_grid`: the centre pixel of each cell, cells
  of a padded input beyond the image ignored) before anchors and memory entries are drawn, so every entry comes
  from the pixel its label describes.
- The batch's own anchors are always keys, so without memory (``memory_size=0``) the loss is the in-batch pixel
  contrast of the paper, never silently absent; empty queue slots are never used (no random initial entries).
- The contrastive term is off for the first ``start_step`` steps (``parts(..., step=t)``) and nothing is
  enqueued then (the projection head has not learnt yet).
- Random draws come from the loss's own ``generator``; memory and generator are saved by ``state_dict``.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ._common import DEFAULT_IGNORE_INDEX, check_logits_target, valid_and_safe_target
from ._strategy import StrategyLoss, base_loss_module, seeded_generator, seeded_modules


class ProjectionHead(nn.Module):
    """(B, in_channels, H, W) features -> (B, dim, H, W) unit-length embeddings: 1x1 conv, BN, ReLU, 1x1 conv."""

    def __init__(self, in_channels: int, dim: int = 64):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(in_channels, in_channels, 1),
            nn.BatchNorm2d(in_channels),
            nn.ReLU(inplace=True),
            nn.Conv2d(in_channels, dim, 1),
        )

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.net(features), dim=1)


def on_grid(labels: torch.Tensor, grid: tuple[int, int] | torch.Size, pad: int = -1) -> torch.Tensor:
    """(B, H, W) labels at the pixels of a (h, w) feature grid of stride k, the smallest power of two with
    ``h * k >= H`` (per axis): the centre pixel of each k x k cell. Features of an input padded at the bottom and
    right (to a multiple of the network's stride) cover more than H x W: their cells beyond it get ``pad``."""
    picked = labels
    for axis, cells in zip((1, 2), grid, strict=True):
        size, stride = labels.shape[axis], 1
        while cells * stride < size:
            stride *= 2
        missing = cells * stride - size
        if missing:
            shape = list(picked.shape)
            shape[axis] = missing
            picked = torch.cat([picked, picked.new_full(shape, pad)], dim=axis)
        picked = picked.narrow(axis, stride // 2, cells * stride - stride // 2)[
            (slice(None),) * axis + (slice(None, None, stride),)
        ]
    return picked


def pixel_contrast(
    anchors: torch.Tensor,
    anchor_labels: torch.Tensor,
    keys: torch.Tensor,
    key_labels: torch.Tensor,
    temperature: float,
    self_keys: bool = True,
) -> torch.Tensor:
    """Supervised pixel contrastive loss (see the module docstring): mean over anchors with a positive.

    ``anchors`` (N, D), ``anchor_labels`` (N,), ``keys`` (M, D), ``key_labels`` (M,). With ``self_keys`` the
    first N keys are the anchors themselves, and key i is no positive of anchor i. 0 when no anchor has a positive.
    """
    sim = anchors.float() @ keys.float().T / temperature  # (N, M)
    same = anchor_labels[:, None] == key_labels[None, :]
    positive = same.clone()
    if self_keys:
        positive[:, : anchors.shape[0]].fill_diagonal_(False)
    neg_lse = torch.logsumexp(sim.masked_fill(same, float("-inf")), dim=1, keepdim=True)  # -inf: no negative
    log_prob = sim - torch.logaddexp(sim, neg_lse)
    count = positive.sum(1)
    per_anchor = -(log_prob * positive).sum(1) / count.clamp_min(1)
    has = count > 0
    return (per_anchor * has).sum() / has.sum().clamp_min(1)


def sample_anchors(
    embeddings: torch.Tensor,
    labels: torch.Tensor,
    predictions: torch.Tensor,
    max_samples: int,
    max_views: int,
    ignore_index: int,
    generator: torch.Generator,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Hard-anchor sampling: (N, D) anchors and their (N,) labels (see the module docstring).

    ``embeddings`` (B, D, H, W), ``labels`` and ``predictions`` (B, H, W) on the same grid. Classes with at most
    ``max_views`` pixels in an image give no anchor there. Empty (0, D) when nothing qualifies.
    """
    b, d = embeddings.shape[:2]
    flat_labels, flat_pred = labels.reshape(b, -1), predictions.reshape(b, -1)
    pairs = []
    for i in range(b):
        classes = [int(c) for c in torch.unique(flat_labels[i]) if int(c) != ignore_index]
        pairs += [(i, c) for c in classes if int((flat_labels[i] == c).sum()) > max_views]
    if not pairs:
        return embeddings.new_zeros(0, d), labels.new_zeros(0)
    n_view = min(max_samples // len(pairs), max_views)
    if n_view < 1:
        raise ValueError(f"max_samples ({max_samples}) is smaller than the (image, class) pairs ({len(pairs)})")
    images, pixels, chosen_labels = [], [], []
    for i, c in pairs:
        of_class = flat_labels[i] == c
        hard = torch.nonzero(of_class & (flat_pred[i] != c)).flatten().cpu()
        easy = torch.nonzero(of_class & (flat_pred[i] == c)).flatten().cpu()
        n_hard = min(len(hard), max(n_view // 2, n_view - len(easy)))
        n_easy = n_view - n_hard
        pixels.append(torch.cat([_draw(hard, n_hard, generator), _draw(easy, n_easy, generator)]))
        images.append(torch.full((n_view,), i, dtype=torch.long))
        chosen_labels.append(torch.full((n_view,), c, dtype=torch.long))
    # one gather for all anchors: its backward writes one dense gradient, not one per (image, class) pair
    image_index, pixel_index = (torch.cat(index).to(embeddings.device) for index in (images, pixels))
    anchors = embeddings.reshape(b, d, -1)[image_index, :, pixel_index]  # (N, D)
    return anchors, torch.cat(chosen_labels).to(labels.device)


def _draw(indices: torch.Tensor, n: int, generator: torch.Generator) -> torch.Tensor:
    """``n`` of ``indices`` drawn without replacement."""
    return indices[torch.randperm(len(indices), generator=generator)[:n]]


class ClassMemory:
    """Per-class ring buffers of ``size`` embeddings of dimension ``dim`` (no gradient), only filled slots used."""

    def __init__(self, num_classes: int, size: int, dim: int):
        self.size = size
        self.queue = torch.zeros(num_classes, size, dim)
        self.pointer = torch.zeros(num_classes, dtype=torch.long)
        self.filled = torch.zeros(num_classes, dtype=torch.long)

    def push(self, c: int, entries: torch.Tensor) -> None:
        """Enqueue (K, dim) entries of class ``c``, overwriting the oldest when full."""
        if self.size == 0 or len(entries) == 0:
            return
        if self.queue.device != entries.device:  # the memory lives where the embeddings are computed
            self.queue, self.pointer, self.filled = (
                t.to(entries.device) for t in (self.queue, self.pointer, self.filled)
            )
        entries = entries[-self.size :].detach().to(self.queue.dtype)
        slots = (self.pointer[c] + torch.arange(len(entries), device=entries.device)) % self.size
        self.queue[c, slots] = entries
        self.pointer[c] = (self.pointer[c] + len(entries)) % self.size
        self.filled[c] = (self.filled[c] + len(entries)).clamp_max(self.size)

    def entries(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(M, dim) filled entries and their (M,) class labels."""
        keys = [self.queue[c, : int(n)] for c, n in enumerate(self.filled)]
        labels = [
            torch.full((int(n),), c, dtype=torch.long, device=self.queue.device) for c, n in enumerate(self.filled)
        ]
        return torch.cat(keys), torch.cat(labels)

    def state(self) -> dict[str, torch.Tensor]:
        return {"queue": self.queue.clone(), "pointer": self.pointer.clone(), "filled": self.filled.clone()}

    def load(self, state: dict[str, torch.Tensor]) -> None:
        self.queue, self.pointer, self.filled = (state[k].clone() for k in ("queue", "pointer", "filled"))


class ContrastiveSegLoss(StrategyLoss):
    """``base + weight * L_contrast`` (see the module docstring); give the optimiser ``loss.parameters()`` too.

    Args:
        num_classes: C. feature_channels: channels of the segmenter's last decoder feature map.
        base_loss: 'rmi' (default, as the reference), 'ce', 'dice', 'bce', a module, or None.
        proj_dim: embedding dimension (64). temperature: 0.07. max_samples: 1024. max_views: 1.
        memory_size: entries per class in each queue (5,000; 0: no memory). pixels_per_image: 10.
        weight: of the contrastive term (1). start_step: steps without it (the reference: 1/8 of the training).
        ignore_index: label excluded everywhere. seed: of the head's initial weights and of the sampling.

    ``forward(logits, target, features, step=None)`` -> scalar; ``parts(...)`` -> ``loss``, ``base_loss``,
    ``strategy_loss``; call :meth:`update_memory` after each optimiser step.
    """

    def __init__(
        self,
        num_classes: int,
        feature_channels: int,
        base_loss: str | nn.Module | None = "rmi",
        proj_dim: int = 64,
        temperature: float = 0.07,
        max_samples: int = 1024,
        max_views: int = 1,
        memory_size: int = 5000,
        pixels_per_image: int = 10,
        weight: float = 1.0,
        start_step: int = 0,
        ignore_index: int = DEFAULT_IGNORE_INDEX,
        seed: int | None = None,
    ):
        super().__init__(ignore_index)
        for name, value in (("max_views", max_views), ("max_samples", max_samples), ("proj_dim", proj_dim)):
            if value < 1:
                raise ValueError(f"ContrastiveSeg option {name} must be >= 1, got {value}")
        if not temperature > 0 or memory_size < 0 or pixels_per_image < 0 or weight < 0 or start_step < 0:
            raise ValueError(
                "ContrastiveSeg: temperature must be > 0; memory_size, pixels_per_image, weight and start_step >= 0"
            )
        self.num_classes, self.temperature, self.weight, self.start_step = num_classes, temperature, weight, start_step
        self.max_samples, self.max_views, self.pixels_per_image = max_samples, max_views, pixels_per_image
        self.base = base_loss_module(base_loss, num_classes, ignore_index)
        self.head = seeded_modules(seed, lambda: ProjectionHead(feature_channels, proj_dim))
        self.generator = seeded_generator(seed)
        self.pixels = ClassMemory(num_classes, memory_size, proj_dim)
        self.segments = ClassMemory(num_classes, memory_size, proj_dim)
        self._pending: tuple[torch.Tensor, torch.Tensor] | None = None

    def active(self, step: int | None) -> bool:
        return self.weight > 0 and (step is None or step >= self.start_step)

    def contrast(self, logits: torch.Tensor, target: torch.Tensor, features: torch.Tensor) -> torch.Tensor:
        """The unweighted contrastive term; remembers the batch's embeddings for :meth:`update_memory`."""
        safe, valid = valid_and_safe_target(target, self.num_classes, self.ignore_index)
        embeddings = self.head(features)
        grid = embeddings.shape[-2:]
        labels = on_grid(torch.where(valid > 0, safe, torch.full_like(safe, -1)), grid)
        predictions = on_grid(logits.detach().argmax(1), grid)
        anchors, anchor_labels = sample_anchors(
            embeddings, labels, predictions, self.max_samples, self.max_views, -1, self.generator
        )
        self._pending = (embeddings.detach(), labels)
        memory_keys, memory_labels = zip(self.pixels.entries(), self.segments.entries(), strict=True)
        keys = torch.cat([anchors, *(k.to(anchors) for k in memory_keys)])
        key_labels = torch.cat([anchor_labels, *(k.to(anchor_labels.device) for k in memory_labels)])
        return pixel_contrast(anchors, anchor_labels, keys, key_labels, self.temperature)

    @torch.no_grad()
    def update_memory(self) -> None:
        """Enqueue the last forward's embeddings: per image and class, ``pixels_per_image`` random pixels into the
        pixel queue and the normalised mean into the segment queue. Nothing when no forward is pending."""
        if self._pending is None:
            return
        embeddings, labels = self._pending
        self._pending = None
        b, d = embeddings.shape[:2]
        flat, flat_labels = embeddings.reshape(b, d, -1), labels.reshape(b, -1)
        for i in range(b):
            for c in (int(c) for c in torch.unique(flat_labels[i]) if int(c) >= 0):
                of_class = flat[i][:, flat_labels[i] == c].T  # (K, D)
                self.segments.push(c, F.normalize(of_class.mean(0, keepdim=True), dim=1))
                pick = torch.randperm(len(of_class), generator=self.generator)[: self.pixels_per_image]
                self.pixels.push(c, of_class[pick.to(of_class.device)])

    def parts(  # type: ignore[override]  # a strategy takes the extra input its method needs
        self, logits: torch.Tensor, target: torch.Tensor, features: torch.Tensor | None = None, step: int | None = None
    ) -> dict[str, torch.Tensor]:
        check_logits_target(logits, target)
        base = self.base_value(logits, target)
        if features is None or not self.active(step):
            return {"loss": base, "base_loss": base, "strategy_loss": torch.zeros_like(base)}
        term = self.weight * self.contrast(logits, target, features)
        return {"loss": base + term, "base_loss": base, "strategy_loss": term}

    def forward(
        self, logits: torch.Tensor, target: torch.Tensor, features: torch.Tensor, step: int | None = None
    ) -> torch.Tensor:
        return self.parts(logits, target, features, step)["loss"]

    def strategy_state(self) -> dict[str, Any]:
        return {"pixels": self.pixels.state(), "segments": self.segments.state()}

    def load_strategy_state(self, state: dict[str, Any]) -> None:
        self.pixels.load(state["pixels"])
        self.segments.load(state["segments"])
