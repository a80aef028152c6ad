"""A trained network ready for inference: a checkpoint turned into a predictor, and running a network.

``load_inference_model("run/best.pt", device="auto")`` reads a self-describing checkpoint
(:mod:`samcl.artifacts.checkpoint`), rebuilds its network on the chosen device in eval mode and returns an
:class:`InferenceModel` whose ``predict(images)`` maps temperatures (H, W) or (B, H, W) in degrees Celsius to
class indices of the same shape (uint8), at any image size. An ``.onnx`` file made by ``samcl-export`` gives an
:class:`~samcl.inference.onnx_model.OnnxModel` with the same interface (onnxruntime, the ``deploy`` extra).
Every refusal is a ``ValueError`` naming the file and the problem.

Images are (B, H, W) degrees Celsius. They are normalised with the checkpoint's mean/std, padded by
reflection up to the model's size multiple (and minimum size), segmented, and cropped back, so masks come
out at the input's size.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from samcl.artifacts.checkpoint import load_checkpoint, model_from_checkpoint, normalization_of
from samcl.artifacts.normalization import Normalization
from samcl.device import autocast, resolve_device
from samcl.inference.interface import Predictor
from samcl.inference.padding import crop_frames, pad_frames, size_rule
from samcl.metrics import ConfusionMatrix
from samcl.models import fused_for_inference
from tiaug.labels import IGNORE_INDEX

ONNX_SUFFIX = ".onnx"


def resolve_checkpoint_path(path: str | Path) -> Path:
    """A checkpoint file; a training run folder stands for its ``best.pt`` (then ``last.pt``)."""
    path = Path(path)
    if path.is_dir():
        for name in ("best.pt", "last.pt"):
            if (path / name).is_file():
                return path / name
        raise ValueError(f"checkpoint {path}: is a folder without best.pt or last.pt; give a checkpoint file")
    return path


@torch.no_grad()
def predict_logits(
    model: nn.Module,
    images: np.ndarray | torch.Tensor,
    normalization: Normalization,
    device: torch.device | str = "cpu",
    amp: bool = False,
) -> torch.Tensor:
    """Logits (B, C, H, W) float32 for temperature images (B, H, W); pads to the model's size and crops back."""
    device = torch.device(device)
    x = torch.as_tensor(np.asarray(images, dtype=np.float32) if not torch.is_tensor(images) else images)
    x = normalization(x.to(device=device, dtype=torch.float32))
    height, width = x.shape[-2:]
    x = pad_frames(x, *size_rule(model)).unsqueeze(1)
    if getattr(model, "prefers_channels_last", False):
        x = x.contiguous(memory_format=torch.channels_last)
    with autocast(device, amp):
        logits = model(x)
    return crop_frames(logits, height, width).float()


def predict_labels(model: nn.Module, images, normalization: Normalization, device="cpu", amp=False) -> np.ndarray:
    """Class index per pixel (B, H, W) uint8."""
    return predict_logits(model, images, normalization, device, amp).argmax(1).to(torch.uint8).cpu().numpy()


def evaluate_batches(
    model: nn.Module,
    batches: Iterable[tuple[np.ndarray, np.ndarray]],
    normalization: Normalization,
    num_classes: int,
    ignore_index: int | None = IGNORE_INDEX,
    device: torch.device | str = "cpu",
    amp: bool = False,
) -> ConfusionMatrix:
    """Dataset-wide confusion matrix of ``model`` over (images (B, H, W) C, masks (B, H, W)) batches."""
    was_training = model.training
    model.eval()
    matrix = ConfusionMatrix(num_classes, ignore_index=ignore_index)
    try:
        for images, masks in batches:
            matrix.update(predict_labels(model, images, normalization, device, amp), np.asarray(masks))
    finally:
        model.train(was_training)
    return matrix


@dataclass
class InferenceModel(Predictor):
    """A PyTorch segmentation network in eval mode with everything needed to run it on temperatures."""

    model: nn.Module
    normalization: Normalization
    classes: tuple[str, ...]
    ignore_index: int
    spec: dict[str, Any]
    input_size: tuple[int, int] | None
    device: torch.device
    amp: bool
    source: Path

    def predict_batch(self, images: np.ndarray | torch.Tensor) -> np.ndarray:
        """Class index per pixel (B, H, W) uint8 for temperatures (B, H, W) in degrees Celsius."""
        return predict_labels(self.model, images, self.normalization, self.device, self.amp)


def _checked_classes(payload: dict[str, Any], source: Path) -> tuple[str, ...]:
    classes = payload["classes"]
    if not isinstance(classes, list | tuple) or not classes or not all(isinstance(c, str) for c in classes):
        raise ValueError(f"checkpoint {source}: 'classes' must be a non-empty list of class names, got {classes!r}")
    spec = payload["model"]
    if not isinstance(spec, dict) or not {"name", "kwargs", "num_classes"} <= set(spec):
        raise ValueError(f"checkpoint {source}: 'model' must hold name, kwargs and num_classes, got {spec!r}")
    if int(spec["num_classes"]) != len(classes):
        raise ValueError(
            f"checkpoint {source}: the model has {spec['num_classes']} output classes but the checkpoint names "
            f"{len(classes)} ({list(classes)})"
        )
    if int(spec.get("in_channels", 1)) != 1:
        raise ValueError(
            f"checkpoint {source}: the model takes {spec['in_channels']} input channels; thermal images have one"
        )
    return tuple(classes)


def load_inference_model(
    path: str | Path, device: str | torch.device = "auto", amp: bool = False, threads: int | None = None
) -> Predictor:
    """Read a checkpoint (file or run folder) and rebuild its network on ``device``, in eval mode; an ``.onnx``
    file (``samcl-export``) gives an onnxruntime predictor with the same interface.

    ``amp``: bfloat16 autocast on CUDA (ignored on the CPU). ``threads``: onnxruntime's intra-op threads (default:
    its own choice; PyTorch's are ``torch.set_num_threads``). Raises ValueError for a missing, unreadable or
    foreign checkpoint, inconsistent entries, or weights that do not fit the described model.
    """
    source = resolve_checkpoint_path(path)
    if source.suffix.lower() == ONNX_SUFFIX:
        from samcl.inference.onnx_model import load_onnx_model

        return load_onnx_model(source, device=str(device), threads=threads)
    device = device if isinstance(device, torch.device) else resolve_device(device)
    payload = load_checkpoint(source, map_location="cpu")
    classes = _checked_classes(payload, source)
    try:
        normalization = normalization_of(payload)
    except (KeyError, TypeError, ValueError):
        raise ValueError(
            f"checkpoint {source}: 'normalization' must be {{'mean': C, 'std': C}}, got {payload['normalization']!r}"
        ) from None
    if not (np.isfinite(normalization.mean) and np.isfinite(normalization.std) and normalization.std > 0):
        raise ValueError(f"checkpoint {source}: normalization std must be a positive number, got {normalization}")
    try:
        model = model_from_checkpoint(payload, source)
    except (TypeError, KeyError) as e:  # unknown constructor arguments, malformed spec
        raise ValueError(f"checkpoint {source}: cannot rebuild model {payload['model']!r} ({e})") from None
    except ValueError as e:  # e.g. an unknown model name
        if str(source) in str(e):
            raise
        raise ValueError(f"checkpoint {source}: {e}") from None
    model = fused_for_inference(model).to(device).eval()
    if getattr(model, "prefers_channels_last", False):
        model.to(memory_format=torch.channels_last)  # type: ignore[call-overload]  # torch's stubs omit it
    size = payload.get("input_size")
    return InferenceModel(
        model=model,
        normalization=normalization,
        classes=classes,
        ignore_index=IGNORE_INDEX if payload.get("ignore_index") is None else int(payload["ignore_index"]),
        spec=dict(payload["model"]),
        input_size=(int(size[0]), int(size[1])) if size is not None else None,  # checked: [H, W]
        device=device,
        amp=bool(amp) and device.type == "cuda",
        source=source,
    )
