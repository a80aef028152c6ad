"""U-Net (Ronneberger et al., 2015) with batch norm, sized by ``base_width``.

Encoder: ``depth`` (4) max-pool stages, widths ``base_width * 2**i``; decoder: 2x2 transposed
convolutions, concatenation with the skip (or, in the decoder stages past the ``concat_stages`` finest ones,
addition), DoubleConv; 1x1 conv to ``num_classes`` logits.
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
    stage_block: Callable[[int, int], nn.Module] = DoubleConv  # (cin, cout) -> each encoder and decoder stage

    def __init__(
        self,
        num_classes: int,
        in_channels: int = 1,
        base_width: int = 64,
        depth: int = 4,
        concat_stages: int | None = None,
    ):
        """``concat_stages``: how many decoder stages, the finest (full resolution) first, concatenate the skip with
        the up-sampled features; the others add them (as LinkNet does: half the channels into the stage's
        convolutions). None: all of them."""
        super().__init__()
        if depth < 1:
            raise ValueError(f"depth must be >= 1, got {depth}")
        concat_stages = depth if concat_stages is None else concat_stages
        if not 0 <= concat_stages <= depth:
            raise ValueError(f"concat_stages must be between 0 and depth ({depth}), got {concat_stages}")
        self.concatenates = [stage < concat_stages for stage in range(depth)]  # per decoder stage, finest first
        self.num_classes = num_classes
        self.in_channels = in_channels
        self.size_multiple = 2**depth
        self.min_size = 2**depth
        widths = [base_width * 2**i for i in range(depth + 1)]
        self.enc = nn.ModuleList([self.stage_block(in_channels, widths[0])])
        self.enc.extend(self.stage_block(widths[i], widths[i + 1]) for i in range(depth))
        self.pool = nn.MaxPool2d(2)
        self.up = nn.ModuleList(nn.ConvTranspose2d(widths[i + 1], widths[i], 2, stride=2) for i in range(depth))
        self.dec = nn.ModuleList(  # a concatenating stage takes twice its width
            self.stage_block((2 if self.concatenates[i] else 1) * widths[i], widths[i]) for i in range(depth)
        )
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
            x = self.dec[i](torch.cat([skip, up], dim=1) if self.concatenates[i] else skip + up)
        return self.head(x)

    def skip(self, stage: int, features: torch.Tensor, gating: torch.Tensor) -> torch.Tensor:
        """The skip connection of decoder ``stage``: the encoder features as they are (hook for subclasses)."""
        return features
