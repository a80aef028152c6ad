"""Losses: baselines (CE, Dice, RMI) and SAM-CL. All take logits (B, C, H, W) and targets (B, H, W)."""

from ._common import DEFAULT_IGNORE_INDEX, SegmentationLoss
from .ce import CrossEntropyLoss, ce_map_distance
from .derangement import random_derangement, random_derangements
from .dice import DiceLoss, dice_map_distance
from .distances import cosine_distance, l1_distance, mse_distance
from .factory import BASE_LOSSES, available_losses, build_loss
from .rmi import RMILoss, rmi_lower_bound, rmi_map_distance
from .samcl_loss import SAMCL_PRESETS, SAMCLLoss, warmup_factor

__all__ = [
    "BASE_LOSSES",
    "DEFAULT_IGNORE_INDEX",
    "SAMCL_PRESETS",
    "CrossEntropyLoss",
    "DiceLoss",
    "RMILoss",
    "SAMCLLoss",
    "SegmentationLoss",
    "available_losses",
    "build_loss",
    "ce_map_distance",
    "cosine_distance",
    "dice_map_distance",
    "l1_distance",
    "mse_distance",
    "random_derangement",
    "random_derangements",
    "rmi_lower_bound",
    "rmi_map_distance",
    "warmup_factor",
]
