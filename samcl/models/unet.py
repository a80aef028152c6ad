"""U-Net (Ronneberger et al., 2015) with batch norm, sized by ``base_width``.

Encoder: ``depth`` (4) max-pool stages, widths ``base_width * 2**i``; decoder: 2x2 transposed
convolutions, concatenation with the skip (or addition, ``additive_skips``), DoubleConv; 1x1 conv to
``num_classes`` logits.
The paper's U-Net is ``base_width=64``. H and W must be multiples of ``2**depth`` (16).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from ._blocks import DoubleConv, SizeCheckedModel


class UNet(SizeCheckedModel):
    """(B, in_channels, H, W) -> (B, num_classes, H, W) logits."""

    name = "unet"
    additive_skips = False  # True: the up-sampled features are added to the skip instead of concatenated with it
    stage_block: Callable[[int, int], nn.Module] = DoubleConv  # (cin, cout) -> each encoder and decoder stage

    def __init__(self, num_classes: int, in_channels: int = 1, base_width: int = 64, depth: int = 4):
        super().__init__()
        if depth < 1:
            raise ValueError(f"depth must be >= 1, got {depth}")
        self.num_classes = num_classes
        self.in_channels = in_channels
        self.size_multiple = 2**depth
        self.min_size = 2**depth
        widths = [base_width * 2**i for i in range(depth + 1)]
        self.enc = nn.ModuleList([self.stage_block(in_channels, widths[0])])
        self.enc.extend(self.stage_block(widths[i], widths[i + 1]) for i in range(depth))
        self.pool = nn.MaxPool2d(2)
        self.up = nn.ModuleList(nn.ConvTranspose2d(widths[i + 1], widths[i], 2, stride=2) for i in range(depth))
        fused = 1 if self.additive_skips else 2  # channels into a decoder stage, in units of its width
        self.dec = nn.ModuleList(self.stage_block(fused * widths[i], widths[i]) for i in range(depth))
        self.head = nn.Conv2d(widths[0], num_classes, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self._check(x)
        skips = []
        for i, stage in enumerate(self.enc):
            x = stage(x if i == 0 else self.pool(x))
            skips.append(x)
        x = skips.pop()
        for i in reversed(range(len(self.dec))):
            skip, up = self.skip(i, skips.pop(), x), self.up[i](x)
            x = self.dec[i](skip + up if self.additive_skips else torch.cat([skip, up], dim=1))
        return self.head(x)

    def skip(self, stage: int, features: torch.Tensor, gating: torch.Tensor) -> torch.Tensor:
        """The skip connection of decoder ``stage``: the encoder features as they are (hook for subclasses)."""
        return features
