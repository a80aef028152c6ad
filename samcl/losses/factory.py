"""``build_loss``: every loss of the package by name (the one factory); the base losses are
:data:`~samcl.losses.base_losses.BASE_LOSSES`."""

from __future__ import annotations

from ._common import DEFAULT_IGNORE_INDEX, SegmentationLoss
from .base_losses import BASE_LOSSES, build_base_loss
from .samcl_loss import SAMCLLoss


def available_losses() -> list[str]:
    """Valid names for :func:`build_loss`."""
    return [*BASE_LOSSES, "samcl", *(f"{b}+samcl" for b in BASE_LOSSES)]


def build_loss(name: str, num_classes: int, ignore_index: int = DEFAULT_IGNORE_INDEX, **kwargs) -> SegmentationLoss:
    """Build a loss by name.

    - a base loss ('ce', 'dice', 'rmi', ...: :data:`~samcl.losses.base_losses.BASE_LOSSES`; ``kwargs`` go to its
      constructor).
    - 'samcl': :class:`~samcl.losses.samcl_loss.SAMCLLoss` (``kwargs`` go to it; its default base loss is Dice + CE).
    - '<base>+samcl', e.g. 'rmi+samcl': SAM-CL with that base loss.
    """
    key = name.strip().lower()
    if key in BASE_LOSSES:
        return build_base_loss(key, ignore_index=ignore_index, **kwargs)
    if key == "samcl":
        return SAMCLLoss(num_classes, ignore_index=ignore_index, **kwargs)
    if key.endswith("+samcl") and key[: -len("+samcl")] in BASE_LOSSES:
        return SAMCLLoss(num_classes, base_loss=key[: -len("+samcl")], ignore_index=ignore_index, **kwargs)
    raise ValueError(f"unknown loss {name!r}; choose one of {available_losses()}")
