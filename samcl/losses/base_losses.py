"""The base losses by name: the one table of them (``build_loss``, ``samcl-train --loss``, SAM-CL's scale-0
distance). It loads without torch, so ``samcl-train --help`` lists the names without importing the losses.

Each entry names, as ``"submodule:attribute"`` of :mod:`samcl.losses`:

- ``loss``: the ``nn.Module`` class (constructed with ``ignore_index=``), ``forward(logits, target) -> scalar``;
- ``map_distance`` (optional): the same quantity as SAM-CL's scale-0 distance between maps, ``(prob
  (B, C, H, W), ref (B, C, H, W), valid (B, H, W)) -> scalar``; without one, SAM-CL cannot measure with it;
- ``label_distance`` (optional): a shortcut computing that distance against the ground truth and the
  class-swapped labels from the label maps, ``(prob, labels (B, H, W), sigma (B, C), valid) -> (d_pos, d_neg)``;
  without one, SAM-CL builds the two one-hot maps and calls ``map_distance``.

Adding a base loss: its module (the class and its map distance) and one entry below.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class BaseLoss:
    """Where a base loss and its SAM-CL distances live (``"submodule:attribute"`` of :mod:`samcl.losses`)."""

    loss: str
    map_distance: str | None = None
    label_distance: str | None = None

    @staticmethod
    def resolve(reference: str) -> Any:
        """The object a ``"submodule:attribute"`` reference names (its submodule is imported on first use)."""
        module, _, attribute = reference.partition(":")
        return getattr(importlib.import_module(f"samcl.losses.{module}"), attribute)


BASE_LOSSES: dict[str, BaseLoss] = {
    "ce": BaseLoss("ce:CrossEntropyLoss", "ce:ce_map_distance", "label_distances:ce_pair"),
    "dice": BaseLoss("dice:DiceLoss", "dice:dice_map_distance", "label_distances:dice_pair"),
    "rmi": BaseLoss("rmi:RMILoss", "rmi:rmi_map_distance", "label_distances:rmi_pair"),
    "dice_ce": BaseLoss("dice_ce:DiceCELoss"),
    "bce": BaseLoss("bce:BCELoss"),
}
#: The names, in the table's order; the default base loss (``samcl-train --loss``, ``SAMCLLoss(base_loss=)``).
BASE_LOSS_NAMES = tuple(BASE_LOSSES)
DEFAULT_BASE_LOSS = "dice_ce"  # learns every class on every seed (benchmarks/README §5b)


def base_loss(name: str) -> BaseLoss:
    """The entry of base loss ``name``; an unknown name raises ValueError listing the valid ones."""
    if name not in BASE_LOSSES:
        raise ValueError(f"unknown base loss {name!r}; choose one of {list(BASE_LOSSES)}")
    return BASE_LOSSES[name]


def build_base_loss(name: str, **kwargs: Any) -> Any:
    """Base loss ``name`` as a module (``kwargs``, e.g. ``ignore_index``, go to its constructor)."""
    return BaseLoss.resolve(base_loss(name).loss)(**kwargs)
