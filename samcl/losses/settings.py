"""SAM-CL's design choices, without dependencies: ``samcl-train --help`` shows them (and ``TrainConfig`` checks
them) without loading torch; :class:`~samcl.losses.samcl_loss.SAMCLLoss` takes them from here. See
:mod:`samcl.losses.samcl_loss` for what each choice means (the base losses' names:
:mod:`samcl.losses.base_losses`).
"""

from __future__ import annotations

import math
from typing import Any

#: The learning strategies of ``samcl-train --strategy`` (training add-ons, :data:`samcl.training.addons.ADDONS`),
#: with what each adds to the base loss; ``none`` trains the base loss alone.
STRATEGIES = {
    "samcl": "lambda * SAM-CL (self-adversarial multi-scale contrastive loss)",
    "contrastiveseg": "ContrastiveSeg's pixel contrast on a projection of the decoder features, with memory",
    "segan": "SegAN's multi-scale L1 of a critic on the image under each class map",
    "seggan": "SegGAN's reconstruction of the image from the prediction by a pre-trained generator, and its critic",
    "none": "nothing: the base loss alone",
}
DEFAULT_STRATEGY = "samcl"

DISTANCE_NORMS = ("none", "ratio")
TRIPLETS = ("batch", "image")
AUX_MODES = ("joint", "adversarial", "frozen")
LAMBDA_MODES = ("absolute", "relative")

#: Named settings of the design choices (see the module docstring); explicit arguments override a preset.
SAMCL_PRESETS: dict[str, dict[str, Any]] = {
    "poster": {
        "lam": 0.5,
        "margin": 1.0,
        "distance_norm": "none",
        "triplet": "batch",
        "warmup_steps": 0,
        "aux_mode": "joint",
        "lam_mode": "absolute",
    },
    "stable": {
        "lam": 0.1,  # relative: SAM-CL's gradient at the logits is 0.1 x the base loss's (benchmarks/README.md, 5)
        "margin": 0.2,
        "distance_norm": "ratio",
        "triplet": "image",
        "warmup_steps": 0,
        "aux_mode": "joint",
        "lam_mode": "relative",
    },
}
DEFAULT_PRESET = "stable"
#: What :func:`samcl_settings` resolves: the preset's keys (lambda among them) and the auxiliary network's
#: gradient scale.
SAMCL_SETTINGS = (*SAMCL_PRESETS[DEFAULT_PRESET], "aux_lr_scale")
_CHOICES = {"distance_norm": DISTANCE_NORMS, "triplet": TRIPLETS, "aux_mode": AUX_MODES, "lam_mode": LAMBDA_MODES}


def _non_negative(name: str, value: Any, integer: bool = False) -> float | int:
    """``value`` as a finite number >= 0 (an int with ``integer``); a ValueError naming the option otherwise."""
    try:
        number = float(value) if not isinstance(value, bool) else math.nan
    except (TypeError, ValueError):
        number = math.nan
    if not (math.isfinite(number) and number >= 0) or (integer and number != int(number)):
        kind = "an integer" if integer else "a finite number"
        raise ValueError(f"SAM-CL option {name} must be {kind} >= 0, got {value!r}")
    return int(number) if integer else number


def samcl_settings(preset: str = DEFAULT_PRESET, **options: Any) -> dict[str, Any]:
    """The checked values of SAM-CL's design choices: ``preset``'s, overridden by every option that is not None.

    Options: the keys of :data:`SAMCL_PRESETS` (lam, margin, distance_norm, triplet, warmup_steps, aux_mode,
    lam_mode) and ``aux_lr_scale`` (default 1). A bad value raises ValueError naming the option.
    """
    if preset not in SAMCL_PRESETS:
        raise ValueError(f"unknown SAM-CL preset {preset!r}; choose one of {sorted(SAMCL_PRESETS)}")
    unknown = sorted(set(options) - set(SAMCL_SETTINGS))
    if unknown:
        raise ValueError(f"unknown SAM-CL setting(s) {unknown}; valid: {list(SAMCL_SETTINGS)}")
    given = {k: v for k, v in options.items() if v is not None}
    settings = {"aux_lr_scale": 1.0, **SAMCL_PRESETS[preset], **given}
    for name, allowed in _CHOICES.items():
        if settings[name] not in allowed:
            raise ValueError(f"SAM-CL option {name} must be one of {list(allowed)}, got {settings[name]!r}")
    for name in ("lam", "aux_lr_scale", "margin"):
        settings[name] = _non_negative(name, settings[name])
    settings["warmup_steps"] = _non_negative("warmup_steps", settings["warmup_steps"], integer=True)
    return settings
