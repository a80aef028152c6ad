"""The poster's other learning strategies as training add-ons: ContrastiveSeg, SegAN and SegGAN, each a thin
wrapper over its loss module in :mod:`samcl.losses` (built without a base loss: the loop's base loss is the
strategy's, chosen with ``--loss``).

Options (``--<name>-arg KEY=VALUE``) are the loss's constructor arguments, except those the run sets itself
(classes, ignore index, seed, feature channels) and step counts, which are given as fractions of ``--iters``:
ContrastiveSeg's ``start`` (default 1/8: the reference switches the contrastive term on after 5,000 of 40,000
steps) and SegGAN's ``pretrain`` (default 1/8: the generator's pre-training).
"""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING, Any, ClassVar

import torch
from torch import nn

from samcl.losses.contrastive import ContrastiveSegLoss
from samcl.losses.segan import SegANLoss
from samcl.losses.seggan import SegGANLoss
from samcl.training.addons.protocol import SegmenterOutput, StepContext, TrainingAddon
from tiaug.errors import UserError, one_line

if TYPE_CHECKING:
    from samcl.training.config import TrainConfig

#: Loss arguments a run sets itself, never given with --<name>-arg.
SET_BY_TRAINING = ("num_classes", "base_loss", "ignore_index", "seed", "feature_channels", "in_channels")


def feature_channels(config: TrainConfig, num_classes: int) -> int:
    """Channels of the decoder feature map (the input of the network's ``head``), from a weightless build."""
    from samcl.models import build_model

    with torch.device("meta"):
        model = build_model(config.model, num_classes, **config.model_kwargs)
    head = getattr(model, "head", None)
    first = next((m for m in head.modules() if isinstance(m, nn.Conv2d)), None) if head is not None else None
    if first is None:
        raise ValueError(f"--model {config.model}: no 'head' convolution whose input is the decoder feature map")
    return first.in_channels


class StrategyLossAddon(TrainingAddon):
    """An add-on whose loss term is ``criterion.parts(...)["strategy_loss"]``; subclasses name the loss class, the
    inputs it takes and the fraction options that become step counts."""

    loss_class: ClassVar[type[nn.Module]]
    #: option (a fraction of --iters) -> (the loss argument it sets, its default)
    fractions: ClassVar[dict[str, tuple[str, float]]] = {}

    criterion: Any  # the loss_class instance (a registered submodule)

    def __init__(self, criterion: nn.Module) -> None:
        super().__init__()
        self.criterion = criterion

    @classmethod
    def option_names(cls) -> list[str]:
        """What ``--<name>-arg`` accepts."""
        steps = {argument for argument, _ in cls.fractions.values()}
        arguments = inspect.signature(cls.loss_class).parameters
        return sorted({*cls.fractions, *(a for a in arguments if a not in SET_BY_TRAINING and a not in steps)})

    @classmethod
    def loss_arguments(cls, config: TrainConfig, num_classes: int) -> dict[str, Any]:
        """The loss's arguments for a run: the options, fractions turned into steps, and what the run sets."""
        options = dict(config.strategy_kwargs.get(cls.name, {}))  # names checked by TrainConfig.validate
        for option, (argument, default) in cls.fractions.items():
            fraction = options.pop(option, default)
            if isinstance(fraction, bool) or not isinstance(fraction, int | float) or not 0 <= fraction <= 1:
                raise UserError(f"--{cls.name}-arg {option}: a fraction of the steps in [0, 1], got {fraction!r}")
            options[argument] = round(fraction * config.iters)
        return {"base_loss": None, "ignore_index": config.ignore_index, "seed": config.seed, **options}

    @classmethod
    def build_loss(cls, config: TrainConfig, num_classes: int, *args: Any) -> nn.Module:
        """The loss (``args`` before the keyword arguments); bad option values are refused naming the flag."""
        arguments = cls.loss_arguments(config, num_classes)
        try:
            return cls.loss_class(num_classes, *args, **arguments)
        except (TypeError, ValueError) as e:
            given = ", ".join(f"{k}={v!r}" for k, v in config.strategy_kwargs.get(cls.name, {}).items())
            raise UserError(f"--{cls.name}-arg {given or '(defaults)'}: {one_line(e)}") from None

    @classmethod
    def from_config(cls, config: TrainConfig, num_classes: int) -> StrategyLossAddon:
        return cls(cls.build_loss(config, num_classes))

    def make_optimizer(self) -> torch.optim.Optimizer | None:
        return self.criterion.make_optimizer()


class ContrastiveSegAddon(StrategyLossAddon):
    """ContrastiveSeg (:class:`~samcl.losses.contrastive.ContrastiveSegLoss`): a projection head on the decoder
    features, trained with the segmenter; the memory is filled after each step."""

    name = "contrastiveseg"
    uses_features = True
    loss_class = ContrastiveSegLoss
    fractions: ClassVar[dict[str, tuple[str, float]]] = {"start": ("start_step", 0.125)}

    @classmethod
    def from_config(cls, config: TrainConfig, num_classes: int) -> ContrastiveSegAddon:
        return cls(cls.build_loss(config, num_classes, feature_channels(config, num_classes)))

    @property
    def skips_parameters(self) -> bool:
        return self.criterion.start_step > 0 or self.criterion.weight == 0

    def loss(self, out: SegmenterOutput, context: StepContext) -> dict[str, torch.Tensor]:
        return {"loss": self.criterion.parts(out.logits, out.masks, out.features, step=context.step)["strategy_loss"]}

    def after_step(self, out: SegmenterOutput, context: StepContext, optimizer: Any) -> dict[str, torch.Tensor]:
        self.criterion.update_memory()
        return {}


class SegANAddon(StrategyLossAddon):
    """SegAN (:class:`~samcl.losses.segan.SegANLoss`): the multi-scale L1 term; the critic steps after the
    segmenter with its own Adam and weight clamp."""

    name = "segan"
    loss_class = SegANLoss

    @property
    def metric_names(self) -> tuple[str, ...]:
        return ("critic_l1",)

    def loss(self, out: SegmenterOutput, context: StepContext) -> dict[str, torch.Tensor]:
        return {"loss": self.criterion.parts(out.logits, out.masks, out.images)["strategy_loss"]}

    def after_step(self, out: SegmenterOutput, context: StepContext, optimizer: Any) -> dict[str, torch.Tensor]:
        l1 = self.criterion.critic_step(out.logits, out.masks, out.images, optimizer, context.all_reduce_gradients)
        return {"critic_l1": torch.as_tensor(l1)}


class SegGANAddon(StrategyLossAddon):
    """SegGAN (:class:`~samcl.losses.seggan.SegGANLoss`): reconstruction and adversarial terms after the
    generator's pre-training; generator and discriminator step after the segmenter with their own Adam."""

    name = "seggan"
    loss_class = SegGANLoss
    fractions: ClassVar[dict[str, tuple[str, float]]] = {"pretrain": ("pretrain_steps", 0.125)}

    @property
    def metric_names(self) -> tuple[str, ...]:
        return ("discriminator_loss", "generator_loss")

    @property
    def skips_parameters(self) -> bool:
        return self.criterion.pretrain_steps > 0

    def loss(self, out: SegmenterOutput, context: StepContext) -> dict[str, torch.Tensor]:
        return {"loss": self.criterion.parts(out.logits, out.masks, out.images, step=context.step)["strategy_loss"]}

    def after_step(self, out: SegmenterOutput, context: StepContext, optimizer: Any) -> dict[str, torch.Tensor]:
        losses = self.criterion.own_steps(
            out.logits, out.masks, out.images, optimizer, context.step, context.all_reduce_gradients
        )
        return {f"{key}_loss": torch.as_tensor(losses.get(key, float("nan"))) for key in ("discriminator", "generator")}


#: The add-ons of this module by name (merged into :data:`samcl.training.addons.ADDONS`).
STRATEGY_ADDONS = {addon.name: addon for addon in (ContrastiveSegAddon, SegANAddon, SegGANAddon)}
