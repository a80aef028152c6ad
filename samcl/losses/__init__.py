"""Losses: baselines (CE, Dice, RMI, BCE), SAM-CL and the poster's other
strategies (ContrastiveSeg, SegAN, SegGAN). All take logits (B, C, H, W) and targets (B, H, W).

Names are imported on first use (PEP 562): :mod:`.base_losses` (the base losses by name) and :mod:`.settings`
(SAM-CL's design choices) load without torch.
"""

from __future__ import annotations

from tiaug._lazy import lazy_exports

#: public name -> the submodule defining it
_EXPORTS = {
    **dict.fromkeys(("DEFAULT_IGNORE_INDEX", "SegmentationLoss", "labelled_mean"), "_common"),
    **dict.fromkeys(("BASE_LOSSES", "BASE_LOSS_NAMES", "BaseLoss"), "base_losses"),
    **dict.fromkeys(("available_losses", "build_loss"), "factory"),
    **dict.fromkeys(("CrossEntropyLoss", "ce_map_distance"), "ce"),
    **dict.fromkeys(("DiceLoss", "dice_map_distance"), "dice"),
    **dict.fromkeys(("RMILoss", "rmi_lower_bound", "rmi_map_distance"), "rmi"),
    **dict.fromkeys(("JSConsistency", "js_consistency", "js_divergence_map"), "consistency"),
    **dict.fromkeys(("KDLoss", "kd_divergence_map", "kd_loss"), "distillation"),
    **dict.fromkeys(("SAMCLLoss", "warmup_factor"), "samcl_loss"),
    **dict.fromkeys(("cosine_distance", "l1_distance", "mse_distance"), "distances"),
    **dict.fromkeys(("random_derangement", "random_derangements"), "derangement"),
    "BCELoss": "bce",
    "DiceCELoss": "dice_ce",
    "SAMCL_PRESETS": "settings",
    "ContrastiveSegLoss": "contrastive",
    "SegANLoss": "segan",
    "SegGANLoss": "seggan",
}

__all__ = sorted(_EXPORTS)

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
