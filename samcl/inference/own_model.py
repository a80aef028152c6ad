"""From one's own code: load any samcl model file as a predictor, and save a network trained in one's own loop
so that ``samcl-eval``, ``samcl-predict`` and :func:`load_predictor` accept it.

::

    import samcl
    samcl.save_model("mine.pt", net, name="unet", kwargs={"base_width": 16}, classes=names, normalization=norm)
    samcl.save_model("mine.onnx", any_net, classes=names, normalization=norm)    # any nn.Module ('deploy' extra)
    predictor = samcl.load_predictor("mine.pt")          # or a run folder, or an .onnx file
    masks = predictor.predict(frames)                   # (H, W) or (N, H, W) degrees Celsius, any size -> uint8

``normalization``: a :class:`~samcl.artifacts.normalization.Normalization` or ``{"mean": C, "std": C[, "mode":
"dataset" | "image"]}``: what the network was trained on, in degrees Celsius.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from torch import nn

from samcl.artifacts.checkpoint import check_model_spec, model_from_checkpoint, save_checkpoint
from samcl.artifacts.normalization import Normalization
from samcl.inference.padding import size_rule
from samcl.inference.predictor import Predictor, load_inference_model
from tiaug.io import atomic_output
from tiaug.labels import IGNORE_INDEX


def load_predictor(path: str | Path, device: str = "auto", threads: int | None = None) -> Predictor:
    """A predictor for a ``.pt`` checkpoint, a run folder or an ``.onnx`` file: ``predict(frames)`` takes (H, W)
    or (N, H, W) temperatures in degrees Celsius of any size and returns class masks of the same shape (uint8)."""
    return load_inference_model(path, device=device, threads=threads)


def _normalization(value: Normalization | dict[str, Any]) -> Normalization:
    if isinstance(value, Normalization):
        return value
    return Normalization(float(value["mean"]), float(value["std"]), str(value.get("mode", "dataset")))


def save_model(
    path: str | Path,
    model: nn.Module,
    *,
    classes: Sequence[str],
    normalization: Normalization | dict[str, Any],
    name: str | None = None,
    kwargs: dict[str, Any] | None = None,
    input_size: tuple[int, int] | None = None,
    config: dict[str, Any] | None = None,
    overwrite: bool = False,
) -> Path:
    """Save ``model`` (taking (B, 1, H, W), giving (B, len(classes), H, W) logits) as a model file samcl reads.

    ``.pt``: a samcl checkpoint; the network must be one the registry builds (``name`` and its ``kwargs``, e.g.
    ``"unet"``, ``{"base_width": 16}``); the weights are checked by rebuilding it. ``.onnx``: any module, traced
    with dynamic batch and frame size; its ``size_multiple``/``min_size`` attributes (default 16) give the size
    rule frames are padded to. Written whole or not at all; raises ValueError naming the problem.
    """
    path, norm, classes = Path(path), _normalization(normalization), list(classes)
    spec = {"name": name or getattr(model, "name", type(model).__name__), "kwargs": dict(kwargs or {})}
    spec.update(num_classes=len(classes), in_channels=1)
    size = list(input_size) if input_size is not None else None
    if path.suffix.lower() == ".onnx":
        _save_onnx(path, model, spec, classes, norm, size, config or {}, overwrite)
        return path
    if path.suffix.lower() != ".pt":
        raise ValueError(f"{path}: save a model as .pt (a samcl checkpoint) or .onnx")
    payload = {"model": spec, "classes": classes, "ignore_index": IGNORE_INDEX, "normalization": norm.as_dict()}
    payload.update(input_size=size, model_state=model.state_dict(), config=config or {})
    check_model_spec(spec, size, path)
    model_from_checkpoint(payload, path)  # the registry's network takes these weights
    if path.exists() and not overwrite:
        raise ValueError(f"{path}: exists already; pass overwrite=True to replace it")
    save_checkpoint(path, payload)
    return path


def _save_onnx(path, model, spec, classes, norm, size, config, overwrite) -> None:
    from samcl.inference.export import onnx_metadata, set_onnx_metadata, trace_onnx
    from samcl.inference.onnx_model import onnx_model_from_proto, require_deploy

    onnx, _ = require_deploy()
    multiple, minimum = size_rule(model)
    multiple, minimum = (16, 16) if (multiple, minimum) == (1, 1) else (multiple, minimum)
    was_training = model.training
    meta = onnx_metadata(spec, classes, IGNORE_INDEX, norm, size, (multiple, minimum), config, "fp32")
    try:
        with atomic_output(path, overwrite=overwrite) as tmp, tempfile.TemporaryDirectory(dir=tmp.parent) as work:
            traced = Path(work) / "model.onnx"
            trace_onnx(model.eval(), (max(minimum, multiple * 4),) * 2, traced)
            proto = onnx.load_model(str(traced))
            set_onnx_metadata(proto, meta)
            onnx.checker.check_model(proto)
            onnx_model_from_proto(proto, meta, path)  # onnxruntime runs it
            onnx.save_model(proto, str(tmp))
    finally:
        model.train(was_training)
