"""Dice + CE (``--loss dice_ce``) on hand-computed small cases."""

from __future__ import annotations

import math

import pytest
import torch

from samcl.losses import DiceCELoss, build_loss


def test_uniform_prediction_on_two_pixels():
    """Logits 0: softmax 0.5 everywhere. CE = ln 2; per class Dice = (2 * 0.5 + 1) / (1 + 1 + 1) = 2/3."""
    logits = torch.zeros(1, 2, 1, 2)
    target = torch.tensor([[[0, 1]]])
    assert float(DiceCELoss()(logits, target)) == pytest.approx(1 / 3 + math.log(2), abs=1e-6)
    weighted = DiceCELoss(dice_weight=2.0, ce_weight=0.5)
    assert float(weighted(logits, target)) == pytest.approx(2 / 3 + 0.5 * math.log(2), abs=1e-6)


def test_ignored_pixels_count_in_neither_term():
    logits = torch.zeros(1, 2, 1, 3)
    logits[0, 0, 0, 2] = 9.0  # a confident prediction on the ignored pixel changes nothing
    target = torch.tensor([[[0, 1, 255]]])
    assert float(DiceCELoss(ignore_index=255)(logits, target)) == pytest.approx(1 / 3 + math.log(2), abs=1e-6)


def test_by_name_and_gradient_reaches_every_logit_of_a_class_never_predicted():
    loss = build_loss("dice_ce", 3)
    logits = torch.zeros(1, 3, 2, 2)
    logits[:, 2] = -20.0  # class 2 is never predicted
    logits.requires_grad_(True)
    target = torch.tensor([[[0, 1], [2, 2]]])
    loss(logits, target).backward()
    assert isinstance(loss, DiceCELoss)
    assert (logits.grad[0, 2, 1] < 0).all()  # raising class 2's logits where it is labelled lowers the loss
