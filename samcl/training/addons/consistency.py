"""The clean/augmented consistency term as a training add-on (``--consistency WEIGHT``).

:meth:`ConsistencyAddon.prepare_batch` appends each image's clean view (the geometry alone, pixel-aligned with
the augmented or attacked view, see :mod:`samcl.training.candidates`) to the batch, with the same labels, so
the base loss (and SAM-CL) train on both views; :meth:`ConsistencyAddon.loss` adds ``weight`` times the mean
per-pixel Jensen-Shannon divergence between the two views' predictions (AugMix's consistency).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch

from samcl.losses.consistency import js_consistency
from samcl.training.addons.protocol import Batch, SegmenterOutput, StepContext, TrainingAddon
from samcl.training.candidates import candidate_data

if TYPE_CHECKING:
    from samcl.artifacts.normalization import Normalization
    from samcl.training.config import TrainConfig
    from samcl.training.distributed import World


class ConsistencyAddon(TrainingAddon):
    """``weight * JS(softmax(clean logits), softmax(augmented logits))`` over the labelled pixels."""

    name = "consistency"

    def __init__(self, config: TrainConfig) -> None:
        super().__init__()
        self.config, self.weight, self.ignore_index = config, config.consistency, config.ignore_index

    @classmethod
    def from_config(cls, config: TrainConfig, num_classes: int) -> ConsistencyAddon:
        return cls(config)

    def training_data(self, normalization: Normalization, n_rows: int, start: int, world: World) -> Any:
        """The clean view comes with the candidates (:func:`candidate_data`, also the attack's data)."""
        return candidate_data(self.config, normalization, n_rows, start, world)

    @property
    def metric_names(self) -> tuple[str, ...]:
        return ("js_divergence",)

    def prepare_batch(self, batch: Batch, context: StepContext) -> Batch:
        clean = batch.extras["clean"]  # (B, 1, H, W)
        return batch.replace(
            images=torch.cat([batch.images, clean.to(batch.images)]), masks=torch.cat([batch.masks, batch.masks])
        )

    def loss(self, out: SegmenterOutput, context: StepContext) -> dict[str, torch.Tensor]:
        half = out.logits.shape[0] // 2
        divergence = js_consistency(out.logits[:half], out.logits[half:], out.masks[:half], self.ignore_index)
        return {"loss": self.weight * divergence, "js_divergence": divergence.detach()}
