"""Training configuration: defaults follow the paper's recipe; a YAML/JSON file gives any option, flags override.

Precedence: built-in defaults < ``--config FILE`` < command-line flags. The resolved configuration is written
to ``summary.json`` and into every checkpoint, so a run can be repeated exactly.
"""

from __future__ import annotations

import dataclasses
import inspect
import math
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from samcl.artifacts.input_norms import DEFAULT_INPUT_NORM, INPUT_NORMS
from samcl.losses.base_losses import BASE_LOSS_NAMES, DEFAULT_BASE_LOSS
from samcl.losses.settings import (
    DEFAULT_PRESET,
    DEFAULT_STRATEGY,
    SAMCL_PRESETS,
    SAMCL_SETTINGS,
    STRATEGIES,
    samcl_settings,
)
from tiaug.config_files import ConfigFileError, read_config_data
from tiaug.errors import UserError
from tiaug.labels import IGNORE_INDEX
from tiaug.sizes import parse_size

#: The largest crop (H, W) the training takes by default: frames that are larger are cropped to it (the paper's).
DEFAULT_CROP = (256, 320)
PREFETCH_BATCHES = 4  # batches each DataLoader worker prepares ahead of the training step

#: SAMCLLoss arguments that samcl-train sets itself (not accepted by --samcl-arg), with what sets them.
_SET_BY_TRAINING = {
    "num_classes": "the classes of --data",
    "base_loss": "--loss",
    "ignore_index": "ignore_index",
    "generator": "--seed",
}


@dataclass
class TrainConfig:
    """Every option of ``samcl-train`` (units: temperatures in degrees Celsius, sizes in pixels)."""

    data: str = ""  # training HDF5 (images + masks)
    val: str = ""  # validation HDF5
    out: str = ""  # run directory
    model: str = "unet"  # registry name, e.g. unet, attention_unet, smp:DeepLabV3Plus:resnet101
    model_kwargs: dict[str, Any] = field(default_factory=dict)  # e.g. {"base_width": 32}
    loss: str = DEFAULT_BASE_LOSS  # base loss: one of BASE_LOSS_NAMES; SAMCLLoss's default too
    strategy: str = DEFAULT_STRATEGY  # learning strategy: one of samcl.losses.settings.STRATEGIES
    strategy_kwargs: dict[str, dict[str, Any]] = field(default_factory=dict)  # {strategy: its --<name>-arg options}
    samcl: bool = True  # shorthand: --samcl is --strategy samcl, --no-samcl any other (set to agree by validate)
    samcl_lambda: float | None = None  # lambda of SAM-CL; None: the preset's (set by validate)
    samcl_preset: str = DEFAULT_PRESET  # SAM-CL design choices: "stable" or "poster" (samcl.losses.SAMCL_PRESETS)
    samcl_warmup: float = 0.0  # fraction of the steps over which lambda ramps up from 0
    samcl_kwargs: dict[str, Any] = field(default_factory=dict)  # SAMCLLoss arguments: margin, triplet, aux_mode, ...
    tiaug: bool = True  # occlusion + thermal noise in the augmentation (geometry and blur always on)
    occlusion: dict[str, Any] = field(default_factory=dict)  # TiAugOcclusion arguments
    noise: dict[str, Any] = field(default_factory=dict)  # ThermalNoise arguments
    scene: bool = True  # scene-level augmentation: room temperature, camera drift, fixed-pattern stripes
    aug_warmup: float = 0.2  # fraction of the steps (the first) trained without TiAug and the scene steps
    aug_ramp: float = 0.2  # fraction of the steps after the warm-up over which TiAug + scene reach every sample
    ambient: dict[str, Any] = field(default_factory=dict)  # AmbientTemperature arguments
    drift: dict[str, Any] = field(default_factory=dict)  # CameraDrift arguments
    fixed_pattern: dict[str, Any] = field(default_factory=dict)  # FixedPatternNoise arguments
    adversarial_k: int = 0  # worst-of-K: photometric draws per image scored by the network (0: random TiAug)
    adversarial_temperature: float = 0.0  # 0: train on the hardest draw; > 0: softmax draw over the K losses
    adversarial_scale: float = 1.0  # the draws are scored at this fraction of their size (cost ~ scale ** 2)
    bandit: bool = False  # TiAug's discrete choices drawn by weights that follow the loss each choice produces
    bandit_kwargs: dict[str, Any] = field(default_factory=dict)  # BanditSettings: temperature, floor, decay, lag
    consistency: float = 0.0  # weight of the Jensen-Shannon consistency of a clean and the augmented view
    teacher: str = ""  # checkpoint (file or run folder) of a trained network the run also learns from; "": none
    distill_weight: float = 1.0  # weight of the distillation term (with a teacher)
    distill_temperature: float = 1.0  # softmax temperature of the distillation (with a teacher)
    input_norm: str = DEFAULT_INPUT_NORM  # network input: "dataset" mean/std, or "image" (per-frame median, spread)
    crop: tuple[int, int] | None = None  # training crop H, W; None: the training frames, at most DEFAULT_CROP
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
    threads: int | None = None  # CPU threads per training process; None: the cores shared among the processes
    deterministic: bool = True  # deterministic torch algorithms (warn where none), no cuDNN autotuning
    ignore_index: int = IGNORE_INDEX

    def validate(self) -> TrainConfig:
        """Refuse impossible settings (wrong types included) with a ``UserError`` naming the option and its flag."""
        hints = typing.get_type_hints(TrainConfig)
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if not _matches(value, hints[f.name]):
                raise UserError(f"{_option(f.name)} must be {_describe(hints[f.name])}, got {value!r}")
        if not self.data or not self.val or not self.out:
            raise UserError("--data, --val and --out are required (on the command line or in --config)")
        if self.loss not in BASE_LOSS_NAMES:
            names = BASE_LOSS_NAMES
            raise UserError(f"--loss must be {', '.join(names[:-1])} or {names[-1]}, got {self.loss!r}")
        positive = ("iters", "batch_size", "val_every", "checkpoint_every", "log_every", "val_batch_size", "lr")
        for name in positive:
            if not getattr(self, name) > 0:
                raise UserError(f"{_option(name)} must be > 0, got {getattr(self, name)}")
        for name in ("workers", "seed", "ignore_index", "momentum", "weight_decay", "poly_power"):
            if getattr(self, name) < 0:
                raise UserError(f"{_option(name)} must be >= 0, got {getattr(self, name)}")
        if self.crop is not None and min(self.crop) < 1:
            raise UserError(f"{_option('crop')} must be a positive HxW size in pixels, got {self.crop}")
        if self.input_norm not in INPUT_NORMS:
            raise UserError(f"{_option('input_norm')} must be one of {list(INPUT_NORMS)}, got {self.input_norm!r}")
        if self.samcl_preset not in SAMCL_PRESETS:
            raise UserError(
                f"{_option('samcl_preset')} must be one of {sorted(SAMCL_PRESETS)}, got {self.samcl_preset!r}"
            )
        for name in ("samcl_warmup", "aug_warmup", "aug_ramp"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise UserError(f"{_option(name)} is a fraction of the steps in [0, 1], got {getattr(self, name)}")
        if self.aug_warmup + self.aug_ramp > 1.0:
            raise UserError(
                f"{_option('aug_warmup')} + {_option('aug_ramp')} must be at most 1 (fractions of the steps), got "
                f"{self.aug_warmup:g} + {self.aug_ramp:g}"
            )
        if self.samcl_lambda is None:  # recorded as a number in summary.json and the checkpoints
            self.samcl_lambda = SAMCL_PRESETS[self.samcl_preset]["lam"]
        if self.samcl_lambda < 0:
            raise UserError(f"{_option('samcl_lambda')} must be >= 0, got {self.samcl_lambda}")
        if self.threads is not None and self.threads < 1:
            raise UserError(f"{_option('threads')} must be >= 1, got {self.threads}")
        self._check_strategy()
        if self.samcl:
            self._check_samcl_kwargs()
        self._check_attack()
        return self

    def _check_strategy(self) -> None:
        """Make ``strategy`` and the ``samcl`` shorthand agree (no SAM-CL turns the default strategy off; another
        strategy turns the default shorthand off), and refuse options of a strategy the run does not use."""
        if self.strategy not in STRATEGIES:
            raise UserError(f"{_option('strategy')} must be one of {list(STRATEGIES)}, got {self.strategy!r}")
        self.strategy = self.chosen_strategy()
        self.samcl = self.strategy == "samcl"
        for name, options in self.strategy_kwargs.items():
            if name not in STRATEGIES or name in ("samcl", "none"):
                raise UserError(f"strategy_kwargs: {name!r} is no strategy with options (SAM-CL's: --samcl-arg)")
            if name != self.strategy:
                raise UserError(f"--{name}-arg {', '.join(options)}: the run's strategy is {self.strategy}, not {name}")
        if self.strategy in self.strategy_kwargs:
            from samcl.training.addons.strategy_losses import STRATEGY_ADDONS  # torch loads for a run, not --help

            options, valid = self.strategy_kwargs[self.strategy], STRATEGY_ADDONS[self.strategy].option_names()
            unknown = sorted(set(options) - set(valid))
            if unknown:
                raise UserError(f"--{self.strategy}-arg {', '.join(unknown)}: not an option; valid: {valid}")

    def _check_attack(self) -> None:
        """Refuse impossible settings of the self-adversarial augmentation (worst-of-K, bandit, consistency)."""
        from samcl.training.bandit_settings import bandit_settings

        if self.adversarial_k < 0 or self.adversarial_k == 1:
            raise UserError(f"{_option('adversarial_k')} must be 0 (off) or >= 2 draws, got {self.adversarial_k}")
        if self.adversarial_temperature < 0:
            raise UserError(f"{_option('adversarial_temperature')} must be >= 0, got {self.adversarial_temperature}")
        if not 0 < self.adversarial_scale <= 1:
            raise UserError(f"{_option('adversarial_scale')} must be in (0, 1], got {self.adversarial_scale}")
        if self.consistency < 0:
            raise UserError(f"{_option('consistency')} must be >= 0, got {self.consistency}")
        if self.distill_weight < 0:
            raise UserError(f"{_option('distill_weight')} must be >= 0, got {self.distill_weight}")
        if not self.distill_temperature > 0:
            raise UserError(f"{_option('distill_temperature')} must be > 0, got {self.distill_temperature}")
        if (self.adversarial_k or self.bandit) and not (self.tiaug or self.scene):
            raise UserError("--adversarial-k and --bandit choose among TiAug's draws: turn on --tiaug or --scene")
        try:
            settings = bandit_settings(self.bandit_kwargs)
        except ValueError as e:
            raise UserError(f"--bandit-arg: {e}") from None
        if self.bandit and settings.lag < PREFETCH_BATCHES * self.workers:
            raise UserError(
                f"--bandit-arg lag={settings.lag}: the {self.workers} workers prepare "
                f"{PREFETCH_BATCHES * self.workers} batches ahead; the lag must be at least that"
            )

    def _check_samcl_kwargs(self) -> None:
        """Refuse --samcl-arg keys that are not SAMCLLoss arguments, or that samcl-train sets, and bad values."""
        from samcl.losses.samcl_loss import SAMCLLoss  # torch loads when a run is configured, not for --help

        arguments = inspect.signature(SAMCLLoss).parameters
        for key in self.samcl_kwargs:
            if key in _SET_BY_TRAINING:
                raise UserError(f"--samcl-arg {key}: set by {_SET_BY_TRAINING[key]}, not by --samcl-arg")
            if key not in arguments:
                valid = sorted(set(arguments) - set(_SET_BY_TRAINING))
                raise UserError(f"--samcl-arg {key}: not a SAM-CL option; valid: {valid}")
        kwargs = self.loss_kwargs()
        samcl_settings(kwargs["preset"], **{k: v for k, v in kwargs.items() if k in SAMCL_SETTINGS})

    def chosen_strategy(self) -> str:
        """The learning strategy, with the ``samcl`` shorthand applied: no SAM-CL turns the default strategy off."""
        return "none" if self.strategy == "samcl" and not self.samcl else self.strategy

    def addon_names(self) -> list[str]:
        """The training add-ons of this configuration (:data:`samcl.training.addons.ADDONS`), in order."""
        attack = bool(self.adversarial_k or self.bandit)
        wanted = {"attack": attack, "consistency": self.consistency > 0}
        augmentation = [name for name, on in wanted.items() if on]  # they choose the batch the strategy trains on
        distill = ["distill"] if self.teacher else []
        strategy = self.chosen_strategy()
        return augmentation + distill + ([] if strategy == "none" else [strategy])

    def loss_kwargs(self) -> dict[str, Any]:
        """Arguments of the loss beyond its name (``build_loss``): SAM-CL's, or none for a plain base loss."""
        if not self.samcl:
            return {}
        warmup = {"warmup_steps": round(self.samcl_warmup * self.iters)} if self.samcl_warmup else {}
        return {"lam": self.samcl_lambda, "preset": self.samcl_preset, "seed": self.seed, **warmup, **self.samcl_kwargs}

    @classmethod
    def default(cls, name: str) -> Any:
        """The built-in default of option ``name`` (what ``--help`` shows)."""
        f = next(f for f in dataclasses.fields(cls) if f.name == name)
        return f.default_factory() if callable(f.default_factory) else f.default  # one of the two is set

    def as_dict(self) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(self).items()}


def read_config_file(path: str | Path) -> dict[str, Any]:
    """Options from a YAML (.yaml/.yml) or JSON file; unknown keys are refused with the list of valid ones."""
    path = Path(path)
    try:
        raw = read_config_data(path)  # bounded, without YAML aliases
    except (OSError, ConfigFileError) as e:
        raise ValueError(f"config {path}: cannot read it ({e})") from None
    if not isinstance(raw, dict):
        raise ValueError(f"config {path}: expected a mapping of option: value")
    known = {f.name for f in dataclasses.fields(TrainConfig)}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise ValueError(f"config {path}: unknown option(s) {unknown}; valid: {sorted(known)}")
    return raw


#: Command-line flag of each option that has one (filled by ``samcl-train``'s options), for messages.
FLAGS: dict[str, str] = {}


def _option(name: str) -> str:
    """How an option is named in messages: its config key, and its flag when it has one."""
    return f"{name} ({FLAGS[name]})" if name in FLAGS else f"config key {name!r}"


def _matches(value: Any, hint: Any) -> bool:
    """Whether a config value has the option's type (numbers finite; anything unusual is left unchecked)."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        return any(_matches(value, a) for a in args)
    if hint is type(None):
        return value is None
    if origin is typing.Literal:
        return value in args
    if hint is bool:
        return isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if hint is float:
        return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    if hint is str:
        return isinstance(value, str)
    if hint is dict or origin is dict:
        return isinstance(value, dict)
    if origin is tuple:
        return isinstance(value, tuple) and len(value) == len(args) and all(map(_matches, value, args))
    return True


def _describe(hint: Any) -> str:
    """The type of an option in words, for messages."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_describe(a) for a in args)
    if origin is typing.Literal:
        return "one of " + ", ".join(map(repr, args))
    if origin is tuple:
        return "a size HxW (e.g. 256x320 or [256, 320])"
    names = {bool: "true or false", int: "an integer", float: "a finite number", str: "text", dict: "a mapping"}
    return names.get(hint, names.get(origin, "null" if hint is type(None) else str(hint)))


def _as_size(value: Any) -> Any:
    """A crop given as "HxW" text or a [H, W] list, as a tuple (anything else is left for ``validate``)."""
    if isinstance(value, str):
        try:
            return parse_size(value)
        except ValueError as e:
            raise UserError(f"{_option('crop')}: {e}") from None
    return tuple(value) if isinstance(value, list | tuple) else value


def resolve_config(file_options: dict[str, Any] | None, flags: dict[str, Any]) -> TrainConfig:
    """Defaults, then the file's options, then every flag that was given (not None)."""
    given = {k: v for k, v in flags.items() if v is not None}
    merged = {**(file_options or {}), **given}
    if ("strategy" in given) != ("samcl" in given):  # a flag overrides the file's value of the other one as well
        merged.pop("samcl" if "strategy" in given else "strategy", None)
    if "strategy" in merged and "samcl" in merged and merged["samcl"] != (merged["strategy"] == "samcl"):
        shorthand = "--samcl" if merged["samcl"] else "--no-samcl"
        raise UserError(f"{shorthand} contradicts --strategy {merged['strategy']}: give one of them")
    if "crop" in merged:
        merged["crop"] = _as_size(merged["crop"])
    return TrainConfig(**merged).validate()
