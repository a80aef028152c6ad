"""Settings of the loss-following bandit (:mod:`samcl.training.bandit`), light enough for ``--help``."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class BanditSettings:
    """How the weights follow the losses (``--bandit-arg KEY=VALUE``).

    Attributes:
        temperature: softmax temperature on the arms' relative losses (1.0 = the batch's mean loss); 0.1 gives
            an arm 10 % lossier than another e (2.7) times its weight.
        floor: share of every factor's weight spread uniformly over its arms, in [0, 1].
        decay: weight of a step's credit in an arm's moving average, in (0, 1].
        lag: steps between a weight update and the batches drawn with it; at least the batches the DataLoader
            prepares ahead (4 per worker).
    """

    temperature: float = 0.1
    floor: float = 0.2
    decay: float = 0.05
    lag: int = 16

    def __post_init__(self) -> None:
        if not (isinstance(self.temperature, int | float) and 0 < self.temperature < math.inf):
            raise ValueError(f"temperature must be a finite number > 0, got {self.temperature!r}")
        if not (isinstance(self.floor, int | float) and 0 <= self.floor <= 1):
            raise ValueError(f"floor must be in [0, 1], got {self.floor!r}")
        if not (isinstance(self.decay, int | float) and 0 < self.decay <= 1):
            raise ValueError(f"decay must be in (0, 1], got {self.decay!r}")
        if not (isinstance(self.lag, int) and not isinstance(self.lag, bool) and self.lag >= 0):
            raise ValueError(f"lag must be an integer >= 0, got {self.lag!r}")


def bandit_settings(kwargs: dict[str, Any]) -> BanditSettings:
    """:class:`BanditSettings` from ``--bandit-arg`` pairs; unknown keys are refused with the valid ones."""
    known = [f.name for f in dataclasses.fields(BanditSettings)]
    unknown = sorted(set(kwargs) - set(known))
    if unknown:
        raise ValueError(f"unknown bandit setting(s) {unknown}; valid: {known}")
    return BanditSettings(**kwargs)


def shown_defaults() -> str:
    """The default settings as KEY=VALUE pairs (what ``--help`` shows)."""
    return " ".join(f"{f.name}={f.default}" for f in dataclasses.fields(BanditSettings))
