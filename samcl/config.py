"""Training configuration: defaults follow the paper's recipe; a YAML/JSON file gives any option, flags override.

Precedence: built-in defaults < ``--config FILE`` < command-line flags. The resolved configuration is written
to ``summary.json`` and into every checkpoint, so a run can be repeated exactly.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml


@dataclass
class TrainConfig:
    """Every option of ``samcl-train`` (units: temperatures in degrees Celsius, sizes in pixels)."""

    data: str = ""  # training HDF5 (images + masks)
    val: str = ""  # validation HDF5
    out: str = ""  # run directory
    model: str = "unet"  # registry name, e.g. unet, attention_unet, smp:DeepLabV3Plus:resnet101
    model_kwargs: dict[str, Any] = field(default_factory=dict)  # e.g. {"base_width": 32}
    loss: str = "rmi"  # base loss: ce, dice, rmi
    samcl: bool = True  # add lambda * SAM-CL to the base loss
    samcl_lambda: float = 0.5
    samcl_kwargs: dict[str, Any] = field(default_factory=dict)  # margin, seg_distance, aux_norm, ...
    tiaug: bool = True  # occlusion + thermal noise in the augmentation (geometry and blur always on)
    occlusion: dict[str, Any] = field(default_factory=dict)  # TiAugOcclusion arguments
    noise: dict[str, Any] = field(default_factory=dict)  # ThermalNoise arguments
    crop: tuple[int, int] = (256, 320)  # training crop H, W
    iters: int = 10000
    batch_size: int = 16  # per process
    lr: float = 0.01
    momentum: float = 0.9
    weight_decay: float = 5e-4
    poly_power: float = 0.9  # lr = base_lr * (1 - it / iters) ** poly_power
    val_every: int = 500
    checkpoint_every: int = 500
    log_every: int = 10
    val_batch_size: int = 16
    seed: int = 0
    device: str = "auto"  # cpu, cuda, cuda:N, auto
    amp: bool | None = None  # bfloat16 autocast; None: on for CUDA, off on the CPU
    workers: int = 2  # DataLoader worker processes per training process
    threads: int | None = None  # intra-op CPU threads per training process; None: torch's default (one per core)
    deterministic: bool = True  # deterministic torch algorithms (warn where none), no cuDNN autotuning
    ignore_index: int = 255

    def validate(self) -> TrainConfig:
        """Refuse impossible settings with a message naming the option."""
        if not self.data or not self.val or not self.out:
            raise ValueError("--data, --val and --out are required (on the command line or in --config)")
        if self.loss not in ("ce", "dice", "rmi"):
            raise ValueError(f"--loss must be ce, dice or rmi, got {self.loss!r}")
        positive = ("iters", "batch_size", "val_every", "checkpoint_every", "log_every", "val_batch_size")
        for name in positive:
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.threads is not None and self.threads < 1:
            raise ValueError(f"threads must be >= 1 (or unset for torch's default), got {self.threads}")
        if self.lr <= 0 or self.workers < 0 or len(self.crop) != 2 or min(self.crop) < 1:
            raise ValueError(f"invalid lr ({self.lr}), workers ({self.workers}) or crop ({self.crop})")
        return self

    def as_dict(self) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(self).items()}


def read_config_file(path: str | Path) -> dict[str, Any]:
    """Options from a YAML (.yaml/.yml) or JSON file; unknown keys are refused with the list of valid ones."""
    path = Path(path)
    try:
        text = path.read_text()
        raw = yaml.safe_load(text) if path.suffix.lower() in {".yaml", ".yml"} else json.loads(text)
    except (OSError, json.JSONDecodeError, yaml.YAMLError) as e:
        raise ValueError(f"config {path}: cannot read it ({e})") from None
    if not isinstance(raw, dict):
        raise ValueError(f"config {path}: expected a mapping of option: value")
    known = {f.name for f in dataclasses.fields(TrainConfig)}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise ValueError(f"config {path}: unknown option(s) {unknown}; valid: {sorted(known)}")
    return raw


def resolve_config(file_options: dict[str, Any] | None, flags: dict[str, Any]) -> TrainConfig:
    """Defaults, then the file's options, then every flag that was given (not None)."""
    merged = {**(file_options or {}), **{k: v for k, v in flags.items() if v is not None}}
    if "crop" in merged:
        merged["crop"] = tuple(int(v) for v in merged["crop"])
    return TrainConfig(**merged).validate()
