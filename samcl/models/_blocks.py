"""Building blocks shared by the U-Net family, the input-size check and the pad-to-stride forward."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import cast

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


class RepConv(nn.Module):
    """``3x3 conv -> BN -> ReLU`` that trains with two more branches (RepVGG, Ding et al., CVPR 2021): a
    ``1x1 conv -> BN`` and, when ``cin == cout``, a BN of the input, added before the ReLU. The branches, their BNs
    folded in, equal one 3x3 convolution with a bias (:meth:`folded`): eval mode computes it at each call, and
    :func:`fused_for_inference` makes it the block's only convolution, what inference and ONNX export run at the
    cost of the plain block. (B, cin, H, W) -> (B, cout, H, W)."""

    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.conv3, self.bn3 = nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout)
        self.conv1, self.bn1 = nn.Conv2d(cin, cout, 1, bias=False), nn.BatchNorm2d(cout)
        self.bn_identity = nn.BatchNorm2d(cout) if cin == cout else None
        # set by fuse_; not saved, so a fused model's state_dict is still the branches' (it loads into a new one)
        self.fused_weight: torch.Tensor | None
        self.fused_bias: torch.Tensor | None
        self.register_buffer("fused_weight", None, persistent=False)
        self.register_buffer("fused_bias", None, persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.fused_weight is not None:
            y = F.conv2d(x, self.fused_weight, self.fused_bias, padding=1)
        elif self.training:
            y = self.bn3(self.conv3(x)) + self.bn1(self.conv1(x))
            if self.bn_identity is not None:
                y = y + self.bn_identity(x)
        else:
            y = F.conv2d(x, *self.folded(), padding=1)
        return F.relu(y)

    def folded(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The (cout, cin, 3, 3) kernel and (cout,) bias equal to the three branches in eval mode."""
        branches = [(self.conv3.weight, self.bn3), (F.pad(self.conv1.weight, [1, 1, 1, 1]), self.bn1)]
        if self.bn_identity is not None:
            identity = torch.zeros_like(self.conv3.weight)
            identity[:, :, 1, 1] = torch.eye(identity.shape[0], dtype=identity.dtype, device=identity.device)
            branches.append((identity, self.bn_identity))
        kernel, bias = torch.zeros_like(self.conv3.weight), torch.zeros_like(self.bn3.bias)
        for weight, bn in branches:
            mean, var = cast(torch.Tensor, bn.running_mean), cast(torch.Tensor, bn.running_var)
            scale = bn.weight / torch.sqrt(var + bn.eps)
            kernel = kernel + weight * scale[:, None, None, None]
            bias = bias + bn.bias - mean * scale
        return kernel, bias

    @torch.no_grad()
    def fuse_(self) -> None:
        """From now on run the one folded convolution (for inference: later changes of the branches are ignored)."""
        self.fused_weight, self.fused_bias = self.folded()


def fused_for_inference(model: nn.Module) -> nn.Module:
    """``model`` itself, or, when it has :class:`RepConv` blocks not fused yet, a copy in which each runs its one
    folded convolution (the model is not changed)."""
    if not any(isinstance(m, RepConv) and m.fused_weight is None for m in model.modules()):
        return model  # nothing to fold, or folded already (a loaded model on its way to an ONNX export)
    model = copy.deepcopy(model)
    for module in model.modules():
        if isinstance(module, RepConv):
            module.fuse_()
    return model


class RepDoubleConv(nn.Sequential):
    """Two :class:`RepConv`: the U-Net stage with RepVGG training branches (one 3x3 conv each in eval mode)."""

    def __init__(self, cin: int, cout: int):
        super().__init__(RepConv(cin, cout), RepConv(cout, cout))


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
