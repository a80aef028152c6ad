"""Self-adversarial TiAug as a training add-on: worst-of-K draws and the loss-following bandit.

``--adversarial-k K``: the data loader delivers K photometric draws of each image (same geometry, see
:mod:`samcl.training.candidates`); :meth:`AttackAddon.prepare_batch` scores them with one no-grad forward pass
of the current network and keeps the hardest (or a softmax draw), so the base loss and SAM-CL see the attack.
``--bandit``: the sampler draws TiAug's discrete choices from weights that follow the loss each choice produced
(:mod:`samcl.training.bandit`), credited from the scored candidates' losses (with K) or from the trained batch's
own per-sample losses (without): no extra forward pass.

Metrics: ``attack_gain`` (mean per-sample loss of the trained draw minus that of draw 0, the draw plain training
would have used) and the bandit's weights ``bandit_<factor>_<arm>``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch
import torch.distributed as dist

from samcl.training.addons.protocol import Batch, SegmenterOutput, StepContext, TrainingAddon
from samcl.training.adversarial import candidate_losses, choose_candidates, per_sample_loss, take
from samcl.training.bandit import LossBandit, active_factors, weight_columns
from samcl.training.bandit_settings import bandit_settings
from samcl.training.candidates import candidate_data

if TYPE_CHECKING:
    from samcl.artifacts.normalization import Normalization
    from samcl.training.config import TrainConfig
    from samcl.training.distributed import World


class AttackAddon(TrainingAddon):
    """Worst-of-``k`` selection (``k`` 0: none) and/or a bandit over ``factors`` (see the module docstring)."""

    name = "attack"
    adds_loss = False  # it chooses the batch; the base loss and the other add-ons train on it

    def __init__(self, config: TrainConfig) -> None:
        super().__init__()
        self.config = config
        self.k, self.temperature = config.adversarial_k, config.adversarial_temperature
        self.scale = config.adversarial_scale
        self.ignore_index = config.ignore_index
        self.score = per_sample_loss(config.loss)
        self.factors = active_factors(config) if config.bandit else ()
        settings = bandit_settings(config.bandit_kwargs)
        self.bandit = LossBandit([len(f.arms) for f in self.factors], settings) if self.factors else None
        self.views_per_image = max(1, self.k)
        self._credit: tuple[torch.Tensor, torch.Tensor | None] | None = None  # (arms, losses) for after_step
        self._gain = torch.zeros(())  # the last scored batch's attack_gain

    @classmethod
    def from_config(cls, config: TrainConfig, num_classes: int) -> AttackAddon:
        return cls(config)

    @property
    def metric_names(self) -> tuple[str, ...]:
        return (*(("attack_gain",) if self.k else ()), *weight_columns(self.factors))

    def training_data(self, normalization: Normalization, n_rows: int, start: int, world: World) -> Any:
        return candidate_data(self.config, normalization, n_rows, start, world, self.bandit, self.factors)

    def prepare_batch(self, batch: Batch, context: StepContext) -> Batch:
        arms = batch.extras.get("arms")  # (B, V, F): the bandit's arms of each draw, -1 where not applied
        if not self.k:
            self._credit = None if arms is None else (arms[:, 0], None)
            return batch
        views, view_masks = batch.views, batch.view_masks
        if views is None or view_masks is None:
            raise ValueError(f"worst-of-{self.k} needs {self.k} draws per image; the batch holds one")
        with context.autocast():
            losses = candidate_losses(context.segmenter, views, view_masks, self.score, self.ignore_index, self.scale)
        chosen = choose_candidates(losses, self.temperature, context.seed, context.step, context.world.rank)
        self._gain = (take(losses, chosen) - losses[:, 0]).mean()
        self._credit = None if arms is None else (arms.flatten(0, 1), losses.flatten())
        return batch.replace(images=take(views, chosen), masks=take(view_masks, chosen))

    def after_step(self, out: SegmenterOutput, context: StepContext, optimizer: Any) -> dict[str, torch.Tensor]:
        metrics = {"attack_gain": self._gain.detach().float()} if self.k else {}
        if self.bandit is None or self._credit is None:
            return metrics
        arms, losses = self._credit
        if losses is None:  # no candidates scored: the trained batch's own per-sample losses
            losses = self.score(out.logits[: arms.shape[0]], out.masks[: arms.shape[0]], self.ignore_index)
        totals = torch.from_numpy(self.bandit.totals(arms.cpu().numpy(), losses.float().cpu().numpy()))
        if context.world.distributed:
            totals = totals.to(context.device)
            dist.all_reduce(totals)
        self.bandit.apply(context.step + 1, totals.cpu().numpy())
        weights = self.bandit.weights()
        columns = weight_columns(self.factors)
        return {**metrics, **{c: torch.tensor(float(w)) for c, w in zip(columns, weights, strict=True)}}

    def get_extra_state(self) -> dict[str, Any]:
        return {"bandit": None if self.bandit is None else self.bandit.state_dict()}

    def set_extra_state(self, state: dict[str, Any]) -> None:
        if self.bandit is not None and state.get("bandit") is not None:
            self.bandit.load_state_dict(state["bandit"])
