"""Segmentation models by name: ``build_model(name, num_classes, in_channels=1, **kwargs)``.

Names: ``unet``, ``attention_unet`` (written here; ``base_width`` and ``depth`` keyword arguments), ``live``
(a network for camera-rate CPU inference, :mod:`samcl.models.live`; ``base_width``), the poster's heavy networks
``deeplabv3plus_resnet101``, ``deeplabv3plus_xception65`` (DeepLabV3+ at output stride 8, ASPP rates 12/24/36) and
``hrnetv2_w48`` (:mod:`samcl.models.hrnet`), and ``smp:<Arch>:<encoder>`` for any segmentation-models-pytorch
architecture and encoder (the last four need the ``zoo`` extra). Every model maps (B, in_channels, H, W) to
(B, num_classes, H, W) logits for H, W multiples of 16 and has ``size_multiple`` and ``min_size`` attributes (see
:func:`check_input_size`).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable

from torch import nn

from .attention_unet import AttentionUNet
from .live import LiveNet
from .smp_zoo import SMP_EXAMPLES, ZOO_MODELS, SMPModel
from .unet import UNet

_BUILTIN: dict[str, Callable[..., nn.Module]] = {
    "unet": UNet,
    "attention_unet": AttentionUNet,
    "live": LiveNet,
    **ZOO_MODELS,
}


def available_models() -> list[str]:
    """Built-in names, plus the ``smp:<Arch>:<encoder>`` pattern and examples of it."""
    return [*_BUILTIN, "smp:<Arch>:<encoder>", *SMP_EXAMPLES]


def has_base_width(name: str) -> bool:
    """Whether the built-in model ``name`` takes a ``base_width`` argument (read from its builder's signature).
    The heavy networks and ``smp:`` models have none: their builders pass unknown arguments on to
    segmentation-models-pytorch or refuse them."""
    builder = _BUILTIN.get(name.strip().lower())
    return builder is not None and "base_width" in inspect.signature(builder).parameters


def build_model(name: str, num_classes: int, in_channels: int = 1, **kwargs) -> nn.Module:
    """Build a segmentation model by name (no pretrained weights). Unknown names raise ValueError."""
    if num_classes < 1:
        raise ValueError(f"num_classes must be >= 1, got {num_classes}")
    key = name.strip()
    if key.lower() in _BUILTIN:
        return _BUILTIN[key.lower()](num_classes=num_classes, in_channels=in_channels, **kwargs)
    if key.lower().startswith("smp:"):
        parts = key.split(":")
        if len(parts) != 3 or not parts[1] or not parts[2]:
            raise ValueError(
                f"smp model names look like 'smp:<Arch>:<encoder>', e.g. {SMP_EXAMPLES[0]!r}; got {name!r}"
            )
        return SMPModel(parts[1], parts[2], num_classes=num_classes, in_channels=in_channels, **kwargs)
    raise ValueError(f"unknown model {name!r}; valid names: {available_models()}")
