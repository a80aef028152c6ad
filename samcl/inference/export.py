"""Exporting a checkpoint to a self-describing ONNX model, checked against PyTorch before it is written.

:func:`export_onnx` traces the checkpoint's network (eval mode, batch, height and width dynamic), optionally
quantises it to int8 with onnxruntime's static quantisation (QDQ, per-channel weights) calibrated on real
frames, stores the samcl metadata (:data:`samcl.inference.onnx_model.METADATA_KEYS`), then runs the result in
onnxruntime beside the PyTorch network on the same frames: the largest logit difference and the share of
pixels whose class agrees are reported (and stored in the model's ``samcl.check`` metadata). An fp32 export whose
masks agree on fewer than :data:`MIN_AGREEMENT` of the pixels is refused. The file is written whole or not at all.

Frames for checking and calibration (:func:`export_frames`): an HDF5 file given, else the checkpoint's own
training file when it is still there, else synthetic faces at the training size.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import tempfile
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from samcl.artifacts.checkpoint import load_checkpoint
from samcl.inference.onnx_model import (
    FORMAT,
    INPUT_NAME,
    OUTPUT_NAME,
    VERSION,
    onnx_model_from_proto,
    require_deploy,
)
from samcl.inference.padding import pad_frames, padded_size, size_rule
from samcl.inference.predictor import InferenceModel, load_inference_model, predict_logits
from samcl.metrics import ConfusionMatrix
from samcl.models import fused_for_inference
from tiaug.io import atomic_output, open_thermal

OPSET = 17
MIN_AGREEMENT = 0.995  # share of pixels whose fp32 ONNX class equals PyTorch's
DEFAULT_CHECK_FRAMES = 32
CALIBRATION_BATCH = 4


@dataclass
class ExportReport:
    """What :func:`export_onnx` wrote and how the result compares with PyTorch on ``frames`` frames."""

    path: Path
    precision: str
    frames: int
    frames_from: str
    max_logit_difference: float
    mask_agreement: float
    miou_pytorch: float | None = None
    miou_onnx: float | None = None
    size_bytes: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    def lines(self) -> list[str]:
        lines = [
            f"exported {self.path} ({self.precision}, opset {OPSET}, {self.size_bytes / 1e6:.2f} MB)",
            f"checked on {self.frames} frames of {self.frames_from}: max |logit difference| "
            f"{self.max_logit_difference:.3g}, masks agree with PyTorch on {100 * self.mask_agreement:.3f}% of pixels",
        ]
        if self.miou_pytorch is not None and self.miou_onnx is not None:  # set together
            lines.append(
                f"mIoU on those frames' labels: PyTorch {self.miou_pytorch:.4f}, ONNX {self.precision} "
                f"{self.miou_onnx:.4f} ({100 * (self.miou_onnx - self.miou_pytorch):+.2f} points)"
            )
        return lines


def config_hash(config: Any) -> str:
    """SHA-256 of the training configuration as canonical JSON (sorted keys; non-JSON values as strings)."""
    text = json.dumps(config, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def export_frames(
    payload: dict[str, Any], data: str | Path | None, count: int
) -> tuple[np.ndarray, np.ndarray | None, str]:
    """(frames (N, H, W) degrees Celsius, masks or None, where they came from) for checking and calibration."""
    candidates = [Path(data)] if data is not None else []
    config = payload.get("config") or {}
    if data is None and isinstance(config.get("data"), str) and Path(config["data"]).is_file():
        candidates.append(Path(config["data"]))
    for path in candidates:
        with open_thermal(path) as reader:
            batch = reader.read_batch(0, min(count, reader.n))
            return batch.images, batch.masks, str(path)
    from tiaug.synth import generate_faces

    height, width = payload.get("input_size") or (192, 256)
    faces = generate_faces(count, int(height), int(width), seed=0)
    return faces.images, faces.masks, f"{count} synthetic faces {height}x{width}"


def trace_onnx(model: torch.nn.Module, size: tuple[int, int], path: Path) -> None:
    model = fused_for_inference(model).to(memory_format=torch.contiguous_format).eval()  # type: ignore[call-overload]
    example = torch.zeros(1, 1, *size)
    axes = {0: "batch", 2: "height", 3: "width"}
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # the tracer's notes on Python-side shape checks, the exporter's deprecation
        torch.onnx.export(
            model,
            (example,),
            str(path),
            input_names=[INPUT_NAME],
            output_names=[OUTPUT_NAME],
            dynamic_axes={INPUT_NAME: axes, OUTPUT_NAME: axes},
            opset_version=OPSET,
            dynamo=False,
        )


@contextlib.contextmanager
def _quiet_logging():
    """onnxruntime's quantiser logs advice through the root logger; keep it off the command's output."""
    logging.disable(logging.WARNING)
    try:
        yield
    finally:
        logging.disable(logging.NOTSET)


def _quantise(fp32: Path, int8: Path, inputs: np.ndarray) -> None:
    """Static int8 quantisation (QDQ, per-channel weights) calibrated on network inputs (N, 1, H, W)."""
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

    class Frames(CalibrationDataReader):
        def __init__(self) -> None:
            self.batches = iter(np.array_split(inputs, max(1, len(inputs) // CALIBRATION_BATCH)))

        def get_next(self) -> dict[str, np.ndarray] | None:
            batch = next(self.batches, None)
            return None if batch is None else {INPUT_NAME: np.ascontiguousarray(batch, dtype=np.float32)}

    with warnings.catch_warnings(), contextlib.redirect_stdout(None), _quiet_logging():
        warnings.simplefilter("ignore")
        quantize_static(
            str(fp32),
            str(int8),
            Frames(),
            quant_format=QuantFormat.QDQ,
            per_channel=True,
            weight_type=QuantType.QInt8,
            activation_type=QuantType.QUInt8,
        )


def onnx_metadata(
    spec: dict[str, Any],
    classes: list[str],
    ignore_index: int,
    normalization: Any,
    input_size: list[int] | None,
    rule: tuple[int, int],
    config: dict[str, Any],
    precision: str,
) -> dict[str, Any]:
    """The ``samcl.*`` metadata of an ONNX model (:data:`samcl.inference.onnx_model.METADATA_KEYS`)."""
    return {
        "format": FORMAT,
        "version": VERSION,
        "model": spec,
        "classes": list(classes),
        "ignore_index": ignore_index,
        "normalization": normalization.as_dict(),
        "input_size": input_size,
        "size_multiple": rule[0],
        "min_size": rule[1],
        "config_sha256": config_hash(config),
        "precision": precision,
    }


def set_onnx_metadata(proto: Any, meta: dict[str, Any]) -> None:
    kept = [p for p in proto.metadata_props if not p.key.startswith("samcl.")]
    del proto.metadata_props[:]
    proto.metadata_props.extend(kept)
    for key, value in meta.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = f"samcl.{key}", json.dumps(value)
    proto.producer_name = "samcl-export"


def _miou(labels: np.ndarray, masks: np.ndarray, num_classes: int, ignore_index: int) -> float:
    matrix = ConfusionMatrix(num_classes, ignore_index=ignore_index)
    matrix.update(labels, masks)
    return float(matrix.miou())


def export_onnx(
    checkpoint: str | Path,
    out: str | Path,
    *,
    int8: bool = False,
    data: str | Path | None = None,
    frames: int = DEFAULT_CHECK_FRAMES,
    overwrite: bool = False,
) -> ExportReport:
    """Export ``checkpoint`` to ``out`` (see the module docstring); returns the :class:`ExportReport`.

    Raises ValueError (a refused checkpoint, frames or output; fp32 masks agreeing on too few pixels) or a
    UserError naming the ``deploy`` extra when onnx/onnxruntime are missing; ``out`` is then not written.
    """
    onnx, _ = require_deploy()
    torch_model = load_inference_model(checkpoint, device="cpu")
    if not isinstance(torch_model, InferenceModel):
        raise ValueError(f"{checkpoint}: is an ONNX model already; export takes a samcl checkpoint (.pt)")
    payload = load_checkpoint(torch_model.source)
    out = Path(out)
    if out.suffix.lower() != ".onnx":
        raise ValueError(f"{out}: the output must be an .onnx file")
    images, masks, frames_from = export_frames(payload, data, frames)
    multiple, minimum = size_rule(torch_model.model)
    inputs = pad_frames(torch_model.normalization(images), multiple, minimum)[:, None]
    reference = predict_logits(torch_model.model, images, torch_model.normalization).numpy()
    with atomic_output(out, overwrite=overwrite, inputs=[checkpoint, torch_model.source]) as tmp:
        with tempfile.TemporaryDirectory(dir=tmp.parent, prefix=f".{out.name}.export-") as work:
            fp32 = Path(work) / "fp32.onnx"
            height, width = images.shape[-2:]
            trace_onnx(torch_model.model, padded_size(height, width, multiple, minimum), fp32)
            final = fp32
            if int8:
                final = Path(work) / "int8.onnx"
                _quantise(fp32, final, inputs)
            proto = onnx.load_model(str(final))
        precision = "int8" if int8 else "fp32"
        size = list(torch_model.input_size) if torch_model.input_size else None
        meta = onnx_metadata(
            torch_model.spec,
            list(torch_model.classes),
            torch_model.ignore_index,
            torch_model.normalization,
            size,
            size_rule(torch_model.model),
            payload.get("config") or {},
            precision,
        )
        set_onnx_metadata(proto, meta)
        onnx.checker.check_model(proto)
        runtime = onnx_model_from_proto(proto, meta, out)
        logits = runtime.predict_logits(images)
        agreement = float(np.mean(logits.argmax(1) == reference.argmax(1)))
        report = ExportReport(
            out, precision, len(images), frames_from, float(np.abs(logits - reference).max()), agreement
        )
        if masks is not None:
            report.miou_pytorch = _miou(reference.argmax(1), masks, runtime.num_classes, runtime.ignore_index)
            report.miou_onnx = _miou(logits.argmax(1), masks, runtime.num_classes, runtime.ignore_index)
        if not int8 and agreement < MIN_AGREEMENT:
            raise ValueError(
                f"{out}: the exported model's masks agree with PyTorch's on only {100 * agreement:.2f}% of pixels "
                f"(at least {100 * MIN_AGREEMENT:.1f}% expected); not written"
            )
        check: dict[str, Any] = {"frames": report.frames, "max_logit_difference": report.max_logit_difference}
        check.update(mask_agreement=agreement, miou_pytorch=report.miou_pytorch, miou_onnx=report.miou_onnx)
        set_onnx_metadata(proto, {**meta, "check": check})
        onnx.save_model(proto, str(tmp))
    report.size_bytes = out.stat().st_size
    return report
