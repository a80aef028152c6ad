"""SegGAN (Zhang, Yang, Zheng: "SegGAN: Semantic Segmentation with Generative Adversarial Network", IEEE BigMM
2018), for thermal images.

A generator G turns class maps (B, C, H, W) into images (B, in_channels, H, W); a conditional patch discriminator
D (pix2pix's 70x70 PatchGAN: 4x4 convolutions of widths w, 2w, 4w (stride 2), 8w, 1 (stride 1), batch norm from
the second, LeakyReLU 0.2) scores (class maps, image) pairs patch by patch.

1. Pre-training, the first ``pretrain_steps`` steps: G learns one-hot ground truth -> the input image with
   ``l1_weight * L1 + GAN`` (pix2pix, l1_weight 100) and D learns real pairs from (one-hot, G(one-hot)) pairs,
   both with Adam (lr 2e-4, betas 0.5/0.999); the segmenter meanwhile trains on the base loss alone.
2. Then, with Y = softmax(logits): ``total = base + reconstruction_weight * L1(G(Y), x) + adversarial_weight *
   BCE(D(Y, G(Y)), real)``; G is frozen and D keeps learning (real: (one-hot, x); fake: (Y, G(Y)), detached).

Choices where the paper is open, and why:

- G is pre-trained on the same batches as the segmenter's first steps (one loop, one data pass, exact resume)
  rather than in a separate run; after that it is frozen, so the segmenter cannot make G and itself agree on a
  code that is not a segmentation.
- G is this package's U-Net (``generator_width``, 4 stages): the pix2pix generator is a U-Net as well.
- Weights: reconstruction 1 (the base losses and an L1 on inputs of unit spread are of the same order);
  adversarial 0.01 (pix2pix's 1 : 100 ratio of the GAN term to the L1 term).
- Base loss: cross-entropy, the paper's segmentation loss.
- D and G step after the segmenter's optimiser step on the same batch (:meth:`SegGANLoss.own_steps`).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ._common import DEFAULT_IGNORE_INDEX, check_logits_target
from ._strategy import (
    GradientReduce,
    StrategyLoss,
    base_loss_module,
    leaky_conv,
    masked_maps,
    own_step,
    seeded_generator,
    seeded_modules,
)


class PatchDiscriminator(nn.Module):
    """(B, C, H, W) maps and (B, I, H, W) images -> (B, 1, H/8 - 2, W/8 - 2) real/fake logits, one per patch."""

    def __init__(self, in_channels: int, width: int = 64):
        super().__init__()
        widths = [in_channels, width, 2 * width, 4 * width, 8 * width]
        strides = (2, 2, 2, 1)
        self.body = nn.Sequential(*(leaky_conv(widths[k], widths[k + 1], strides[k], norm=k > 0) for k in range(4)))
        self.out = nn.Conv2d(8 * width, 1, 4, padding=1)

    def forward(self, maps: torch.Tensor, images: torch.Tensor) -> torch.Tensor:
        return self.out(self.body(torch.cat([maps, images], dim=1)))


def gan_loss(scores: torch.Tensor, real: bool) -> torch.Tensor:
    """Binary cross-entropy of patch logits against all-real or all-fake."""
    return F.binary_cross_entropy_with_logits(scores.float(), torch.full_like(scores.float(), float(real)))


class SegGANLoss(StrategyLoss):
    """SegGAN's segmenter loss (see the module docstring); optimise the segmenter's parameters only: G and D have
    their own optimiser (:meth:`make_optimizer`), stepped by :meth:`own_steps` after the segmenter's.

    Args:
        num_classes: C. in_channels: image channels (1).
        base_loss: 'ce' (default), 'dice', 'rmi', 'bce', a module or None.
        generator_width: G's U-Net base width (32). discriminator_width: D's first width (64).
        reconstruction_weight: of L1(G(Y), x) (1). adversarial_weight: of D's verdict on (Y, G(Y)) (0.01).
        pretrain_steps: steps of G's pre-training before the SegGAN terms start. l1_weight: G's L1 weight in
            pre-training (100). lr, betas: Adam of G and D. ignore_index: label excluded. seed: initial weights.

    ``forward(logits, target, images, step=None)`` -> scalar; ``parts(...)`` -> ``loss``, ``base_loss``,
    ``strategy_loss``.
    """

    def __init__(
        self,
        num_classes: int,
        in_channels: int = 1,
        base_loss: str | nn.Module | None = "ce",
        generator_width: int = 32,
        discriminator_width: int = 64,
        reconstruction_weight: float = 1.0,
        adversarial_weight: float = 0.01,
        pretrain_steps: int = 0,
        l1_weight: float = 100.0,
        lr: float = 2e-4,
        betas: tuple[float, float] = (0.5, 0.999),
        ignore_index: int = DEFAULT_IGNORE_INDEX,
        seed: int | None = None,
    ):
        super().__init__(ignore_index)
        if min(reconstruction_weight, adversarial_weight, l1_weight, pretrain_steps) < 0 or not lr > 0:
            raise ValueError("SegGAN: the weights and pretrain_steps must be >= 0, lr > 0")
        from samcl.models import UNet

        self.num_classes, self.pretrain_steps, self.l1_weight = num_classes, pretrain_steps, l1_weight
        self.reconstruction_weight, self.adversarial_weight = reconstruction_weight, adversarial_weight
        self.base = base_loss_module(base_loss, num_classes, ignore_index)
        self.gen, self.disc = seeded_modules(
            seed,
            lambda: (
                UNet(in_channels, in_channels=num_classes, base_width=generator_width),
                PatchDiscriminator(num_classes + in_channels, discriminator_width),
            ),
        )
        self.lr, self.betas = lr, (float(betas[0]), float(betas[1]))
        self.generator = seeded_generator(seed)

    def make_optimizer(self) -> torch.optim.Optimizer:
        """One Adam for G and D (each of their steps moves only its own network)."""
        groups = [{"params": list(self.gen.parameters())}, {"params": list(self.disc.parameters())}]
        return torch.optim.Adam(groups, lr=self.lr, betas=self.betas)

    def pretraining(self, step: int | None) -> bool:
        return step is not None and step < self.pretrain_steps

    def reconstruction(self, maps: torch.Tensor, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(G(maps), mean |G(maps) - images|)``."""
        fake = self.gen(maps)
        return fake, (fake.float() - images.float()).abs().mean()

    def discriminator_step(
        self,
        maps: torch.Tensor,
        truth: torch.Tensor,
        images: torch.Tensor,
        optimizer: torch.optim.Optimizer,
        reduce: GradientReduce | None = None,
    ) -> float:
        """D learns (truth, images) as real and (maps, G(maps)) as fake (all detached); returns its loss."""
        with torch.no_grad():
            fake = self.gen(maps)
        loss = 0.5 * (gan_loss(self.disc(truth, images), True) + gan_loss(self.disc(maps, fake), False))
        own_step(optimizer, loss, list(self.disc.parameters()), reduce)
        return float(loss.detach())

    def generator_step(
        self,
        truth: torch.Tensor,
        images: torch.Tensor,
        optimizer: torch.optim.Optimizer,
        reduce: GradientReduce | None = None,
    ) -> float:
        """G learns one-hot ``truth`` -> ``images`` with ``l1_weight * L1 + GAN`` (pix2pix); returns its loss."""
        fake, l1 = self.reconstruction(truth, images)
        loss = self.l1_weight * l1 + gan_loss(self.disc(truth, fake), True)
        own_step(optimizer, loss, list(self.gen.parameters()), reduce)
        return float(loss.detach())

    def own_steps(
        self,
        logits: torch.Tensor,
        target: torch.Tensor,
        images: torch.Tensor,
        optimizer: torch.optim.Optimizer,
        step: int | None = None,
        reduce: GradientReduce | None = None,
    ) -> dict[str, float]:
        """After the segmenter's optimiser step, on its batch: in pre-training (``step < pretrain_steps``) D then G
        on the ground truth, after it D on the detached prediction. Returns their losses."""
        prediction, truth, _ = masked_maps(logits.detach(), target, self.num_classes, self.ignore_index)
        images = images.detach().float()
        if not self.pretraining(step):
            return {"discriminator": self.discriminator_step(prediction, truth, images, optimizer, reduce)}
        losses = {"discriminator": self.discriminator_step(truth, truth, images, optimizer, reduce)}
        return {**losses, "generator": self.generator_step(truth, images, optimizer, reduce)}

    def parts(  # type: ignore[override]  # a strategy takes the extra input its method needs
        self, logits: torch.Tensor, target: torch.Tensor, images: torch.Tensor, step: int | None = None
    ) -> dict[str, torch.Tensor]:
        check_logits_target(logits, target)
        base = self.base_value(logits, target)
        if self.pretraining(step):
            return {"loss": base, "base_loss": base, "strategy_loss": torch.zeros_like(base)}
        prediction, _, _ = masked_maps(logits, target, self.num_classes, self.ignore_index)
        fake, l1 = self.reconstruction(prediction, images)
        term = self.reconstruction_weight * l1
        if self.adversarial_weight > 0:
            term = term + self.adversarial_weight * gan_loss(self.disc(prediction, fake), True)
        return {"loss": base + term, "base_loss": base, "strategy_loss": term}

    def forward(
        self, logits: torch.Tensor, target: torch.Tensor, images: torch.Tensor, step: int | None = None
    ) -> torch.Tensor:
        return self.parts(logits, target, images, step)["loss"]
