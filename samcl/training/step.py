"""One training step's forward pass: the segmenter, the base loss and every add-on's loss term in one module, so
that DDP averages the gradients of the add-ons' parameters too."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator, Sequence
from typing import Any

import torch
from torch import nn

from samcl.training.addons import SegmenterOutput, StepContext, TrainingAddon
from samcl.training.distributed import World

#: The key of :meth:`TrainStep.forward`'s result that holds the :class:`SegmenterOutput` (not a logged value).
OUTPUT_KEY = "segmenter_output"


@contextlib.contextmanager
def captured_features(model: nn.Module, enabled: bool) -> Iterator[list[torch.Tensor]]:
    """Within the block, the input of ``model.head`` (the decoder feature map, (B, F, h, w)) of each forward pass
    is appended to the yielded list (nothing is captured unless ``enabled``)."""
    captured: list[torch.Tensor] = []
    if not enabled:
        yield captured
        return
    head = getattr(model, "head", None)
    if not isinstance(head, nn.Module):
        raise ValueError(
            f"the {type(model).__name__} network exposes no 'head' layer, so its decoder features cannot be taken"
        )
    handle = head.register_forward_pre_hook(lambda _module, args: captured.append(args[0]))
    try:
        yield captured
    finally:
        handle.remove()


class TrainStep(nn.Module):
    """forward(images (B, 1, H, W), masks (B, H, W) int64, step, diagnostics) -> scalars ``loss`` (the total),
    ``base_loss``, ``<name>_loss`` of each add-on, the add-ons' metrics and, with ``diagnostics``, the gradient
    norm each loss term sends to the logits, ``grad_base_loss`` and ``grad_<name>_loss`` (0 for a term that does
    not depend on them; one extra partial
    backward pass per term: log steps only), and under :data:`OUTPUT_KEY` the :class:`SegmenterOutput`.

    ``context``: the run's :class:`StepContext` (its ``step`` and ``diagnostics`` are replaced at each call); by
    default a CPU run of one process.
    """

    def __init__(
        self,
        model: nn.Module,
        base_loss: nn.Module,
        addons: Sequence[TrainingAddon] = (),
        context: StepContext | None = None,
    ) -> None:
        super().__init__()
        self.model = model
        self.base_loss = base_loss
        self.addons: Sequence[TrainingAddon] = nn.ModuleList(addons)  # type: ignore[assignment]  # not generic
        self.context = context or StepContext(0, 1, torch.device("cpu"), False, World(), model)

    def addon_list(self) -> list[TrainingAddon]:
        """The add-ons, in order (typed: ``self.addons`` is an ``nn.ModuleList``)."""
        return [addon for addon in self.addons if isinstance(addon, TrainingAddon)]

    def context_at(self, step: int, diagnostics: bool = False) -> StepContext:
        return dataclasses.replace(self.context, step=step, diagnostics=diagnostics)

    def forward(
        self, images: torch.Tensor, masks: torch.Tensor, step: int = 0, diagnostics: bool = False
    ) -> dict[str, Any]:
        context = self.context_at(step, diagnostics)
        with captured_features(self.model, any(addon.uses_features for addon in self.addon_list())) as features:
            logits = self.model(images)
        base = self.base_loss(logits, masks)
        out = SegmenterOutput(images, masks, logits, base, features[-1] if features else None)
        terms = {"base_loss": base}
        metrics: dict[str, torch.Tensor] = {}
        for addon in self.addon_list():
            parts = addon.loss(out, context)
            term = parts.pop("loss")
            if addon.adds_loss:
                terms[f"{addon.name}_loss"] = term
            metrics.update(parts)
        total = base
        for key, term in terms.items():
            if key != "base_loss":
                total = total + term
        results: dict[str, Any] = {"loss": total, **terms, **metrics}
        if diagnostics:
            for key, term in terms.items():
                needs = term.requires_grad and bool(term.detach() != 0)
                # a term on the decoder features alone (a contrastive head) sends the logits nothing: norm 0
                grad = torch.autograd.grad(term, logits, retain_graph=True, allow_unused=True)[0] if needs else None
                results[f"grad_{key}"] = torch.zeros(()) if grad is None else grad.detach().float().norm()
        results[OUTPUT_KEY] = out  # the loop hands it to the add-ons' after-step hooks
        return results
