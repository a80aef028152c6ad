"""``build_loss``: every loss of the package by name."""

from __future__ import annotations

from torch import nn

from ._common import DEFAULT_IGNORE_INDEX
from .samcl_loss import BASE_LOSSES, SAMCLLoss, build_base_loss


def available_losses() -> list[str]:
    """Valid names for :func:`build_loss`."""
    return [*BASE_LOSSES, "samcl", *(f"{b}+samcl" for b in BASE_LOSSES)]


def build_loss(name: str, num_classes: int, ignore_index: int = DEFAULT_IGNORE_INDEX, **kwargs) -> nn.Module:
    """Build a loss by name.

    - 'ce', 'dice', 'rmi': the baselines (``kwargs`` go to their constructors).
    - 'samcl': :class:`SAMCLLoss` (``kwargs`` go to it; its default base loss is RMI).
    - 'ce+samcl', 'dice+samcl', 'rmi+samcl': :class:`SAMCLLoss` with that base loss.
    """
    key = name.strip().lower()
    if key in BASE_LOSSES:
        return build_base_loss(key, ignore_index=ignore_index, **kwargs)
    if key == "samcl":
        return SAMCLLoss(num_classes, ignore_index=ignore_index, **kwargs)
    if key.endswith("+samcl") and key[: -len("+samcl")] in BASE_LOSSES:
        return SAMCLLoss(num_classes, base_loss=key[: -len("+samcl")], ignore_index=ignore_index, **kwargs)
    raise ValueError(f"unknown loss {name!r}; choose one of {available_losses()}")
