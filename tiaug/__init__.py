"""TiAug: thermal (LWIR) image augmentation for facial segmentation.

Images are temperatures in degrees Celsius, float32 or float64 arrays of shape (H, W) or (H, W, 1).
This package never imports torch.
"""

__version__ = "0.1.0"  # the one version of the distribution (pyproject.toml reads it)
