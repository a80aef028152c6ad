"""SAM-CL: self-adversarial multi-scale contrastive learning for thermal facial segmentation (PyTorch)."""

__version__ = "0.1.0"
