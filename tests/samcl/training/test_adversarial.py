"""Worst-of-K: the hardest candidate is the one chosen; scoring leaves the network as it was."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from samcl.losses.dice_ce import DiceCELoss
from samcl.training.adversarial import (
    candidate_losses,
    choose_candidates,
    per_sample_ce,
    per_sample_dice,
    per_sample_loss,
    scoring_size,
    take,
)
from samcl.training.config import TrainConfig
from tiaug.errors import UserError


class Toy(nn.Module):
    """Logits (background 0, face = the image's value) after a batch norm that only moves its statistics:
    with every label background, a candidate's loss grows with its pixel values."""

    def __init__(self) -> None:
        super().__init__()
        self.norm = nn.BatchNorm2d(1, affine=False)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        self.norm(images)  # updates the running statistics in training mode
        return torch.cat([torch.zeros_like(images), images], dim=1)


def _candidates(values: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Constant (B, K, 1, 4, 5) candidates of the given (B, K) values, all-background masks."""
    images = values[:, :, None, None, None].expand(-1, -1, 1, 4, 5).contiguous()
    return images, torch.zeros(values.shape[0], values.shape[1], 4, 5, dtype=torch.long)


def test_the_hardest_candidate_is_chosen_and_scoring_leaves_no_trace():
    values = torch.tensor([[0.0, 3.0, 1.0, -2.0], [5.0, -1.0, 2.0, 4.9], [1.0, 1.0, 0.0, 0.5]])
    images, masks = _candidates(values)
    model = Toy().train()
    before = [b.clone() for b in model.buffers()]
    losses = candidate_losses(model, images, masks, per_sample_ce, 255)
    assert losses.shape == (3, 4)
    assert torch.allclose(losses, torch.nn.functional.softplus(values))  # CE of logits (0, v) for class 0
    chosen = choose_candidates(losses)
    assert chosen.tolist() == [1, 0, 0]  # the largest value; the first on ties
    assert torch.equal(take(images, chosen)[:, 0, 0, 0], torch.tensor([3.0, 5.0, 1.0]))
    assert all(torch.equal(a, b) for a, b in zip(before, model.buffers(), strict=True))


def test_softmax_draws_are_seeded_and_follow_the_temperature():
    losses = torch.tensor([[0.0, 1.0, 2.0]]).expand(4000, -1)
    cold = choose_candidates(losses, temperature=0.01, seed=1, step=3)
    assert torch.equal(cold, torch.full((4000,), 2))
    warm = choose_candidates(losses, temperature=1.0, seed=1, step=3)
    assert torch.equal(warm, choose_candidates(losses, temperature=1.0, seed=1, step=3))
    assert not torch.equal(warm, choose_candidates(losses, temperature=1.0, seed=1, step=4))
    shares = torch.bincount(warm, minlength=3).double() / 4000
    expected = torch.softmax(torch.tensor([0.0, 1.0, 2.0], dtype=torch.double), 0)
    assert torch.allclose(shares, expected, atol=0.03)


def test_scaled_scoring_and_per_sample_losses():
    values = torch.tensor([[0.0, 2.0], [1.0, -1.0]])
    images, masks = _candidates(values)
    masks[:, :, 0, 0] = 255  # an ignored pixel changes nothing for constant images
    half = candidate_losses(Toy(), images, masks, per_sample_ce, 255, scale=0.5)
    assert torch.allclose(half, torch.nn.functional.softplus(values), atol=1e-6)
    logits = torch.cat([torch.zeros(2, 1, 4, 5), torch.tensor([-9.0, 9.0]).view(2, 1, 1, 1).expand(2, 1, 4, 5)], 1)
    dice = per_sample_dice(logits, torch.zeros(2, 4, 5, dtype=torch.long), 255)
    assert dice[0] < 0.05 and dice[1] > 0.9  # the second predicts the wrong class everywhere
    assert per_sample_loss("dice") is per_sample_dice and per_sample_loss("rmi") is per_sample_ce


class Strict(Toy):
    """:class:`Toy` that, as the registry's networks do, only takes sides that are multiples of 16, at least 32."""

    size_multiple = 16
    min_size = 32

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        assert images.shape[-2] % 16 == 0 and images.shape[-1] % 16 == 0 and min(images.shape[-2:]) >= 32
        return super().forward(images)


def test_scaled_scoring_keeps_sizes_the_network_accepts():
    strict = Strict()
    assert scoring_size((64, 80), 0.5, strict) == (32, 48)  # 32x40 rounded to multiples of 16 (ties up)
    assert scoring_size((64, 80), 0.25, strict) == (32, 32)  # never below min_size
    assert scoring_size((256, 320), 0.5, strict) == (128, 160)
    assert scoring_size((64, 80), 0.5, nn.Module()) == (32, 40)  # no constraint declared
    wrapped = nn.Module()
    wrapped.module = strict  # as DistributedDataParallel holds it
    assert scoring_size((64, 80), 0.5, wrapped) == (32, 48)
    values = torch.tensor([[0.0, 2.0], [1.0, -1.0]])
    images = values[:, :, None, None, None].expand(-1, -1, 1, 64, 80).contiguous()
    masks = torch.zeros(2, 2, 64, 80, dtype=torch.long)
    losses = candidate_losses(strict, images, masks, per_sample_ce, 255, scale=0.5)
    assert torch.allclose(losses, torch.nn.functional.softplus(values), atol=1e-6)


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"adversarial_k": 1}, "adversarial_k"),
        ({"adversarial_scale": 0.0}, "adversarial_scale"),
        ({"adversarial_temperature": -1.0}, "adversarial_temperature"),
        ({"consistency": -1.0}, "consistency"),
        ({"bandit": True, "workers": 8}, "lag"),
        ({"bandit_kwargs": {"nope": 1}}, "bandit-arg"),
        ({"adversarial_k": 2, "tiaug": False, "scene": False}, "--tiaug"),
    ],
)
def test_bad_attack_settings_are_refused(changes, words):
    with pytest.raises(UserError, match=words):
        TrainConfig(data="a.h5", val="b.h5", out="run", **changes).validate()


def test_the_attack_chooses_the_batch_the_other_add_ons_train_on():
    config = TrainConfig(adversarial_k=4, consistency=1.0, samcl=True)
    assert config.addon_names() == ["attack", "consistency", "samcl"]
    assert TrainConfig(bandit=True, samcl=False).addon_names() == ["attack"]
    assert TrainConfig(samcl=False).addon_names() == []


def test_dice_ce_candidates_are_scored_by_the_training_loss_of_each_image():
    generator = torch.Generator().manual_seed(0)
    logits = torch.randn(3, 4, 6, 5, generator=generator)
    target = torch.randint(0, 4, (3, 6, 5), generator=generator)
    target[0, :2] = 255
    scores = per_sample_loss("dice_ce")(logits, target, 255)
    loss = DiceCELoss(ignore_index=255)
    expected = torch.stack([loss(logits[i : i + 1], target[i : i + 1]) for i in range(3)])
    assert torch.allclose(scores, expected, atol=1e-5)
