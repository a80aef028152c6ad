"""``build_loss``: every loss of the package by name (the one factory)."""

from __future__ import annotations

from ._common import DEFAULT_IGNORE_INDEX, SegmentationLoss
from .ce import CrossEntropyLoss
from .dice import DiceLoss
from .dice_ce import DiceCELoss
from .rmi import RMILoss
from .settings import BASE_LOSS_NAMES

#: The base losses by name.
BASE_LOSSES: dict[str, type[SegmentationLoss]] = dict(
    zip(BASE_LOSS_NAMES, (CrossEntropyLoss, DiceLoss, RMILoss, DiceCELoss), strict=True)
)


def available_losses() -> list[str]:
    """Valid names for :func:`build_loss`."""
    return [*BASE_LOSSES, "samcl", *(f"{b}+samcl" for b in BASE_LOSSES)]


def build_loss(name: str, num_classes: int, ignore_index: int = DEFAULT_IGNORE_INDEX, **kwargs) -> SegmentationLoss:
    """Build a loss by name.

    - 'ce', 'dice', 'rmi': the baselines (``kwargs`` go to their constructors).
    - 'samcl': :class:`~samcl.losses.samcl_loss.SAMCLLoss` (``kwargs`` go to it; its default base loss is RMI).
    - 'ce+samcl', 'dice+samcl', 'rmi+samcl': SAM-CL with that base loss.
    """
    from .samcl_loss import SAMCLLoss

    key = name.strip().lower()
    if key in BASE_LOSSES:
        return BASE_LOSSES[key](ignore_index=ignore_index, **kwargs)
    if key == "samcl":
        return SAMCLLoss(num_classes, ignore_index=ignore_index, **kwargs)
    if key.endswith("+samcl") and key[: -len("+samcl")] in BASE_LOSSES:
        return SAMCLLoss(num_classes, base_loss=key[: -len("+samcl")], ignore_index=ignore_index, **kwargs)
    raise ValueError(f"unknown loss {name!r}; choose one of {available_losses()}")
