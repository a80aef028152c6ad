"""A bandit over TiAug's discrete choices: the augmentation drifts toward what the network currently fails on.

Each :class:`Factor` is one discrete choice of the augmentation (the occluders' configuration, their
temperature relative to the face, their size bin, the room's temperature bin, the camera drift's direction),
steered through the transforms' own arguments (no sampling internals are touched). A sample's arms are drawn
in the main process from the factor's weights and travel to the DataLoader workers with the sample's index;
the worker reports which steered transforms it applied. After each step, every applied arm is credited with its
samples' losses relative to the batch's mean loss (so the network's progress does not move the weights), as an
exponential moving average per arm; an arm's weight is a softmax of that relative loss over the factor's arms
(``temperature``) mixed with a uniform ``floor`` (exploration), so no choice is ever dropped.

Determinism: the DataLoader asks for batches ahead of training, so the batch of step ``t`` is drawn from the
weights the bandit had after step ``t - lag`` (kept in a short history that goes into the checkpoints), and the
arms of global sample ``k`` from a generator seeded by ``(seed, k)``: a run and its resumption see the same
arms whatever the number of workers, as long as they do not run more than ``lag`` steps ahead.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from samcl.training.bandit_settings import BanditSettings
from tiaug.functional.occlusion import CONFIGURATIONS, OcclusionConfig
from tiaug.functional.scene import AmbientConfig, DriftConfig

Arguments = Callable[[int, int, dict[str, Any]], dict[str, Any]]  # (arm, arms, configured arguments) -> overrides
BANDIT_STREAM = 7  # SeedSequence entropy word that keeps the bandit's draws apart from the augmentation's


@dataclass(frozen=True)
class Steered:
    """A transform the bandit steers: the TrainConfig flag that turns it on (``switch``), the TrainConfig field
    holding its arguments (``step``) and its class name (``transform``, to tell whether it was applied)."""

    switch: str
    step: str
    transform: str


OCCLUSION = Steered("tiaug", "occlusion", "TiAugOcclusion")
AMBIENT = Steered("scene", "ambient", "AmbientTemperature")
DRIFT = Steered("scene", "drift", "CameraDrift")


@dataclass(frozen=True)
class Factor:
    """One discrete choice of the augmentation that the bandit steers: its arms and what an arm sets."""

    name: str
    steered: Steered
    arms: tuple[str, ...]
    arguments: Arguments

    def overrides(self, arm: int, configured: dict[str, Any]) -> dict[str, Any]:
        """The transform arguments arm ``arm`` sets on top of the ``configured`` ones."""
        return self.arguments(arm, len(self.arms), configured)


def _choice(field: str, values: Sequence[Any]) -> Arguments:
    """An arm sets ``field`` to its own value."""
    return lambda arm, arms, configured: {field: values[arm]}


def _bins(field: str, default: tuple[float, float]) -> Arguments:
    """An arm sets the range ``field`` to its equal part of the configured range (or of the default)."""

    def arguments(arm: int, arms: int, configured: dict[str, Any]) -> dict[str, Any]:
        low, high = configured.get(field, default)
        width = (high - low) / arms
        return {field: (low + arm * width, low + (arm + 1) * width)}

    return arguments


_ONE_CONFIGURATION = [{name: 1.0} for name in CONFIGURATIONS]
_RELATIONS = ("lower", "higher")
FACTORS: tuple[Factor, ...] = (
    Factor("configuration", OCCLUSION, CONFIGURATIONS, _choice("configurations", _ONE_CONFIGURATION)),
    Factor("relation", OCCLUSION, _RELATIONS, _choice("temperature_relation", _RELATIONS)),
    Factor("size", OCCLUSION, ("small", "medium", "large"), _bins("size_range", OcclusionConfig.size_range)),
    Factor("room", AMBIENT, ("cold", "mild", "hot"), _bins("ambient_range", AmbientConfig.ambient_range)),
    Factor("drift", DRIFT, ("cooler", "warmer"), _bins("offset_range", DriftConfig.offset_range)),
)


def active_factors(config: Any) -> tuple[Factor, ...]:
    """The factors whose transform ``config`` (a TrainConfig) turns on."""
    return tuple(f for f in FACTORS if getattr(config, f.steered.switch))


def arm_overrides(factors: Sequence[Factor], arms: Sequence[int], config: Any) -> dict[str, dict[str, Any]]:
    """TrainConfig fields (transform arguments) that apply ``arms`` (one index per factor) on top of ``config``."""
    steps: dict[str, dict[str, Any]] = {}
    for factor, arm in zip(factors, arms, strict=True):
        step = factor.steered.step
        configured = steps.setdefault(step, dict(getattr(config, step)))
        configured.update(factor.overrides(int(arm), configured))
    return steps


def weight_columns(factors: Sequence[Factor]) -> list[str]:
    """metrics.csv columns of the arms' weights: ``bandit_<factor>_<arm>``."""
    return [f"bandit_{f.name}_{arm}" for f in factors for arm in f.arms]


class LossBandit:
    """Per-factor arm weights that follow each arm's loss relative to the batch (see the module docstring).

    ``sizes``: the number of arms of each factor. Losses and arms of a step go in through :meth:`totals` (per
    process) and :meth:`apply` (the totals summed over the processes), or :meth:`update` for one process.
    """

    def __init__(self, sizes: Sequence[int], settings: BanditSettings | None = None) -> None:
        self.sizes = tuple(int(n) for n in sizes)
        self.settings = settings or BanditSettings()
        self.relative = np.ones(sum(self.sizes))  # moving average of each arm's loss / its batch's mean loss
        self.history: dict[int, np.ndarray] = {0: self.weights()}  # steps trained -> weights after them

    def _groups(self) -> list[slice]:
        ends = np.cumsum(self.sizes)
        return [slice(int(end - n), int(end)) for end, n in zip(ends, self.sizes, strict=True)]

    def weights(self) -> np.ndarray:
        """All arms' weights, factor after factor (each factor's sum to 1), float64."""
        out = np.empty_like(self.relative)
        temperature, floor = self.settings.temperature, self.settings.floor
        for group in self._groups():
            logits = self.relative[group] / temperature
            soft = np.exp(logits - logits.max())
            out[group] = (1.0 - floor) * soft / soft.sum() + floor / (group.stop - group.start)
        return out

    def factor_weights(self, weights: np.ndarray) -> list[np.ndarray]:
        """``weights`` split by factor."""
        return [weights[group] for group in self._groups()]

    def totals(self, arms: np.ndarray, losses: np.ndarray) -> np.ndarray:
        """(2, arms) sums of relative loss and sample counts of one step: ``arms`` (N, factors) int (-1: the
        factor's transform was not applied to that sample), ``losses`` (N,) per-sample losses."""
        arms, losses = np.asarray(arms, dtype=np.int64), np.asarray(losses, dtype=np.float64)
        out = np.zeros((2, self.relative.size))
        mean = losses.mean() if losses.size else 0.0
        if not mean > 0 or not np.isfinite(mean):
            return out
        relative = losses / mean
        for column, group in enumerate(self._groups()):
            chosen = arms[:, column]
            applied = chosen >= 0
            np.add.at(out[0], group.start + chosen[applied], relative[applied])
            np.add.at(out[1], group.start + chosen[applied], 1.0)
        return out

    def apply(self, step: int, totals: np.ndarray) -> None:
        """Fold a step's (summed) totals into the moving averages; record the weights after ``step`` steps."""
        seen = totals[1] > 0
        decay = self.settings.decay
        self.relative[seen] += decay * (totals[0][seen] / totals[1][seen] - self.relative[seen])
        self.history[int(step)] = self.weights()
        for old in [s for s in self.history if s < step - self.settings.lag]:
            del self.history[old]

    def update(self, step: int, arms: np.ndarray, losses: np.ndarray) -> None:
        """:meth:`totals` then :meth:`apply`, for a single process."""
        self.apply(step, self.totals(arms, losses))

    def weights_for(self, step: int) -> np.ndarray:
        """The weights the batch of step ``step`` (0-based) is drawn with: those after ``step - lag`` steps."""
        source = max(0, int(step) - self.settings.lag)
        if source not in self.history:
            raise RuntimeError(
                f"the bandit's weights after step {source} are not known when step {step}'s batch is drawn: the "
                f"DataLoader prepares batches more than lag={self.settings.lag} steps ahead; raise --bandit-arg lag"
            )
        return self.history[source]

    def draw(self, step: int, seed: int, sample: int, candidates: int = 1) -> np.ndarray:
        """(candidates, factors) arm indices of global sample ``sample``, from the weights of step ``step``."""
        rng = np.random.default_rng(np.random.SeedSequence([int(seed), BANDIT_STREAM, int(sample)]))
        uniforms = rng.random((candidates, len(self.sizes)))
        out = np.empty(uniforms.shape, dtype=np.int64)
        for column, weights in enumerate(self.factor_weights(self.weights_for(step))):
            edges = np.cumsum(weights)
            out[:, column] = np.minimum(
                np.searchsorted(edges, uniforms[:, column] * edges[-1], side="right"), weights.size - 1
            )
        return out

    def state_dict(self) -> dict[str, Any]:
        """Plain data (lists of floats) for a checkpoint."""
        return {
            "relative": self.relative.tolist(),
            "history": {str(step): w.tolist() for step, w in self.history.items()},
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        relative = np.asarray(state["relative"], dtype=np.float64)
        if relative.shape != self.relative.shape:
            raise ValueError(f"bandit state for {relative.size} arms, this run has {self.relative.size}")
        self.relative = relative
        self.history = {int(step): np.asarray(w, dtype=np.float64) for step, w in state["history"].items()}
