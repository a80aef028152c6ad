"""An exported network run with onnxruntime: :class:`OnnxModel`, the interface of ``InferenceModel``.

``samcl-export`` writes an ONNX model whose graph maps normalised frames (N, 1, H, W) float32 to logits
(N, C, H, W), with dynamic N, H and W (multiples of ``size_multiple``), and whose metadata (``metadata_props``,
keys :data:`METADATA_KEYS`, JSON values) says everything needed to use it: classes, input normalisation, the
model's name and arguments, the size rule, the training configuration's SHA-256, the precision. Normalising,
padding and cropping back happen here, as for a checkpoint.

An ONNX file is data too: it is parsed with ``onnx`` before onnxruntime sees it, and refused (one line) when it
is damaged, lacks the samcl metadata, keeps tensors in external files (a model could otherwise read any local
file as weights) or uses operator domains other than ONNX's own and onnxruntime's.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from samcl.artifacts.normalization import Normalization
from samcl.inference.interface import Predictor
from samcl.inference.padding import crop_frames, pad_frames
from tiaug.errors import UserError

if TYPE_CHECKING:
    from torch import Tensor

FORMAT = "samcl-onnx"
VERSION = 1
INPUT_NAME, OUTPUT_NAME = "frames", "logits"
#: metadata keys (each prefixed with ``samcl.``) and what they hold (JSON)
METADATA_KEYS = {
    "format": f'"{FORMAT}"',
    "version": "format version (int)",
    "model": "{name, kwargs, num_classes, in_channels}",
    "classes": "class names, index = label",
    "ignore_index": "label of unscored pixels",
    "normalization": "{mean, std, mode}: degrees Celsius to network input",
    "input_size": "[H, W] the network was trained on",
    "size_multiple": "H and W must be multiples of it",
    "min_size": "smallest H and W",
    "config_sha256": "SHA-256 of the training configuration (canonical JSON)",
    "precision": '"fp32" or "int8"',
    "check": "the export's comparison with PyTorch",
}
ALLOWED_DOMAINS = ("", "ai.onnx", "com.microsoft")
MISSING_DEPLOY = (
    "running or writing .onnx models needs onnx and onnxruntime, which are not installed: install the 'deploy' "
    "extra, e.g. pip install 'tiaug-samcl[deploy]'"
)


def require_deploy() -> tuple[Any, Any]:
    """``(onnx, onnxruntime)``, or a UserError naming the ``deploy`` extra."""
    try:
        import onnx
        import onnxruntime
    except ImportError:
        raise UserError(MISSING_DEPLOY) from None
    return onnx, onnxruntime


def read_onnx(path: str | Path) -> tuple[Any, dict[str, Any]]:
    """Parse and check an ``.onnx`` file: (the ``onnx.ModelProto``, its samcl metadata decoded). ValueError if
    it is missing, damaged, foreign (no samcl metadata), stores tensors outside itself or uses unknown domains."""
    onnx, _ = require_deploy()
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"ONNX model {path}: file not found")
    try:
        proto = onnx.load_model(str(path), load_external_data=False)
    except Exception as e:  # protobuf DecodeError and friends
        raise ValueError(f"ONNX model {path}: not a readable ONNX file ({type(e).__name__})") from None
    external = [t.name for t in _tensors(proto.graph) if t.data_location == onnx.TensorProto.EXTERNAL]
    if external:
        raise ValueError(f"ONNX model {path}: tensor {external[0]!r} is stored in an external file; refused")
    domains = sorted({o.domain for o in proto.opset_import} - set(ALLOWED_DOMAINS))
    if domains:
        raise ValueError(f"ONNX model {path}: uses operator domains {domains}; only ONNX's and onnxruntime's run")
    props = {p.key.removeprefix("samcl."): p.value for p in proto.metadata_props if p.key.startswith("samcl.")}
    if props.get("format") != json.dumps(FORMAT):
        raise ValueError(f"ONNX model {path}: not exported by samcl-export (no samcl metadata)")
    try:
        meta = {k: json.loads(v) for k, v in props.items()}
    except json.JSONDecodeError as e:
        raise ValueError(f"ONNX model {path}: damaged samcl metadata ({e})") from None
    missing = [k for k in ("model", "classes", "normalization", "size_multiple", "min_size") if k not in meta]
    if missing or not isinstance(meta.get("version"), int) or meta["version"] > VERSION:
        raise ValueError(f"ONNX model {path}: samcl metadata missing {missing} or of a newer version")
    return proto, meta


def _tensors(graph) -> list:
    """Every initializer and constant tensor of ``graph`` and its subgraphs."""
    found = list(graph.initializer)
    for node in graph.node:
        for attribute in node.attribute:
            found.extend([attribute.t] if attribute.HasField("t") else [])
            found.extend(attribute.tensors)
            for sub in [*([attribute.g] if attribute.HasField("g") else []), *attribute.graphs]:
                found.extend(_tensors(sub))
    return found


def _checked(meta: dict[str, Any], path: Path) -> tuple[tuple[str, ...], Normalization, int, int]:
    classes = meta["classes"]
    if not isinstance(classes, list) or not 1 <= len(classes) <= 255 or not all(isinstance(c, str) for c in classes):
        raise ValueError(f"ONNX model {path}: 'classes' must be 1..255 class names, got {classes!r}")
    try:
        norm = Normalization(**{k: meta["normalization"][k] for k in ("mean", "std", "mode")})
        ok = np.isfinite(norm.mean) and np.isfinite(norm.std) and norm.std > 0
    except (KeyError, TypeError, ValueError):
        ok = False
    if not ok:
        raise ValueError(f"ONNX model {path}: bad normalization {meta['normalization']!r}")
    multiple, minimum = meta["size_multiple"], meta["min_size"]
    if not all(isinstance(v, int) and 1 <= v <= 1024 for v in (multiple, minimum)):
        raise ValueError(f"ONNX model {path}: size rule must be integers 1..1024, got {multiple!r}, {minimum!r}")
    return tuple(classes), norm, multiple, minimum


def providers_for(device: str, onnxruntime: Any) -> list[str]:
    """onnxruntime execution providers for ``device`` (auto, cpu, cuda[:N])."""
    available = onnxruntime.get_available_providers()
    if device.startswith("cuda"):
        if "CUDAExecutionProvider" not in available:
            raise UserError(f"--device {device}: this onnxruntime has no CUDA provider (it offers {available})")
        return ["CUDAExecutionProvider", "CPUExecutionProvider"]
    if device == "auto" and "CUDAExecutionProvider" in available:
        return ["CUDAExecutionProvider", "CPUExecutionProvider"]
    return ["CPUExecutionProvider"]


@dataclass
class OnnxModel(Predictor):
    """An exported network in an onnxruntime session, with everything needed to run it on temperatures."""

    session: Any
    normalization: Normalization
    classes: tuple[str, ...]
    ignore_index: int
    spec: dict[str, Any]
    input_size: tuple[int, int] | None
    device: str
    source: Path
    size_multiple: int
    min_size: int
    metadata: dict[str, Any]

    def predict_logits(self, images: np.ndarray | Tensor) -> np.ndarray:
        """Logits (B, C, H, W) float32 for temperatures (B, H, W) in degrees Celsius."""
        images = np.asarray(images, dtype=np.float32)
        height, width = images.shape[-2:]
        x = pad_frames(self.normalization(images), self.size_multiple, self.min_size)[:, None]
        logits = self.session.run([OUTPUT_NAME], {INPUT_NAME: np.ascontiguousarray(x, dtype=np.float32)})[0]
        return crop_frames(logits, height, width)

    def predict_batch(self, images: np.ndarray | Tensor) -> np.ndarray:
        """Class index per pixel (B, H, W) uint8 for temperatures (B, H, W) in degrees Celsius."""
        return self.predict_logits(images).argmax(1).astype(np.uint8)


def onnx_model_from_proto(
    proto: Any, meta: dict[str, Any], source: Path, device: str = "cpu", threads: int | None = None
) -> OnnxModel:
    """An :class:`OnnxModel` over a parsed model (:func:`read_onnx`); ValueError if onnxruntime refuses it."""
    _, onnxruntime = require_deploy()
    classes, normalization, multiple, minimum = _checked(meta, source)
    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3  # errors only: onnxruntime's warnings are not the user's business
    if threads:
        options.intra_op_num_threads = int(threads)
        options.inter_op_num_threads = 1
    try:
        session = onnxruntime.InferenceSession(
            proto.SerializeToString(), options, providers=providers_for(device, onnxruntime)
        )
    except Exception as e:  # onnxruntime's own errors (an invalid graph, an unknown operator)
        message = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise ValueError(f"ONNX model {source}: onnxruntime cannot run it ({message[:200]})") from None
    names = ([i.name for i in session.get_inputs()], [o.name for o in session.get_outputs()])
    if names != ([INPUT_NAME], [OUTPUT_NAME]):
        raise ValueError(f"ONNX model {source}: expected input {INPUT_NAME!r} and output {OUTPUT_NAME!r}, got {names}")
    size = meta.get("input_size")
    spec = meta["model"] if isinstance(meta["model"], dict) else {"name": str(meta["model"])}
    kwargs = spec.get("kwargs")
    return OnnxModel(
        session=session,
        normalization=normalization,
        classes=classes,
        ignore_index=int(meta.get("ignore_index", 255)),
        spec={"name": str(spec.get("name", "?")), "kwargs": dict(kwargs) if isinstance(kwargs, dict) else {}},
        input_size=(int(size[0]), int(size[1])) if isinstance(size, list) and len(size) == 2 else None,
        device=f"onnxruntime {session.get_providers()[0].removesuffix('ExecutionProvider').lower()} "
        f"{meta.get('precision', 'fp32')}",
        source=source,
        size_multiple=multiple,
        min_size=minimum,
        metadata=meta,
    )


def load_onnx_model(path: str | Path, device: str = "cpu", threads: int | None = None) -> OnnxModel:
    """Read an ``.onnx`` file written by ``samcl-export`` and open it in onnxruntime (``threads``: intra-op)."""
    proto, meta = read_onnx(path)
    return onnx_model_from_proto(proto, meta, Path(path), device, threads)
