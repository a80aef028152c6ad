import math

import pytest
import torch
import torch.nn.functional as F

from samcl.losses import DiceLoss, SAMCLLoss, build_loss
from tests.helpers.tensors import random_batch

C = 4
SIGMA = torch.tensor([[1, 2, 3, 0], [3, 0, 1, 2]])


def _confident(labels, c=C, scale=30.0):
    safe = torch.where(labels == 255, 0, labels)
    return scale * F.one_hot(safe, c).permute(0, 3, 1, 2).float()


def _swap(labels, sigma=SIGMA):
    safe = torch.where(labels == 255, 0, labels)
    out = torch.gather(sigma, 1, safe.reshape(labels.shape[0], -1)).reshape_as(labels)
    return torch.where(labels == 255, labels, out)


@pytest.mark.parametrize("d0", ["rmi", "dice", "ce"])
@pytest.mark.parametrize("feat", ["mse", "l1", "cosine"])
def test_zero_for_ground_truth_far_from_swap_positive_otherwise(d0, feat):
    _, target = random_batch(2, C, 30, 36, ignore_frac=0.1, seed=1)
    loss = SAMCLLoss(C, preset="poster", base_loss=None, seg_distance=d0, feat_distance=feat, margin=0.0, seed=0)
    parts = loss.parts(_confident(target), target, derangement=SIGMA)
    gap = parts["d_neg"] - parts["d_pos"]
    # prediction = ground truth: strictly closer to Y+ than to Y- at every scale
    assert torch.all(gap > 0), parts
    # with a margin smaller than every gap the hinge is inactive: the loss is exactly zero
    loss.margin = 0.9 * gap.min().item()
    parts = loss.parts(_confident(target), target, derangement=SIGMA)
    assert parts["samcl"].item() == 0.0 and parts["loss"].item() == 0.0
    # the same margin, prediction = the class-swapped map: positive
    assert loss.parts(_confident(_swap(target)), target, derangement=SIGMA)["loss"].item() > 0
    # and a random prediction with the default margin: positive
    loss.margin = 1.0
    logits, _ = random_batch(2, C, 30, 36, seed=2)
    assert loss.parts(logits, target, derangement=SIGMA)["loss"].item() > 0


def test_total_is_base_plus_lambda_times_samcl():
    logits, target = random_batch(2, C, 24, 24, seed=3)
    loss = SAMCLLoss(C, preset="poster", base_loss="dice", lam=0.3, seed=0)
    parts = loss.parts(logits, target)
    assert parts["base_loss"].item() == pytest.approx(DiceLoss()(logits, target).item(), rel=1e-6)
    assert parts["loss"].item() == pytest.approx((parts["base_loss"] + 0.3 * parts["samcl"]).item(), rel=1e-6)
    assert parts["samcl"].item() == pytest.approx(parts["per_scale"].sum().item(), rel=1e-6)
    weighted = SAMCLLoss(C, preset="poster", base_loss=None, scale_weights=[1, 0, 2, 0], seed=0)
    p2 = weighted.parts(logits, target, derangement=parts["derangement"])
    want = p2["per_scale"][0] + 2 * p2["per_scale"][2]
    assert p2["samcl"].item() == pytest.approx(want.item(), rel=1e-6)


def test_gradients_reach_logits_and_auxiliary_network():
    logits, target = random_batch(2, C, 32, 32, seed=4)
    logits.requires_grad_()
    loss = SAMCLLoss(C, preset="poster", base_loss=None, seed=0)
    loss(logits, target).backward()
    assert logits.grad is not None and logits.grad.abs().sum() > 0
    for name, p in loss.aux.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name


@pytest.mark.parametrize("d0", ["rmi", "dice", "ce"])
@pytest.mark.parametrize("norm", ["instance", "group", "batch", "none"])
def test_fast_path_equals_map_based_path(d0, norm):
    logits, target = random_batch(2, C, 33, 40, ignore_frac=0.15, seed=5)
    loss = SAMCLLoss(C, preset="poster", base_loss="ce", seg_distance=d0, aux_norm=norm, seed=0).double()
    x = logits.double().requires_grad_()
    fast = loss.parts(x, target, derangement=SIGMA)
    g_fast = torch.autograd.grad(fast["loss"], [x, *loss.parameters()])
    loss.fast_path = False
    slow = loss.parts(x, target, derangement=SIGMA)
    g_slow = torch.autograd.grad(slow["loss"], [x, *loss.parameters()])
    for key in ("d_pos", "d_neg", "loss"):
        assert torch.allclose(fast[key], slow[key], rtol=1e-7, atol=1e-9), key
    for a, b in zip(g_fast, g_slow, strict=True):
        assert torch.allclose(a, b, rtol=1e-6, atol=1e-9)


def test_ignored_pixels_excluded_everywhere():
    logits, target = random_batch(2, C, 30, 30, ignore_frac=0.3, seed=6)
    loss = SAMCLLoss(C, preset="poster", seed=0)
    ignored = (target == 255).unsqueeze(1).expand_as(logits)
    other = logits.clone()
    other[ignored] = 25.0
    a = loss.parts(logits, target, derangement=SIGMA)
    b = loss.parts(other, target, derangement=SIGMA)
    for key in ("loss", "d_pos", "d_neg"):
        assert torch.allclose(a[key], b[key], rtol=1e-5, atol=1e-6), key
    x = logits.clone().requires_grad_()
    loss.parts(x, target, derangement=SIGMA)["loss"].backward()
    assert torch.all(x.grad[ignored] == 0)
    nothing = torch.full_like(target, 255)
    x = logits.clone().requires_grad_()
    parts = loss.parts(x, nothing)
    assert parts["samcl"].item() == 0.0
    parts["loss"].backward()
    assert torch.all(x.grad == 0)


def test_seeded_loss_is_reproducible_and_generator_can_be_passed():
    logits, target = random_batch(2, C, 20, 20, seed=7)
    a = SAMCLLoss(C, preset="poster", seed=11).parts(logits, target)
    b = SAMCLLoss(C, preset="poster", seed=11).parts(logits, target)
    assert torch.equal(a["derangement"], b["derangement"])
    assert a["loss"].item() == b["loss"].item()
    g1, g2 = torch.Generator().manual_seed(3), torch.Generator().manual_seed(3)
    loss = SAMCLLoss(C, preset="poster", seed=0)
    p1 = loss.parts(logits, target, generator=g1)["derangement"]
    p2 = loss.parts(logits, target, generator=g2)["derangement"]
    assert torch.equal(p1, p2)
    assert not (p1 == torch.arange(C)).any()


def test_wrong_class_count_and_bad_options_are_refused():
    loss = SAMCLLoss(C)
    with pytest.raises(ValueError, match="built for 4 classes"):
        loss(torch.randn(1, 3, 16, 16), torch.zeros(1, 16, 16, dtype=torch.long))
    with pytest.raises(ValueError, match="at least 2 classes"):
        loss(torch.randn(1, 1, 16, 16), torch.zeros(1, 16, 16, dtype=torch.long))
    with pytest.raises(ValueError, match="scale_weights"):
        SAMCLLoss(C, preset="poster", scale_weights=[1, 2])
    with pytest.raises(ValueError, match="scale-0 distance"):
        SAMCLLoss(C, preset="poster", seg_distance="l2")
    with pytest.raises(ValueError, match="feature distance"):
        SAMCLLoss(C, preset="poster", feat_distance="rmi")


@pytest.mark.parametrize("num_scales", [1, 2, 3, 4])
def test_number_of_scales(num_scales):
    logits, target = random_batch(1, C, 24, 24, seed=8)
    parts = SAMCLLoss(C, preset="poster", num_scales=num_scales, seed=0).parts(logits, target)
    assert parts["per_scale"].shape == (num_scales,)
    aux = SAMCLLoss(C, preset="poster", num_scales=num_scales).aux
    assert len(aux.blocks) == num_scales - 1
    assert (sum(p.numel() for p in aux.parameters()) == 0) == (num_scales == 1)


def test_extreme_logits_give_finite_gradients_and_bf16_autocast_runs():
    _, target = random_batch(2, C, 27, 27, seed=9)
    for d0 in ("rmi", "dice", "ce"):
        x = (_confident(target, scale=200.0) - 100).requires_grad_()
        loss = build_loss("rmi+samcl", C, seg_distance=d0, seed=0)
        loss(x, target).backward()
        assert torch.isfinite(x.grad).all(), d0
        with torch.autocast("cpu", dtype=torch.bfloat16):
            out = loss(x.detach().bfloat16(), target)
        assert math.isfinite(out.item())
