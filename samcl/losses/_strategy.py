"""Pieces shared by the strategy losses (ContrastiveSeg, SegAN, SegGAN): their base loss, their random generator
and saved state, the own optimiser steps of their critics and discriminators, and the critics' blocks."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import torch
from torch import nn

from ._common import SegmentationLoss


def base_loss_module(base_loss: str | nn.Module | None, num_classes: int, ignore_index: int) -> nn.Module | None:
    """A base loss by name ('ce', 'dice', 'rmi', 'bce'), a given module, or None."""
    if isinstance(base_loss, str):
        from .base_losses import BASE_LOSSES, build_base_loss

        if base_loss not in BASE_LOSSES:
            raise ValueError(f"unknown base loss {base_loss!r}; choose one of {list(BASE_LOSSES)}")
        return build_base_loss(base_loss, ignore_index=ignore_index)
    return base_loss


def seeded_generator(seed: int | None) -> torch.Generator:
    """A CPU generator seeded with ``seed``, or from the global RNG when ``seed`` is None."""
    generator = torch.Generator()
    generator.manual_seed(seed if seed is not None else int(torch.randint(0, 2**62, (1,)).item()))
    return generator


def seeded_modules(seed: int | None, build: Any) -> Any:
    """``build()`` with the global RNG seeded by ``seed`` (and restored afterwards); unseeded when None."""
    with torch.random.fork_rng(devices=[], enabled=seed is not None):
        if seed is not None:
            torch.manual_seed(seed)
        return build()


class StrategyLoss(SegmentationLoss):
    """Base of the strategy losses: their ``generator`` (CPU, for their random draws) and any state of
    :meth:`strategy_state` (memory queues) are saved with ``state_dict`` (as extra state), so a checkpoint of the
    loss resumes bit-identically in any training loop. Networks they train themselves (critics, discriminators)
    step with the optimiser of :meth:`make_optimizer`, which the caller keeps (and saves) beside its own.

    ``parts(...)`` returns ``loss``, ``base_loss`` and ``strategy_loss`` (the strategy's weighted term) scalars.
    """

    generator: torch.Generator
    ignore_index: int

    def base_value(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        base = getattr(self, "base", None)
        return torch.zeros((), device=logits.device) if base is None else base(logits, target)

    def make_optimizer(self) -> torch.optim.Optimizer | None:
        """The optimiser of the networks the strategy trains itself (not the segmenter's optimiser), or None."""
        return None

    def get_extra_state(self) -> dict[str, Any]:
        return {"generator": self.generator.get_state(), **self.strategy_state()}

    def set_extra_state(self, state: dict[str, Any]) -> None:
        self.generator.set_state(state["generator"])
        self.load_strategy_state(state)

    def strategy_state(self) -> dict[str, Any]:
        """More state to save (e.g. memory queues); none by default."""
        return {}

    def load_strategy_state(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`strategy_state` saved."""


def clamp_parameters(module: nn.Module, bound: float) -> None:
    """Clip every parameter of ``module`` to [-bound, bound] in place (a WGAN-style weight clamp)."""
    with torch.no_grad():
        for parameter in module.parameters():
            parameter.clamp_(-bound, bound)


#: Averages parameters' gradients over the processes of a distributed run (e.g. ``StepContext.all_reduce_gradients``).
GradientReduce = Callable[[Iterable[nn.Parameter]], None]


def own_step(
    optimizer: torch.optim.Optimizer,
    loss: torch.Tensor,
    parameters: Sequence[nn.Parameter],
    reduce: GradientReduce | None = None,
) -> None:
    """One step of the networks a strategy trains itself: backward ``loss`` and step ``optimizer`` on
    ``parameters`` only (gradients of every other parameter the optimiser holds are dropped first, so one optimiser
    can serve a generator and a discriminator), with ``reduce`` averaging their gradients across processes."""
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    chosen = {id(p) for p in parameters}
    for group in optimizer.param_groups:
        for parameter in group["params"]:
            if id(parameter) not in chosen:
                parameter.grad = None
    if reduce is not None:
        reduce(parameters)
    optimizer.step()


def leaky_conv(cin: int, cout: int, stride: int, norm: bool) -> nn.Sequential:
    """4x4 convolution (padding 1), optional batch norm, LeakyReLU(0.2): the block of GAN critics."""
    layers: list[nn.Module] = [nn.Conv2d(cin, cout, 4, stride=stride, padding=1, bias=not norm)]
    if norm:
        layers.append(nn.BatchNorm2d(cout))
    layers.append(nn.LeakyReLU(0.2, inplace=True))
    return nn.Sequential(*layers)


def masked_maps(logits: torch.Tensor, target: torch.Tensor, num_classes: int, ignore_index: int):
    """``(softmax(logits), one_hot(target), valid)``: (B, C, H, W) maps zeroed on ignored pixels, valid (B, H, W)."""
    from ._common import as_float, one_hot_map, valid_and_safe_target

    safe, valid = valid_and_safe_target(target, num_classes, ignore_index)
    v = valid.unsqueeze(1)
    return torch.softmax(as_float(logits), dim=1) * v, one_hot_map(safe, num_classes, valid), valid
