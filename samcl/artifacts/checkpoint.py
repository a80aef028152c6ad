"""Self-describing checkpoints: everything eval and predict need travels with the weights.

A checkpoint is a ``torch.save``d dict::

    format         "samcl-checkpoint" (refused otherwise), version 1
    model          {"name": registry name, "kwargs": constructor arguments, "num_classes", "in_channels"}
    classes        class names (index = label), ignore_index
    normalization  {"mean": C, "std": C, "mode": "dataset" | "image"} (see :class:`Normalization`; checkpoints
                   without "mode" are "dataset")
    input_size     [H, W] the network was trained on (a multiple of the model's size_multiple)
    model_state    the segmentation network's state_dict
    iteration, best_miou, best_iteration, config (the resolved training configuration)
    train_state    (last.pt, for --resume) optimisers, scheduler, training add-ons, RNG states
                   (:mod:`samcl.training.checkpoints`)

Files are written to a temporary name in the same folder and renamed when complete.

A checkpoint is data, never code: it is read with ``torch.load(weights_only=True)`` (no arbitrary pickled
objects) and then every value must be one of :data:`CHECKPOINT_TYPES`; the model it describes is checked against
:data:`MODEL_LIMITS` (argument types, class count, input size, parameter count counted on the ``meta`` device)
before any memory is allocated for it. A crafted file is refused with one line and runs nothing.
"""

from __future__ import annotations

import pickle
import re
from collections import OrderedDict
from pathlib import Path
from typing import Any, TypeGuard

import torch
from torch import nn

from samcl.artifacts.normalization import Normalization
from samcl.models import build_model
from tiaug.io.h5.atomic import atomic_output

FORMAT = "samcl-checkpoint"
VERSION = 1

#: the only types a samcl checkpoint holds (state dicts, optimiser states, RNG states, configuration values)
CHECKPOINT_TYPES = (dict, OrderedDict, list, tuple, str, int, float, bool, type(None), torch.Tensor)
MAX_NESTING = 32  # a configuration or optimiser state is a few levels deep
#: bounds on the model a checkpoint describes, checked before it is built
MODEL_LIMITS = {
    "num_classes": 255,  # masks are uint8 class indices
    "input_side": 8192,  # pixels, each side of ``input_size``
    "parameters": 500_000_000,  # 2 GB of float32 weights; the largest zoo network has about 65 million
}


def save_checkpoint(path: str | Path, payload: dict[str, Any]) -> None:
    """Write ``payload`` whole or not at all (temporary file in the same folder, then rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_output(path, overwrite=True) as tmp:
        torch.save({"format": FORMAT, "version": VERSION, **payload}, tmp)


def read_checkpoint_data(path: Path, map_location: str | torch.device = "cpu") -> Any:
    """Unpickle ``path`` as data only: ``weights_only=True``, then every value must be of :data:`CHECKPOINT_TYPES`.

    The one place a checkpoint file is read (eval, predict, export and ``samcl-train --resume``). A file that
    asks for any other object (a crafted ``__reduce__``, a class of the writer's code) raises ValueError before
    anything of it runs.
    """
    try:
        payload = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as e:
        found = re.search(r"WeightsUnpickler error:\s*([^\n]+)", str(e))
        reason = found.group(1).strip() if found else str(e).strip().split("\n")[0]
        if "global" in reason.lower():  # the file asks for a function or class: it wants to run or build code
            global_name = re.search(r"GLOBAL (\S+)", reason)
            raise ValueError(
                f"checkpoint {path}: refused, it asks for {global_name.group(1) if global_name else 'an object'} "
                "where a checkpoint holds only tensors and plain values; a checkpoint is data and is never "
                "allowed to run code"
            ) from None
        raise ValueError(f"checkpoint {path}: not a readable PyTorch checkpoint ({reason[:160]})") from None
    except Exception as e:  # zip or torch errors: not a checkpoint we can read
        raise ValueError(f"checkpoint {path}: not a readable PyTorch checkpoint ({type(e).__name__}: {e})") from None
    _check_plain(payload, path)
    return payload


def _check_plain(value: Any, path: Path, depth: int = 0) -> None:
    if depth > MAX_NESTING:
        raise ValueError(f"checkpoint {path}: nested more than {MAX_NESTING} levels deep; not a samcl checkpoint")
    if type(value) not in CHECKPOINT_TYPES:
        raise ValueError(f"checkpoint {path}: holds a {type(value).__name__}; a samcl checkpoint holds only data")
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list | tuple) else ()
    for key, item in items:
        if isinstance(value, dict) and type(key) not in (str, int):
            raise ValueError(f"checkpoint {path}: a key of type {type(key).__name__}; keys are names or numbers")
        _check_plain(item, path, depth + 1)


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Read and check a checkpoint; a missing, unreadable, foreign or unsafe file raises ValueError naming it."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"checkpoint {path}: file not found")
    payload = read_checkpoint_data(path, map_location)
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise ValueError(f"checkpoint {path}: not a samcl checkpoint (no 'format': '{FORMAT}' entry)")
    if not isinstance(payload.get("version", 0), int) or payload.get("version", 0) > VERSION:
        raise ValueError(f"checkpoint {path}: version {payload['version']!r} is newer than this samcl ({VERSION})")
    for key in ("model", "model_state", "classes", "normalization"):
        if key not in payload:
            raise ValueError(f"checkpoint {path}: missing entry {key!r}")
    check_model_spec(payload["model"], payload.get("input_size"), path)
    return payload


def _is_int(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def check_model_spec(spec: Any, input_size: Any = None, source: str | Path = "checkpoint") -> None:
    """Refuse a model description outside :data:`MODEL_LIMITS` before anything is built (ValueError, one line).

    ``spec``: ``{"name", "kwargs", "num_classes", "in_channels"}``; ``input_size``: ``[H, W]`` or None. The
    parameter count is taken from the network built on the ``meta`` device (no memory for weights).
    """
    if not isinstance(spec, dict) or not isinstance(spec.get("name"), str) or not isinstance(spec.get("kwargs"), dict):
        raise ValueError(f"checkpoint {source}: 'model' must hold name, kwargs and num_classes, got {spec!r}")
    for key, value in spec["kwargs"].items():
        if not isinstance(key, str) or not isinstance(value, str | int | float | bool | type(None)):
            raise ValueError(f"checkpoint {source}: model argument {key!r} = {value!r} is not a plain value")
    classes = spec.get("num_classes")
    if not _is_int(classes) or not 1 <= classes <= MODEL_LIMITS["num_classes"]:
        raise ValueError(f"checkpoint {source}: num_classes must be 1..{MODEL_LIMITS['num_classes']}, got {classes!r}")
    side = MODEL_LIMITS["input_side"]
    if input_size is not None and (
        not isinstance(input_size, list | tuple)
        or len(input_size) != 2
        or not all(_is_int(v) and 1 <= v <= side for v in input_size)
    ):
        raise ValueError(f"checkpoint {source}: input_size must be [H, W] with sides 1..{side}, got {input_size!r}")
    try:
        with torch.device("meta"):
            count = sum(p.numel() for p in build_model_from_spec(spec).parameters())
    except (TypeError, ValueError, KeyError, RuntimeError, ImportError) as e:
        problem = f"cannot build model {spec['name']!r} with {spec['kwargs']} ({e})"
        raise ValueError(f"checkpoint {source}: {problem}") from None
    if count > MODEL_LIMITS["parameters"]:
        raise ValueError(
            f"checkpoint {source}: model {spec['name']!r} with {spec['kwargs']} would have {count:,} parameters, "
            f"more than the {MODEL_LIMITS['parameters']:,} allowed"
        )


def build_model_from_spec(spec: dict[str, Any]) -> nn.Module:
    """The (untrained) network a checkpoint's ``model`` entry describes."""
    return build_model(spec["name"], spec["num_classes"], in_channels=spec.get("in_channels", 1), **spec["kwargs"])


def model_from_checkpoint(payload: dict[str, Any], source: str | Path = "checkpoint") -> nn.Module:
    """Rebuild the network and load its weights; a state that does not fit the model raises ValueError."""
    model = build_model_from_spec(payload["model"])
    try:
        model.load_state_dict(payload["model_state"])
    except RuntimeError as e:
        spec = payload["model"]
        raise ValueError(
            f"{source}: weights do not fit model {spec['name']!r} with {spec['kwargs']} "
            f"(a checkpoint from a different model?): {str(e).splitlines()[0]}"
        ) from None
    return model


def normalization_of(payload: dict[str, Any]) -> Normalization:
    """The checkpoint's input normalisation."""
    entry = payload["normalization"]
    return Normalization(float(entry["mean"]), float(entry["std"]), str(entry.get("mode", "dataset")))
