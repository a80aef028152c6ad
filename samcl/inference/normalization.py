"""Input normalisation of a network: temperatures (degrees Celsius) to network inputs."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch


@dataclass(frozen=True)
class Normalization:
    """Maps temperatures (degrees Celsius) to network inputs: (t - mean) / std."""

    mean: float
    std: float

    def __call__(self, images: np.ndarray | torch.Tensor) -> np.ndarray | torch.Tensor:
        return (images - self.mean) / self.std

    def as_dict(self) -> dict[str, float]:
        return {"mean": self.mean, "std": self.std}
