"""SegAN (Xue, Xu, Zhang, Long, Huang: "SegAN: Adversarial Network with Multi-scale L1 Loss for Medical Image
Segmentation", Neuroinformatics 2018), for C classes.

A critic sees the image masked by each class map, once with the prediction ``softmax(logits)`` and once with the
one-hot ground truth: input (B, C * in_channels, H, W) = image x class map c for every c. Its output concatenates
the input and every layer's features, weighted ``scale_weights`` (1, 1, 2, 2, 2, 2, 4: the input and six 4x4
stride-2 convolutions, widths w, 2w, 4w, 8w, 8w, 8w, batch norm from the second, LeakyReLU 0.2). The multi-scale
L1 loss is the mean absolute difference of the two outputs.

- The segmenter minimises ``base (soft Dice) + weight * L1``.
- The critic maximises L1 on the detached prediction with its own Adam (lr 2e-4, betas 0.5/0.999, as the paper),
  and its weights are clamped to ``[-clamp, clamp]`` (0.05) after each of its steps.

Choices: the critic steps after the segmenter's optimiser step on the prediction of the same batch
(:meth:`SegANLoss.critic_step`), so one forward pass of the segmenter serves both; a C-class softmax replaces the
paper's binary sigmoid; ignored pixels are zero in both masked inputs.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from ._common import DEFAULT_IGNORE_INDEX, check_logits_target
from ._strategy import (
    GradientReduce,
    StrategyLoss,
    base_loss_module,
    clamp_parameters,
    leaky_conv,
    masked_maps,
    own_step,
    seeded_generator,
    seeded_modules,
)

SCALE_WEIGHTS = (1.0, 1.0, 2.0, 2.0, 2.0, 2.0, 4.0)


class SegANCritic(nn.Module):
    """(B, in_channels, H, W) -> (B, F) weighted multi-scale features (the input and every layer's output,
    flattened and concatenated). H and W must be at least ``2 ** (len(scale_weights) - 1)``."""

    def __init__(self, in_channels: int, width: int = 64, scale_weights: Sequence[float] = SCALE_WEIGHTS):
        super().__init__()
        if len(scale_weights) < 2:
            raise ValueError(f"scale_weights needs the input's and at least one layer's weight, got {scale_weights}")
        widths = [in_channels] + [width * min(2**k, 8) for k in range(len(scale_weights) - 1)]
        self.blocks = nn.ModuleList(
            leaky_conv(widths[k], widths[k + 1], stride=2, norm=k > 0) for k in range(len(widths) - 1)
        )
        self.scale_weights = tuple(float(w) for w in scale_weights)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = [self.scale_weights[0] * x.flatten(1)]
        for weight, block in zip(self.scale_weights[1:], self.blocks, strict=True):
            x = block(x)
            features.append(weight * x.flatten(1))
        return torch.cat(features, dim=1)


def masked_images(images: torch.Tensor, maps: torch.Tensor) -> torch.Tensor:
    """(B, I, H, W) images x (B, C, H, W) class maps -> (B, C * I, H, W): the image under each class map."""
    return (maps.unsqueeze(2) * images.unsqueeze(1)).flatten(1, 2)


class SegANLoss(StrategyLoss):
    """``base + weight * multi-scale L1`` (see the module docstring); optimise the segmenter's parameters only: the
    critic has its own optimiser (:meth:`make_optimizer`), stepped by :meth:`critic_step` after the segmenter's.

    Args:
        num_classes: C. in_channels: image channels (1 for thermal).
        base_loss: 'dice' (default, the paper's soft Dice), 'ce', 'rmi', 'bce', a module or None.
        width: the critic's first width (64). scale_weights: input and per-layer weights (1, 1, 2, 2, 2, 2, 4).
        weight: of the L1 term (1). clamp: critic weight bound (0.05). lr, betas: the critic's Adam.
        ignore_index: label excluded. seed: the critic's initial weights.

    ``forward(logits, target, images)`` -> scalar; ``parts(logits, target, images, step=None)`` -> ``loss``,
    ``base_loss``, ``strategy_loss``.
    """

    def __init__(
        self,
        num_classes: int,
        in_channels: int = 1,
        base_loss: str | nn.Module | None = "dice",
        width: int = 64,
        scale_weights: Sequence[float] = SCALE_WEIGHTS,
        weight: float = 1.0,
        clamp: float = 0.05,
        lr: float = 2e-4,
        betas: tuple[float, float] = (0.5, 0.999),
        ignore_index: int = DEFAULT_IGNORE_INDEX,
        seed: int | None = None,
    ):
        super().__init__(ignore_index)
        if width < 1 or weight < 0 or not clamp > 0 or not lr > 0:
            raise ValueError("SegAN: width must be >= 1, weight >= 0, clamp and lr > 0")
        self.num_classes, self.weight, self.clamp = num_classes, weight, clamp
        self.base = base_loss_module(base_loss, num_classes, ignore_index)
        self.critic = seeded_modules(seed, lambda: SegANCritic(num_classes * in_channels, width, scale_weights))
        clamp_parameters(self.critic, clamp)
        self.lr, self.betas = lr, (float(betas[0]), float(betas[1]))
        self.generator = seeded_generator(seed)

    def make_optimizer(self) -> torch.optim.Optimizer:
        """The critic's Adam."""
        return torch.optim.Adam(self.critic.parameters(), lr=self.lr, betas=self.betas)

    def multiscale_l1(self, logits: torch.Tensor, target: torch.Tensor, images: torch.Tensor) -> torch.Tensor:
        """Mean absolute difference of the critic's outputs for the predicted and the true maps (scalar)."""
        prediction, truth, _ = masked_maps(logits, target, self.num_classes, self.ignore_index)
        fake = self.critic(masked_images(images.float(), prediction))
        real = self.critic(masked_images(images.float(), truth))
        return (fake - real).abs().mean()

    def critic_step(
        self,
        logits: torch.Tensor,
        target: torch.Tensor,
        images: torch.Tensor,
        optimizer: torch.optim.Optimizer,
        reduce: GradientReduce | None = None,
    ) -> float:
        """One step of ``optimizer`` (:meth:`make_optimizer`'s) maximising the L1 on the detached prediction, then
        the clamp; ``reduce`` averages the critic's gradients across processes. Returns the L1 before the step."""
        l1 = self.multiscale_l1(logits.detach(), target, images)
        own_step(optimizer, -l1, list(self.critic.parameters()), reduce)
        clamp_parameters(self.critic, self.clamp)
        return float(l1.detach())

    def parts(  # type: ignore[override]  # a strategy takes the extra input its method needs
        self, logits: torch.Tensor, target: torch.Tensor, images: torch.Tensor, step: int | None = None
    ) -> dict[str, torch.Tensor]:
        check_logits_target(logits, target)
        base = self.base_value(logits, target)
        term = self.weight * self.multiscale_l1(logits, target, images)
        return {"loss": base + term, "base_loss": base, "strategy_loss": term}

    def forward(self, logits: torch.Tensor, target: torch.Tensor, images: torch.Tensor) -> torch.Tensor:
        return self.parts(logits, target, images)["loss"]
