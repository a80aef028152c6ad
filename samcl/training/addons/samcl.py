"""SAM-CL as a training add-on: ``lambda * L_SAMCL`` (:class:`~samcl.losses.samcl_loss.SAMCLLoss`) on the
segmenter's logits, its auxiliary network trained with the segmenter (or against it: ``aux_mode``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch

from samcl.losses.samcl_loss import SAMCLLoss
from samcl.training.addons.protocol import SegmenterOutput, StepContext, TrainingAddon

if TYPE_CHECKING:
    from samcl.training.config import TrainConfig

#: SAM-CL's per-scale values in metrics.csv: ``d_pos_sK``, ``d_neg_sK`` (raw distances), ``active_sK`` (the
#: fraction of hinges above 0), one column per scale K; NaN on steps where the term is not computed.
SCALE_KEYS = ("d_pos", "d_neg", "active")


class SAMCLAddon(TrainingAddon):
    """The SAM-CL term of the total loss; ``criterion`` is the :class:`SAMCLLoss` (built without a base loss:
    the loop's base loss is passed in, so lambda relative to it sees the same gradient)."""

    name = "samcl"

    def __init__(self, criterion: SAMCLLoss) -> None:
        super().__init__()
        self.criterion = criterion

    @classmethod
    def from_config(cls, config: TrainConfig, num_classes: int) -> SAMCLAddon:
        return cls(SAMCLLoss(num_classes, base_loss=None, ignore_index=config.ignore_index, **config.loss_kwargs()))

    @property
    def metric_names(self) -> tuple[str, ...]:
        scales = range(self.criterion.num_scales)
        return ("lam", *(f"{key}_s{k}" for key in SCALE_KEYS for k in scales))

    @property
    def skips_parameters(self) -> bool:
        """A warm-up at lambda 0 (or lambda 0 throughout) leaves the auxiliary network out of those steps."""
        return self.criterion.warmup_steps > 0 or self.criterion.lam == 0

    def loss(self, out: SegmenterOutput, context: StepContext) -> dict[str, torch.Tensor]:
        parts = self.criterion.parts(out.logits, out.masks, step=context.step, base=out.base_loss)
        terms = {"loss": parts["samcl_loss"], "lam": torch.as_tensor(float(parts["lam"]))}
        for key in SCALE_KEYS:
            terms.update({f"{key}_s{k}": value for k, value in enumerate(parts[key].detach())})
        return terms

    def get_extra_state(self) -> dict[str, Any]:
        return {"generator": self.criterion.generator.get_state()}

    def set_extra_state(self, state: dict[str, Any]) -> None:
        self.criterion.generator.set_state(state["generator"])
