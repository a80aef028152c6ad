"""Knowledge distillation from a trained network as a training add-on (``--teacher CHECKPOINT``).

The teacher (a ``best.pt`` of an earlier run, e.g. ``unet`` w16) runs without gradients, in eval mode, on the
very batch the segmenter trains on (augmented, attacked or doubled by the add-ons before it);
:meth:`DistillAddon.loss` adds ``distill_weight`` times the per-pixel Kullback-Leibler divergence of the
segmenter's softened prediction from the teacher's (:func:`samcl.losses.distillation.kd_loss`, temperature
``distill_temperature``). The teacher's weights stay out of the run's parameters, optimiser and checkpoints: a
resumed run reads the teacher's file again.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import torch
from torch import nn

from samcl.artifacts.normalization import Normalization
from samcl.losses.distillation import kd_loss
from samcl.training.addons.protocol import SegmenterOutput, StepContext, TrainingAddon
from samcl.training.preflight import SettingError

if TYPE_CHECKING:
    from samcl.training.config import TrainConfig


def load_teacher(path: str, num_classes: int) -> tuple[nn.Module, Normalization]:
    """The network of a checkpoint (file or run folder) in eval mode, frozen, and its input normalisation; a
    teacher that is no PyTorch checkpoint or predicts another number of classes is refused (``SettingError``)."""
    from samcl.inference.predictor import InferenceModel, load_inference_model

    try:
        teacher = load_inference_model(path, device="cpu")
    except (ValueError, OSError) as e:
        raise SettingError("teacher", f"teacher {path}: {e}") from None
    if not isinstance(teacher, InferenceModel):
        raise SettingError("teacher", f"teacher {path}: a PyTorch checkpoint (best.pt) is needed, not an ONNX model")
    if len(teacher.classes) != num_classes:
        raise SettingError(
            "teacher",
            f"teacher {path}: predicts {len(teacher.classes)} classes {list(teacher.classes)}; the training data "
            f"has {num_classes}",
        )
    return teacher.model.requires_grad_(False).eval(), teacher.normalization


def teacher_input_map(run: Normalization, teacher: Normalization) -> Callable[[torch.Tensor], torch.Tensor]:
    """The map from the run's network inputs (B, 1, H, W) to the teacher's: the temperatures (degrees Celsius) the
    run's ``dataset`` normalisation came from, normalised the teacher's way; per-image inputs (``image`` mode) are
    the same for a teacher of that mode. A pair that cannot be mapped is refused (``SettingError``)."""
    if run == teacher or (run.mode == teacher.mode == "image"):
        return lambda images: images
    if run.mode != "dataset":
        raise SettingError(
            "teacher",
            f"the teacher takes {teacher.mode!r}-normalised inputs; per-image inputs ({run.mode!r}) cannot be "
            "turned back into temperatures: train the teacher with this run's --input-norm",
        )
    return lambda images: teacher(images * run.std + run.mean)


class DistillAddon(TrainingAddon):
    """``distill_weight * T**2 * KL(softmax(teacher / T) || softmax(segmenter / T))`` over the labelled pixels."""

    name = "distill"

    def __init__(self, config: TrainConfig, num_classes: int) -> None:
        super().__init__()
        self.weight, self.temperature, self.ignore_index = (
            config.distill_weight,
            config.distill_temperature,
            config.ignore_index,
        )
        network, self.teacher_normalization = load_teacher(config.teacher, num_classes)
        self._teacher = (network,)  # a tuple keeps it out of the add-on's parameters, state and device moves
        self.to_teacher_inputs: Callable[[torch.Tensor], torch.Tensor] | None = None  # set by bind_inputs

    @classmethod
    def from_config(cls, config: TrainConfig, num_classes: int) -> DistillAddon:
        return cls(config, num_classes)

    @property
    def teacher(self) -> nn.Module:
        return self._teacher[0]

    @property
    def metric_names(self) -> tuple[str, ...]:
        return ("kd_divergence",)

    def bind_inputs(self, normalization: Normalization) -> None:
        self.to_teacher_inputs = teacher_input_map(normalization, self.teacher_normalization)

    def loss(self, out: SegmenterOutput, context: StepContext) -> dict[str, torch.Tensor]:
        if self.to_teacher_inputs is None:
            raise RuntimeError("DistillAddon.bind_inputs was not called before the first step")
        if next(self.teacher.parameters()).device != out.logits.device:  # once: where the segmenter runs
            self.teacher.to(out.logits.device)  # in place
        with torch.no_grad(), context.autocast():
            target = self.teacher(self.to_teacher_inputs(out.images))
        divergence = kd_loss(out.logits, target, out.masks, self.temperature, self.ignore_index)
        return {"loss": self.weight * divergence, "kd_divergence": divergence.detach()}
