"""Attention U-Net (Oktay et al., 2018): a U-Net whose skip connections pass additive attention gates.

Gate (Oktay et al., Fig. 2): for a skip ``x`` (resolution H) and the gating signal ``g`` from the
coarser decoder stage (H/2)::

    q   = ReLU(W_x x  +  W_g g)        W_x: 2x2 stride-2 conv (x down to g's grid), W_g: 1x1 conv
    a   = sigmoid(psi(q))              psi: 1x1 conv to one channel
    out = W(x * upsample(a))           upsample: bilinear to H; W: 1x1 conv + BN

The gated skip is then concatenated with the upsampled decoder features as in the U-Net.
H and W must be multiples of ``2**depth`` (16).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .unet import UNet


class AttentionGate(nn.Module):
    """Additive attention gate: ``forward(x, g)``, x (B, cx, H, W), g (B, cg, H/2, W/2) -> (B, cx, H, W)."""

    def __init__(self, x_channels: int, g_channels: int, inter_channels: int | None = None):
        super().__init__()
        inter = inter_channels or max(1, x_channels // 2)
        self.theta_x = nn.Conv2d(x_channels, inter, 2, stride=2, bias=False)
        self.phi_g = nn.Conv2d(g_channels, inter, 1, bias=True)
        self.psi = nn.Conv2d(inter, 1, 1, bias=True)
        self.out = nn.Sequential(nn.Conv2d(x_channels, x_channels, 1, bias=False), nn.BatchNorm2d(x_channels))
        self.last_attention: torch.Tensor | None = None

    def forward(self, x: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
        q = F.relu(self.theta_x(x) + self.phi_g(g))
        a = torch.sigmoid(self.psi(q))
        a = F.interpolate(a, size=x.shape[-2:], mode="bilinear", align_corners=False)
        self.last_attention = a.detach()
        return self.out(x * a)


class AttentionUNet(UNet):
    """(B, in_channels, H, W) -> (B, num_classes, H, W) logits. The paper's size is ``base_width=64``.

    The U-Net of :mod:`samcl.models.unet` with an :class:`AttentionGate` on every skip connection.
    """

    name = "attention_unet"

    def __init__(self, num_classes: int, in_channels: int = 1, base_width: int = 64, depth: int = 4):
        super().__init__(num_classes, in_channels, base_width, depth)
        widths = [base_width * 2**i for i in range(depth + 1)]
        self.gates = nn.ModuleList(AttentionGate(widths[i], widths[i + 1]) for i in range(depth))

    def skip(self, stage: int, features: torch.Tensor, gating: torch.Tensor) -> torch.Tensor:
        """Encoder features of ``stage`` weighted by the attention computed from the coarser decoder stage."""
        return self.gates[stage](features, gating)
