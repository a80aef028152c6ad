"""The bandit over TiAug's discrete choices: weights follow the losses, draws are seeded, state round-trips."""

from __future__ import annotations

import numpy as np
import pytest

from samcl.training.bandit import (
    FACTORS,
    LossBandit,
    active_factors,
    arm_overrides,
    weight_columns,
)
from samcl.training.bandit_settings import BanditSettings, bandit_settings
from samcl.training.config import TrainConfig


def _toy_losses(arms: np.ndarray, lossy: int) -> np.ndarray:
    """Per-sample losses: 2 where factor 0's arm is ``lossy``, 1 elsewhere."""
    return np.where(arms[:, 0] == lossy, 2.0, 1.0)


@pytest.mark.parametrize("lossy", [0, 2])
def test_weights_move_toward_the_lossier_arm(lossy):
    bandit = LossBandit((3, 2), BanditSettings(lag=0))
    start = bandit.weights()
    assert np.allclose(start, [1 / 3] * 3 + [1 / 2] * 2)
    for step in range(60):
        arms = np.stack([bandit.draw(step, 0, step * 8 + i)[0] for i in range(8)])
        bandit.update(step + 1, arms, _toy_losses(arms, lossy))
    first, second = bandit.factor_weights(bandit.weights())
    assert first.argmax() == lossy and first[lossy] > 0.6
    assert first.min() >= bandit.settings.floor / 3 - 1e-12  # exploration never stops
    assert abs(second[0] - second[1]) < 0.1  # the other factor's arms lose alike: it stays near uniform
    assert np.isclose(first.sum(), 1.0) and np.isclose(second.sum(), 1.0)


def test_unapplied_arms_and_scale_of_the_losses_do_not_move_the_weights():
    bandit, scaled = LossBandit((2,)), LossBandit((2,))
    arms = np.array([[0], [1], [-1], [-1]])
    bandit.update(1, arms, np.array([1.0, 1.0, 9.0, 9.0]))  # the lossy samples had no occluder
    assert np.allclose(bandit.factor_weights(bandit.weights())[0], [0.5, 0.5])
    bandit.update(2, arms, np.array([3.0, 1.0, 2.0, 2.0]))
    scaled.update(1, arms, np.array([1.0, 1.0, 9.0, 9.0]))
    scaled.update(2, arms, 100 * np.array([3.0, 1.0, 2.0, 2.0]))  # the network's progress rescales every loss
    assert np.allclose(bandit.weights(), scaled.weights())
    assert bandit.weights()[0] > bandit.weights()[1]


def test_draws_are_seeded_lagged_and_resumable():
    settings = BanditSettings(lag=3)
    bandit = LossBandit((3, 3), settings)
    for step in range(1, 8):
        bandit.update(step, np.array([[step % 3, 0], [0, 1]]), np.array([2.0, 1.0]))
    assert np.array_equal(bandit.weights_for(9), bandit.history[6])  # step 9's batch: the weights after step 6
    with pytest.raises(RuntimeError, match="lag"):
        bandit.weights_for(12)  # step 9 has not been trained: the loader ran too far ahead
    draws = bandit.draw(8, seed=5, sample=123, candidates=4)
    assert draws.shape == (4, 2) and np.array_equal(draws, bandit.draw(8, seed=5, sample=123, candidates=4))
    assert not all(np.array_equal(draws, bandit.draw(8, seed=5, sample=s, candidates=4)) for s in range(124, 130))
    resumed = LossBandit((3, 3), settings)
    resumed.load_state_dict(bandit.state_dict())
    assert np.array_equal(resumed.draw(8, 5, 123, 4), draws) and np.array_equal(resumed.weights(), bandit.weights())
    with pytest.raises(ValueError, match="arms"):
        LossBandit((2,)).load_state_dict(bandit.state_dict())


def test_arms_set_the_transform_arguments_and_bins_split_the_configured_range():
    config = TrainConfig(occlusion={"size_range": (0.1, 0.4)})
    factors = active_factors(config)
    assert [f.name for f in factors] == [f.name for f in FACTORS]
    by_name = {f.name: i for i, f in enumerate(factors)}
    arms = [0] * len(factors)
    arms[by_name["configuration"]], arms[by_name["size"]], arms[by_name["room"]] = 1, 2, 2
    steps = arm_overrides(factors, arms, config)
    assert steps["occlusion"]["configurations"] == {"dual": 1.0}
    assert steps["occlusion"]["temperature_relation"] == "lower"
    assert np.allclose(steps["occlusion"]["size_range"], (0.3, 0.4))
    assert np.allclose(steps["ambient"]["ambient_range"], (100 / 3, 50.0))  # AmbientConfig's default, top third
    assert np.allclose(steps["drift"]["offset_range"], (-3.0, 0.0))
    assert config.occlusion == {"size_range": (0.1, 0.4)}  # the configuration is not modified
    assert len(weight_columns(factors)) == sum(len(f.arms) for f in factors)
    assert active_factors(TrainConfig(scene=False, tiaug=True))[-1].name == "size"


@pytest.mark.parametrize("bad", [{"temperature": 0}, {"floor": 1.5}, {"decay": 0}, {"lag": -1}, {"nope": 1}])
def test_bad_settings_are_refused(bad):
    with pytest.raises(ValueError, match=next(iter(bad))):
        bandit_settings(bad)


def test_curves_show_the_bandit_weights_relative_to_uniform():
    from samcl.training.plots import training_curves_figure

    factors = active_factors(TrainConfig())
    columns = ["iteration", "loss", "base_loss", "attack_gain", *weight_columns(factors)]
    bandit = LossBandit([len(f.arms) for f in factors])
    rows = []
    for step in range(1, 4):
        bandit.update(step, np.zeros((2, len(factors)), dtype=int), np.array([2.0, 1.0]))
        rows.append(dict(zip(columns, [step, 1.0, 1.0, 0.1, *bandit.weights()], strict=True)))
    rows = [{k: str(v) for k, v in row.items()} for row in rows]
    titles = {ax.get_title(): ax for ax in training_curves_figure(columns, rows).axes}
    panel = titles["What the network found hard (bandit weights)"]
    lines = [line for line in panel.get_lines() if line.get_label().startswith("configuration")]
    assert len(panel.get_lines()) == len(columns) - 4 + 1  # one per arm and the uniform line
    assert [line.get_label() for line in lines] == [f"configuration: {arm}" for arm in factors[0].arms]
    assert np.allclose(sum(line.get_ydata() for line in lines), 3.0)  # weights x arms: uniform is 1
    assert "Worst-of-K: trained draw vs draw 0" in titles
