"""Per-pixel knowledge distillation: the KL divergence of the student's softened prediction from the teacher's."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from samcl.losses import KDLoss, kd_divergence_map, kd_loss, labelled_mean
from tests.helpers.tensors import random_batch


def test_zero_for_the_teacher_itself_and_torch_s_kl_otherwise():
    student, target = random_batch(seed=0)
    teacher, _ = random_batch(seed=1)
    assert kd_loss(teacher.clone(), teacher).item() == pytest.approx(0.0, abs=1e-6)
    for temperature in (1.0, 3.0):
        expected = F.kl_div(
            F.log_softmax(student / temperature, 1),
            F.log_softmax(teacher / temperature, 1),
            log_target=True,
            reduction="none",
        ).sum(1)
        got = kd_divergence_map(student, teacher, temperature)
        assert got.shape == target.shape
        torch.testing.assert_close(got, temperature**2 * expected)
    assert kd_loss(student, teacher).item() > 0.01


def test_ignored_pixels_do_not_count_and_no_gradient_reaches_the_teacher():
    student, target = random_batch(seed=2, ignore_frac=0.3)
    teacher, _ = random_batch(seed=3)
    valid = target != 255
    expected = kd_divergence_map(student, teacher)[valid].mean()
    assert KDLoss(ignore_index=255)(student, teacher, target).item() == pytest.approx(expected.item(), rel=1e-5)
    assert labelled_mean(torch.ones(2, 3, 3), torch.full((2, 3, 3), 255), 255).item() == 0.0  # nothing counts
    student.requires_grad_(True)
    teacher.requires_grad_(True)
    kd_loss(student, teacher, target, 2.0, 255).backward()
    assert student.grad is not None and student.grad.abs().sum() > 0
    assert teacher.grad is None


def test_refuses_maps_of_two_shapes_and_a_temperature_that_is_not_positive():
    a, _ = random_batch(seed=4)
    with pytest.raises(ValueError, match="one shape"):
        kd_loss(a, a[:, :-1])
    with pytest.raises(ValueError, match="temperature"):
        kd_loss(a, a, temperature=0.0)
