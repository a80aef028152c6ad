"""Segmentation models by name (see :mod:`samcl.models.registry`)."""

from ._blocks import check_input_size, fused_for_inference
from .attention_unet import AttentionGate, AttentionUNet
from .registry import available_models, build_model, has_base_width
from .smp_zoo import SMPModel
from .unet import UNet

__all__ = [
    "AttentionGate",
    "AttentionUNet",
    "SMPModel",
    "UNet",
    "available_models",
    "build_model",
    "check_input_size",
    "fused_for_inference",
    "has_base_width",
]
