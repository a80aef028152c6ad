"""Building blocks shared by the U-Net family, the input-size check and the pad-to-stride forward."""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn


class DoubleConv(nn.Sequential):
    """``(3x3 conv -> BN -> ReLU) x 2``: the U-Net stage."""

    def __init__(self, cin: int, cout: int):
        super().__init__(
            nn.Conv2d(cin, cout, 3, padding=1, bias=False),
            nn.BatchNorm2d(cout),
            nn.ReLU(inplace=True),
            nn.Conv2d(cout, cout, 3, padding=1, bias=False),
            nn.BatchNorm2d(cout),
            nn.ReLU(inplace=True),
        )


def check_input_size(model: nn.Module, height: int, width: int) -> None:
    """Raise ValueError if a (height, width) input does not suit ``model``.

    Uses the model's ``size_multiple`` (H and W must be multiples of it) and ``min_size``
    (smallest H and W) attributes when present; registry models all have them.
    """
    multiple = int(getattr(model, "size_multiple", 1))
    min_size = int(getattr(model, "min_size", 1))
    name = getattr(model, "name", type(model).__name__)
    if height < min_size or width < min_size:
        raise ValueError(f"{name} needs inputs of at least {min_size}x{min_size} pixels, got {height}x{width}")
    if height % multiple or width % multiple:
        raise ValueError(f"{name} needs H and W to be multiples of {multiple}, got {height}x{width}")


class SizeCheckedModel(nn.Module):
    """Mixin-style base: subclasses set ``size_multiple``/``min_size`` and call ``self._check(x)``."""

    size_multiple: int = 1
    min_size: int = 1
    name: str = "model"

    def _check(self, x: torch.Tensor) -> None:
        if x.dim() != 4:
            raise ValueError(f"{self.name} expects (B, C, H, W) input, got {tuple(x.shape)}")
        in_ch = getattr(self, "in_channels", None)
        if in_ch is not None and x.shape[1] != in_ch:
            raise ValueError(f"{self.name} expects {in_ch} input channel(s), got {x.shape[1]}")
        check_input_size(self, x.shape[-2], x.shape[-1])


def padded_forward(net: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, stride: int) -> torch.Tensor:
    """``net`` on ``x`` padded (edge replication) to multiples of ``stride``, its output cropped back to H, W."""
    h, w = x.shape[-2:]
    ph, pw = (-h) % stride, (-w) % stride
    if ph or pw:
        x = F.pad(x, (0, pw, 0, ph), mode="replicate")
    return net(x)[..., :h, :w]
