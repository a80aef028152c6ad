"""``live``: a segmentation network for camera-rate inference on an ordinary CPU (a laptop, a small board).

Why this shape. A thermal face camera (TC001, Lepton) gives 256x192 or smaller frames of one channel, and the
classes are few and large (background, skin) or small but compact (eyes, nostrils, mouth). On a CPU the time of a
U-Net goes into full-resolution 3x3 convolutions with many channels; what the task needs is context (where the
face is) at low resolution and accurate boundaries at full resolution. So:

- **encoder**: a strided stem and depthwise-separable blocks (a depthwise 3x3, then a pointwise 1x1: about 8x
  fewer operations than a full 3x3 at these widths), down to 1/16 of the frame. The capacity sits at 1/8 and
  1/16 (3 and 4 blocks, 6 and 10 times ``base_width`` wide), where a pixel costs 64 to 256 times less than at
  full resolution: there it buys accuracy for little time. Two dilated blocks and a global-average context
  widen the field of view without further down-sampling;
- **decoder**: three depthwise-separable stages, from 1/16 back to 1/2 of the frame, each fusing the encoder
  features of that scale (1/8, 1/4, 1/2; 4, 2 and 1 times ``base_width`` wide); the class logits are predicted
  at 1/2 resolution;
- **refinement**: the logits are up-sampled to the frame and corrected by a small full-resolution branch that
  sees the temperatures themselves (one 3x3 convolution of the input, then a depthwise-separable block over the
  up-sampled logits and those features, added as a residual), so thin boundaries (eyelids, nostrils) follow
  the image rather than the coarser grid. (Why these stages and not a full-resolution decoder stage:
  benchmarks/README.md, section 6.)

Encoder widths are ``base_width * (1, 2, 6, 10)`` at 1/2, 1/4, 1/8 and 1/16 (``base_width`` 16 by default).
H and W must be multiples of 16. The network prefers the channels-last layout for inference
(``prefers_channels_last``), where depthwise convolutions run faster on CPUs.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ._blocks import SizeCheckedModel


def conv_bn_relu(cin: int, cout: int, kernel: int = 3, stride: int = 1, dilation: int = 1, groups: int = 1):
    """``conv -> BN -> ReLU`` with "same" padding."""
    padding = dilation * (kernel // 2)
    return nn.Sequential(
        nn.Conv2d(cin, cout, kernel, stride, padding, dilation=dilation, groups=groups, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
    )


class SeparableBlock(nn.Sequential):
    """Depthwise 3x3 (stride, dilation), then pointwise 1x1, each with BN and ReLU: (B, cin, H, W) -> (B, cout, ...)."""

    def __init__(self, cin: int, cout: int, stride: int = 1, dilation: int = 1):
        super().__init__(
            conv_bn_relu(cin, cin, 3, stride, dilation, groups=cin),
            conv_bn_relu(cin, cout, 1),
        )


class ResidualSeparable(SeparableBlock):
    """A :class:`SeparableBlock` with the same channels in and out, added to its input."""

    def __init__(self, channels: int, dilation: int = 1):
        super().__init__(channels, channels, 1, dilation)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + super().forward(x)


class LiveNet(SizeCheckedModel):
    """(B, in_channels, H, W) -> (B, num_classes, H, W) logits, for H and W multiples of 16."""

    name = "live"
    size_multiple = 16
    min_size = 16
    prefers_channels_last = True

    def __init__(self, num_classes: int, in_channels: int = 1, base_width: int = 16):
        super().__init__()
        if base_width < 2:
            raise ValueError(f"base_width must be >= 2, got {base_width}")
        self.num_classes = num_classes
        self.in_channels = in_channels
        w1, w2, w3, w4 = (base_width * k for k in (1, 2, 6, 10))
        self.stem = conv_bn_relu(in_channels, w1, 3, stride=2)  # 1/2
        self.down4 = SeparableBlock(w1, w2, stride=2)  # 1/4
        self.down8 = nn.Sequential(  # 1/8
            SeparableBlock(w2, w3, stride=2), *(ResidualSeparable(w3) for _ in range(2))
        )
        self.down16 = nn.Sequential(  # 1/16, dilated for context
            SeparableBlock(w3, w4, stride=2), *(ResidualSeparable(w4, d) for d in (2, 4, 1))
        )
        self.context = conv_bn_relu(w4, w4, 1)
        self.fuse8 = SeparableBlock(w4 + w3, 2 * w2)
        self.fuse4 = SeparableBlock(2 * w2 + w2, w2)
        self.fuse2 = SeparableBlock(w2 + w1, w1)
        self.classify = nn.Conv2d(w1, num_classes, 1)
        edges = w1 // 2
        self.edges = conv_bn_relu(in_channels, edges, 3)
        self.refine = nn.Sequential(
            nn.Conv2d(num_classes + edges, num_classes + edges, 3, padding=1, groups=num_classes + edges),
            nn.Conv2d(num_classes + edges, num_classes, 1),
        )

    @staticmethod
    def _up(x: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
        return F.interpolate(x, size=like.shape[-2:], mode="bilinear", align_corners=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self._check(x)
        f2 = self.stem(x)
        f4 = self.down4(f2)
        f8 = self.down8(f4)
        f16 = self.down16(f8)
        f16 = f16 + self.context(f16.mean(dim=(2, 3), keepdim=True))
        d8 = self.fuse8(torch.cat([self._up(f16, f8), f8], dim=1))
        d4 = self.fuse4(torch.cat([self._up(d8, f4), f4], dim=1))
        d2 = self.fuse2(torch.cat([self._up(d4, f2), f2], dim=1))
        coarse = self._up(self.classify(d2), x)
        return coarse + self.refine(torch.cat([coarse, self.edges(x)], dim=1))
