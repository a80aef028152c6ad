"""Jensen-Shannon consistency between two views' predictions."""

from __future__ import annotations

import math

import pytest
import torch

from samcl.losses import JSConsistency, js_consistency, js_divergence_map
from tests.samcl.conftest import random_batch


def test_zero_for_one_prediction_and_positive_symmetric_bounded_otherwise():
    a, target = random_batch(seed=0)
    b, _ = random_batch(seed=1)
    assert js_consistency(a, a.clone()).item() == pytest.approx(0.0, abs=1e-6)
    ab, ba = js_consistency(a, b), js_consistency(b, a)
    assert ab.item() > 0.01 and ab.item() == pytest.approx(ba.item(), rel=1e-5)
    # opposite certain predictions reach the bound ln 2
    sure = torch.zeros(1, 2, 3, 3)
    sure[:, 0] = 50.0
    assert js_divergence_map(sure, sure.flip(1)).max().item() == pytest.approx(math.log(2.0), rel=1e-4)
    assert js_divergence_map(a, b).shape == target.shape


def test_ignored_pixels_do_not_count_and_gradients_reach_both_views():
    a, target = random_batch(seed=2, ignore_frac=0.3)
    b, _ = random_batch(seed=3)
    valid = target != 255
    expected = js_divergence_map(a, b)[valid].mean()
    assert js_consistency(a, b, target, 255).item() == pytest.approx(expected.item(), rel=1e-5)
    b_changed = b.clone()
    b_changed[~valid.unsqueeze(1).expand_as(b)] += 10.0  # only ignored pixels change
    assert JSConsistency(255)(a, b_changed, target).item() == pytest.approx(expected.item(), rel=1e-5)
    a.requires_grad_(True)
    b.requires_grad_(True)
    js_consistency(a, b).backward()
    assert a.grad.abs().sum() > 0 and b.grad.abs().sum() > 0


def test_refuses_maps_of_different_shapes():
    a, _ = random_batch(seed=0)
    with pytest.raises(ValueError, match="one shape"):
        js_consistency(a, a[:, :2])
