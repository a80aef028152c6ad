"""The protocol of training add-ons: everything a learning strategy adds to the plain segmentation step.

The loop (:mod:`samcl.training.loop`) trains one segmentation network with one base loss and knows nothing
about any strategy. A strategy (SAM-CL, a contrastive head, an adversarial critic, a batch attack) is a
:class:`TrainingAddon`, an ``nn.Module`` that may:

- own parameters (an auxiliary network, a projection head, a critic, a generator). By default they are
  trained with the segmenter by the run's optimiser (SGD, poly decay) and averaged over processes by DDP;
  parameters handed to an optimiser of the add-on's own (:meth:`~TrainingAddon.make_optimizer`) are not;
- ask for the segmenter's decoder feature map (``uses_features = True``): :attr:`SegmenterOutput.features`,
  the input of the network's ``head`` (the layer that maps features to logits);
- contribute a loss term (:meth:`~TrainingAddon.loss`), computed inside the step's forward pass (under DDP
  and autocast, like the base loss), and metrics for ``metrics.csv``;
- transform the batch before the step (:meth:`~TrainingAddon.prepare_batch`): e.g. score several augmented
  draws of each image with a no-grad forward pass and keep the hardest (``views_per_image`` asks the data
  loader for that many independent draws);
- draw the training samples itself (:meth:`~TrainingAddon.training_data`: a dataset and batch sampler whose items
  carry per-image ``extras`` besides the images and masks, e.g. candidate draws with their bandit arms and a
  clean view; the first add-on that has one is used);
- take its own optimiser step after the segmenter's (:meth:`~TrainingAddon.after_step`): a critic or a
  discriminator, or enqueue features into a memory;
- learn how the run normalises its inputs (:meth:`~TrainingAddon.bind_inputs`), once before the first step;
- keep state. Parameters and buffers (queues) are saved as the module's ``state_dict``; anything else
  (generators, bandit weights, counters) through ``nn.Module``'s own ``get_extra_state`` /
  ``set_extra_state``, as tensors and plain Python values (checkpoints hold data, never pickled objects).
  The add-on's state and its own optimiser's go into ``last.pt`` only (``train_state``), so ``--resume`` is
  bit-identical; ``best.pt`` and ``samcl-eval``/``samcl-predict`` need only the segmenter.

One step, for a batch from the data loader (``step`` counts the steps done before it)::

    batch = addon.prepare_batch(batch, context)            # each add-on in order; no gradients
    with autocast:                                          # the DDP-wrapped forward pass
        logits (and features) = segmenter(batch.images)
        base = base_loss(logits, batch.masks)
        terms = addon.loss(SegmenterOutput(...), context)   # each add-on: {"loss": weighted term, metrics...}
    (base + sum of the add-ons' "loss").backward(); optimiser.step(); scheduler.step()
    addon.after_step(SegmenterOutput(detached), context, its optimiser)  # own steps, queue updates

A minimal add-on (an entropy penalty on the predictions, with a learnt temperature)::

    class Entropy(TrainingAddon):
        name = "entropy"                                     # its loss column: entropy_loss

        def __init__(self, weight: float = 0.1):
            super().__init__()
            self.weight = weight
            self.log_temperature = nn.Parameter(torch.zeros(()))

        def loss(self, out, context):
            p = torch.softmax(out.logits.float() / self.log_temperature.exp(), dim=1)
            entropy = -(p * p.clamp_min(1e-8).log()).sum(1).mean()
            return {"loss": self.weight * entropy, "entropy": entropy.detach()}

        @property
        def metric_names(self):
            return ("entropy",)

    ADDONS["entropy"] = lambda config, num_classes: Entropy()   # samcl.training.addons: the registry

A run uses the add-ons ``TrainConfig.addon_names()`` lists (SAM-CL's ``samcl`` with ``--samcl``), in that order.

Rules an add-on keeps so that runs stay seeded, resumable and distributed:

- randomness comes from its own ``torch.Generator`` seeded from the run's seed, saved in its extra state (the
  global RNG state is saved too, but the data loader's augmentation never sees it);
- under ``torchrun`` every process runs the same add-on code on its own share of the batch; parameters
  trained by an own optimiser get their gradients averaged with :meth:`StepContext.all_reduce_gradients`
  before that optimiser steps; a no-grad forward pass in :meth:`~TrainingAddon.prepare_batch` runs the bare
  segmenter (:attr:`StepContext.segmenter`, not DDP) and should use :meth:`StepContext.autocast`; the segmenter
  is in training mode there, so its batch-norm running statistics move with that pass (call ``eval()`` and
  ``train()`` around it when they must not);
- a loss term that some steps leave out (a warm-up at weight 0) makes ``skips_parameters`` true, so DDP looks
  for unused parameters.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar

import torch
import torch.distributed as dist
from torch import nn

from samcl.artifacts.normalization import Normalization
from samcl.device import autocast
from samcl.training.distributed import World


@dataclass(frozen=True)
class Batch:
    """One process's share of a training step.

    ``images``: (B, 1, H, W) float32 normalised network inputs; ``masks``: (B, H, W) int64 labels (the ignore
    index where pixels do not count). With ``views_per_image`` V > 1 (see :class:`TrainingAddon`),
    ``views`` (B, V, 1, H, W) and ``view_masks`` (B, V, H, W) hold V independently augmented draws of each image
    (view 0 is the one in ``images``/``masks``); otherwise they are None. ``extras``: per-image tensors that an
    add-on's own training data (:meth:`TrainingAddon.training_data`) delivers besides, by name.
    """

    images: torch.Tensor
    masks: torch.Tensor
    views: torch.Tensor | None = None
    view_masks: torch.Tensor | None = None
    extras: dict[str, torch.Tensor] = field(default_factory=dict)

    def replace(self, **changes: Any) -> Batch:
        """A copy with some fields changed (e.g. ``batch.replace(images=hardest, masks=their_masks)``)."""
        return replace(self, **changes)


@dataclass(frozen=True)
class SegmenterOutput:
    """What the segmenter produced on a batch, for the add-ons' loss terms and after-step hooks.

    ``logits``: (B, C, H, W); ``masks``: (B, H, W) int64; ``base_loss``: the base loss (scalar);
    ``features``: the decoder feature map (B, F, h, w), the input of the network's ``head``, when an add-on
    asked for it (``uses_features``; h, w may differ from H, W), else None; ``images``: (B, 1, H, W) inputs.
    In :meth:`TrainingAddon.after_step` every tensor is detached.
    """

    images: torch.Tensor
    masks: torch.Tensor
    logits: torch.Tensor
    base_loss: torch.Tensor
    features: torch.Tensor | None = None

    def detached(self) -> SegmenterOutput:
        features = None if self.features is None else self.features.detach()
        return SegmenterOutput(
            self.images.detach(), self.masks.detach(), self.logits.detach(), self.base_loss.detach(), features
        )


@dataclass(frozen=True)
class StepContext:
    """Where the run stands: ``step`` (steps done before this one, 0-based), ``iters`` (the run's total),
    ``device``, ``amp`` (bfloat16 autocast on CUDA), ``world`` (this process's rank among ``world.size``),
    ``segmenter`` (the bare network, not DDP-wrapped), ``seed`` (the run's) and ``diagnostics`` (this step
    writes a ``metrics.csv`` row: extra measurements are welcome)."""

    step: int
    iters: int
    device: torch.device
    amp: bool
    world: World
    segmenter: nn.Module
    seed: int = 0
    diagnostics: bool = False

    def autocast(self) -> contextlib.AbstractContextManager:
        """The run's autocast (bfloat16 on CUDA with AMP; nothing otherwise)."""
        return autocast(self.device, self.amp)

    def all_reduce_gradients(self, parameters: Iterable[nn.Parameter]) -> None:
        """Average ``parameters``' gradients over the processes (for an add-on's own optimiser step)."""
        if not self.world.distributed:
            return
        for parameter in parameters:
            if parameter.grad is not None:
                dist.all_reduce(parameter.grad, op=dist.ReduceOp.SUM)
                parameter.grad.div_(self.world.size)


class TrainingAddon(nn.Module):
    """Base class of the training add-ons (see the module docstring); every hook has a do-nothing default.

    Class attributes: ``name`` (unique; the loss column is ``<name>_loss`` and the gradient column
    ``grad_<name>_loss``), ``adds_loss`` (False: the add-on only prepares batches or steps its own optimiser,
    adds no term to the segmenter's loss and has no loss columns), ``uses_features`` (the step captures the
    decoder feature map). Instance attributes
    or properties: ``views_per_image`` (augmented draws of each image the data loader delivers, default 1),
    ``metric_names`` (the ``metrics.csv`` columns :meth:`loss` fills besides ``loss``, in order; values are
    averaged over each logging interval, NaN values left out), ``skips_parameters`` (some steps leave
    parameters of the add-on out of the loss).
    """

    name: ClassVar[str] = "addon"
    adds_loss: ClassVar[bool] = True
    uses_features: ClassVar[bool] = False
    views_per_image: int = 1

    @property
    def metric_names(self) -> tuple[str, ...]:
        return ()

    @property
    def skips_parameters(self) -> bool:
        return False

    def bind_inputs(self, normalization: Normalization) -> None:
        """Told once, before the first step, how the run turns temperatures into the network inputs of
        :attr:`Batch.images` (e.g. to feed another network the same frames)."""

    def training_data(self, normalization: Normalization, n_rows: int, start: int, world: World) -> Any:
        """``(dataset, batch sampler)`` for steps ``start ..`` of this process when the add-on draws the training
        samples itself (items ``(images (V, 1, H, W), masks (V, H, W), extras)``), or None (the loop's own)."""
        return None

    def prepare_batch(self, batch: Batch, context: StepContext) -> Batch:
        """The batch this step trains on (runs without gradients, before the forward pass)."""
        return batch

    def loss(self, out: SegmenterOutput, context: StepContext) -> dict[str, torch.Tensor]:
        """``{"loss": the weighted term added to the total (scalar), metric name: scalar tensor, ...}``."""
        return {"loss": out.base_loss.new_zeros(())}

    def make_optimizer(self) -> torch.optim.Optimizer | None:
        """An optimiser of the add-on's own for some of its parameters (stepped in :meth:`after_step`), or None.
        Called once, after the add-on is on the run's device; its state is saved with the run."""
        return None

    def after_step(
        self, out: SegmenterOutput, context: StepContext, optimizer: torch.optim.Optimizer | None
    ) -> dict[str, torch.Tensor]:
        """After the segmenter's optimiser step (``out`` detached; ``optimizer`` is :meth:`make_optimizer`'s, or
        None): own optimiser steps, memory updates. Returns metrics (names among ``metric_names``), or {}."""
        return {}
