"""Losses: baselines (CE, Dice, RMI, BCE), SAM-CL and the poster's other
strategies (ContrastiveSeg, SegAN, SegGAN). All take logits (B, C, H, W) and targets (B, H, W).

Names are imported on first use (PEP 562): :mod:`.base_losses` (the base losses by name) and :mod:`.settings`
(SAM-CL's design choices) load without torch.
"""

from __future__ import annotations

from tiaug._lazy import lazy_exports

#: public name -> the submodule defining it
_EXPORTS = {
    "BASE_LOSSES": "base_losses",
    "BASE_LOSS_NAMES": "base_losses",
    "BaseLoss": "base_losses",
    "BCELoss": "bce",
    "DEFAULT_IGNORE_INDEX": "_common",
    "SAMCL_PRESETS": "settings",
    "ContrastiveSegLoss": "contrastive",
    "CrossEntropyLoss": "ce",
    "DiceCELoss": "dice_ce",
    "DiceLoss": "dice",
    "JSConsistency": "consistency",
    "RMILoss": "rmi",
    "SAMCLLoss": "samcl_loss",
    "SegANLoss": "segan",
    "SegGANLoss": "seggan",
    "SegmentationLoss": "_common",
    "available_losses": "factory",
    "build_loss": "factory",
    "ce_map_distance": "ce",
    "cosine_distance": "distances",
    "dice_map_distance": "dice",
    "js_consistency": "consistency",
    "js_divergence_map": "consistency",
    "l1_distance": "distances",
    "mse_distance": "distances",
    "random_derangement": "derangement",
    "random_derangements": "derangement",
    "rmi_lower_bound": "rmi",
    "rmi_map_distance": "rmi",
    "warmup_factor": "samcl_loss",
}

__all__ = sorted(_EXPORTS)

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
