"""What a run stores in its checkpoints (the file format itself is :mod:`samcl.artifacts.checkpoint`).

``best.pt`` holds what inference needs: the network's description and weights, the classes, the ignore index,
the input normalisation, the crop size, and the run's configuration and progress. ``last.pt`` adds
``train_state``, everything ``--resume`` needs to continue bit for bit::

    optimizer, scheduler     the segmenter's SGD (with the parameters of add-ons trained alongside) and its poly decay
    addons                   {name: the add-on's state_dict (parameters, buffers, extra state such as generators)}
    addon_optimizers         {name: the state of the add-on's own optimiser}, for add-ons that have one
    scaler                   None (bfloat16 autocast needs no loss scaling; kept for the format's stability)
    torch_rng, cuda_rng      the global random states
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from samcl.artifacts.checkpoint import load_checkpoint
from samcl.artifacts.normalization import Normalization
from samcl.training.addons import TrainingAddon
from samcl.training.config import TrainConfig
from samcl.training.preflight import SettingError


@dataclass
class RunProgress:
    """How far a run has come: steps done, best validation mIoU and its step (-1 before any validation)."""

    step: int = 0
    best_miou: float = -1.0
    best_step: int = -1


@dataclass
class TrainingState:
    """The objects whose state ``last.pt`` keeps: optimisers, scheduler and add-ons."""

    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler
    addons: list[TrainingAddon]
    addon_optimizers: dict[str, torch.optim.Optimizer]

    def state_dict(self) -> dict[str, Any]:
        return {
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "addons": {addon.name: addon.state_dict() for addon in self.addons},
            "addon_optimizers": {name: opt.state_dict() for name, opt in self.addon_optimizers.items()},
            "scaler": None,
            "torch_rng": torch.get_rng_state(),
            "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        for addon in self.addons:
            addon.load_state_dict(state["addons"][addon.name])
        for name, optimizer in self.addon_optimizers.items():
            optimizer.load_state_dict(state["addon_optimizers"][name])
        torch.set_rng_state(state["torch_rng"])
        if state["cuda_rng"] is not None and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state["cuda_rng"])


def run_payload(
    config: TrainConfig,
    model: nn.Module,
    classes: tuple[str, ...],
    normalization: Normalization,
    progress: RunProgress,
    training: TrainingState | None = None,
) -> dict[str, Any]:
    """The checkpoint of a run: ``best.pt``'s entries, and with ``training`` also ``train_state``."""
    payload: dict[str, Any] = {
        "model": {
            "name": config.model,
            "kwargs": dict(config.model_kwargs),
            "num_classes": len(classes),
            "in_channels": 1,
        },
        "classes": list(classes),
        "ignore_index": config.ignore_index,
        "normalization": normalization.as_dict(),
        "input_size": list(config.crop or ()),
        "model_state": model.state_dict(),
        "iteration": progress.step,
        "best_miou": progress.best_miou,
        "best_iteration": progress.best_step,
        "config": config.as_dict(),
    }
    if training is not None:
        payload["train_state"] = training.state_dict()
    return payload


def progress_of(payload: dict[str, Any]) -> RunProgress:
    """The progress a checkpoint records."""
    return RunProgress(int(payload["iteration"]), float(payload["best_miou"]), int(payload["best_iteration"]))


def resume_payload(run_dir: str | Path) -> dict[str, Any]:
    """``RUN_DIR/last.pt`` with its training state; a clear error when there is nothing to resume."""
    path = Path(run_dir) / "last.pt"
    if not Path(run_dir).is_dir():
        raise SettingError("resume", f"run folder {run_dir}: no such folder, so there is no run to resume")
    if not path.exists():
        raise SettingError("resume", f"run folder {run_dir}: no last.pt in it (nothing to resume; start a new run)")
    payload = load_checkpoint(path)
    state = payload.get("train_state")
    if not isinstance(state, dict) or "addons" not in state:
        raise SettingError(
            "resume",
            f"{path}: holds no training state this samcl can continue (a best.pt copy, or a last.pt written by an "
            "older samcl)",
        )
    return payload
