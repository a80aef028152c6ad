"""Input normalisation of a network: temperatures (degrees Celsius) to network inputs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import overload

import numpy as np
import torch

from samcl.artifacts.input_norms import DEFAULT_INPUT_NORM, INPUT_NORMS

IMAGE_NORM_SAMPLES = 4096  # grid samples per image for its quantiles
IMAGE_NORM_MIN_SCALE = 0.25  # degrees Celsius: the smallest robust spread (flat frames are not amplified)
_NORMAL_P5_P95 = 3.2897  # p95 - p5 of a standard normal: the quantile span is turned into a robust std


@dataclass(frozen=True)
class Normalization:
    """Maps temperatures (degrees Celsius) to network inputs.

    ``mode="dataset"``: ``(t - mean) / std`` with one mean and std (degrees Celsius) for every image, measured on
    the training set: the network sees absolute temperatures. ``mode="image"``: each image (the last two axes)
    is centred on its own median and divided by its robust spread ``(p95 - p5) / 3.29`` (at least 0.25 C),
    both taken on a regular grid of about 4,096 pixels: a warm room, a cold room or a camera offset/gain moves
    the input far less. ``mean``/``std`` are kept (and stored) in both modes. Works on numpy arrays and torch
    tensors of shape (..., H, W).
    """

    mean: float
    std: float
    mode: str = DEFAULT_INPUT_NORM

    def __post_init__(self) -> None:
        if self.mode not in INPUT_NORMS:
            raise ValueError(f"input normalisation must be one of {list(INPUT_NORMS)}, got {self.mode!r}")

    @overload
    def __call__(self, images: np.ndarray) -> np.ndarray: ...
    @overload
    def __call__(self, images: torch.Tensor) -> torch.Tensor: ...
    def __call__(self, images: np.ndarray | torch.Tensor) -> np.ndarray | torch.Tensor:
        if self.mode == "dataset":
            return (images - self.mean) / self.std
        height, width = images.shape[-2:]
        step = max(1, int(np.sqrt(height * width / IMAGE_NORM_SAMPLES)))
        grid = images[..., ::step, ::step].reshape(*images.shape[:-2], -1)
        if isinstance(grid, torch.Tensor):
            q = torch.quantile(grid.float(), torch.tensor([0.05, 0.5, 0.95], device=grid.device), dim=-1)
            q = q.to(grid.dtype)[..., None, None]
            scale = ((q[2] - q[0]) / _NORMAL_P5_P95).clamp_min(IMAGE_NORM_MIN_SCALE)
        else:
            q = np.quantile(grid, [0.05, 0.5, 0.95], axis=-1).astype(images.dtype)[..., None, None]
            scale = np.maximum((q[2] - q[0]) / _NORMAL_P5_P95, IMAGE_NORM_MIN_SCALE).astype(images.dtype)
        return (images - q[1]) / scale

    def as_dict(self) -> dict[str, float | str]:
        return {"mean": self.mean, "std": self.std, "mode": self.mode}
