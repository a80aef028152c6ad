"""Training add-ons by name: the protocol is :mod:`.protocol`; each learning strategy is one entry of
:data:`ADDONS` (name -> ``factory(config, num_classes)``), built by :func:`build_addons` for a run."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from samcl.training.addons.attack import AttackAddon
from samcl.training.addons.consistency import ConsistencyAddon
from samcl.training.addons.distill import DistillAddon
from samcl.training.addons.protocol import Batch, SegmenterOutput, StepContext, TrainingAddon
from samcl.training.addons.samcl import SAMCLAddon
from samcl.training.addons.strategy_losses import STRATEGY_ADDONS

if TYPE_CHECKING:
    from samcl.training.config import TrainConfig

#: name -> factory(config, num_classes) of each add-on a run can use (``TrainConfig.addon_names``).
ADDONS: dict[str, Callable[[TrainConfig, int], TrainingAddon]] = {
    "attack": AttackAddon.from_config,
    "consistency": ConsistencyAddon.from_config,
    "distill": DistillAddon.from_config,
    "samcl": SAMCLAddon.from_config,
    **{name: addon.from_config for name, addon in STRATEGY_ADDONS.items()},
}

__all__ = [
    "ADDONS",
    "AttackAddon",
    "Batch",
    "ConsistencyAddon",
    "DistillAddon",
    "SAMCLAddon",
    "SegmenterOutput",
    "StepContext",
    "TrainingAddon",
    "build_addons",
]


def build_addons(config: TrainConfig, num_classes: int) -> list[TrainingAddon]:
    """The add-ons ``config`` asks for, in order."""
    return [ADDONS[name](config, num_classes) for name in config.addon_names()]
