import itertools
import math

import pytest
import torch
import torch.nn.functional as F

from samcl.losses import CrossEntropyLoss, DiceLoss, RMILoss, available_losses, build_loss

from .conftest import random_batch

BASES = {"ce": CrossEntropyLoss, "dice": DiceLoss, "rmi": RMILoss}


def _path_logits(target, c, t, seed=0):
    """Logits on the segment from a random prediction (t = 0) to a confident correct one (t = 1)."""
    g = torch.Generator().manual_seed(seed)
    start = torch.randn(target.shape[0], c, *target.shape[1:], generator=g) * 2
    safe = torch.where(target == 255, 0, target)
    goal = 8.0 * F.one_hot(safe, c).permute(0, 3, 1, 2).float() - 4.0
    return (1 - t) * start + t * goal


@pytest.mark.parametrize("name", sorted(BASES))
def test_each_base_loss_decreases_as_prediction_moves_toward_target(name):
    _, target = random_batch(2, 4, 24, 30, ignore_frac=0.1, seed=3)
    loss = build_loss(name, 4)
    values = [loss(_path_logits(target, 4, t), target).item() for t in torch.linspace(0, 1, 6)]
    assert all(b < a for a, b in itertools.pairwise(values)), values


def test_cross_entropy_matches_torch_and_ignores_pixels():
    logits, target = random_batch(2, 5, 16, 16, ignore_frac=0.2, seed=1)
    want = F.cross_entropy(logits, target, ignore_index=255)
    assert CrossEntropyLoss()(logits, target).item() == pytest.approx(float(want), rel=1e-6)
    all_ignored = torch.full_like(target, 255)
    assert CrossEntropyLoss()(logits, all_ignored).item() == 0.0


def test_dice_hand_case():
    """C=2, 1x4 image, labels [0, 0, 1, 255]; prediction (softmax) p1 = [0.5, 0.5, 0.5, *].

    Valid pixels 0..2. Class 0: inter = 0.5 + 0.5 = 1, sum p = 1.5, count 2
    -> (2*1 + 1)/(1.5 + 2 + 1) = 3/4.5.
    Class 1: inter = 0.5, sum p = 1.5, count 1 -> (1 + 1)/(1.5 + 1 + 1) = 2/3.5. Loss = 1 - mean.
    """
    logits = torch.zeros(1, 2, 1, 4)
    logits[0, :, 0, 3] = torch.tensor([9.0, -9.0])  # ignored pixel: any value
    target = torch.tensor([[[0, 0, 1, 255]]])
    want = 1 - 0.5 * (3 / 4.5 + 2 / 3.5)
    assert DiceLoss()(logits, target).item() == pytest.approx(want, rel=1e-6)


@pytest.mark.parametrize("name", sorted(BASES))
def test_ignored_pixels_do_not_matter(name):
    logits, target = random_batch(2, 3, 21, 21, ignore_frac=0.25, seed=4)
    other = logits.clone()
    other[(target == 255).unsqueeze(1).expand_as(other)] = -30.0
    loss = build_loss(name, 3)
    assert loss(logits, target).item() == pytest.approx(loss(other, target).item(), rel=1e-6, abs=1e-7)
    x = logits.clone().requires_grad_()
    loss(x, target).backward()
    assert torch.all(x.grad[(target == 255).unsqueeze(1).expand_as(x)] == 0)


@pytest.mark.parametrize("name", sorted(BASES))
def test_bad_inputs_are_refused(name):
    loss = build_loss(name, 3)
    with pytest.raises(ValueError, match="target shape"):
        loss(torch.randn(1, 3, 8, 8), torch.zeros(1, 8, 9, dtype=torch.long))
    with pytest.raises(ValueError, match=r"\(B, C, H, W\)"):
        loss(torch.randn(3, 8, 8), torch.zeros(1, 8, 8, dtype=torch.long))
    with pytest.raises(ValueError, match="integer"):
        loss(torch.randn(1, 3, 8, 8), torch.zeros(1, 8, 8))


@pytest.mark.parametrize("name", ["dice", "rmi"])
def test_out_of_range_labels_are_refused(name):
    with pytest.raises(ValueError, match="outside"):
        build_loss(name, 3)(torch.randn(1, 3, 9, 9), torch.full((1, 9, 9), 7))


def test_build_loss_names():
    assert set(available_losses()) >= {"ce", "dice", "rmi", "samcl", "rmi+samcl"}
    assert build_loss("dice+samcl", 4).base.__class__ is DiceLoss
    with pytest.raises(ValueError, match="unknown loss"):
        build_loss("focal", 3)


def test_losses_under_bf16_autocast_stay_close_to_float32():
    logits, target = random_batch(2, 4, 27, 27, ignore_frac=0.1, seed=8)
    for name in BASES:
        loss = build_loss(name, 4)
        ref = loss(logits, target).item()
        with torch.autocast("cpu", dtype=torch.bfloat16):
            got = loss(logits.bfloat16(), target)
        assert got.dtype == torch.float32
        assert math.isfinite(float(got))
        assert float(got) == pytest.approx(ref, rel=0.05, abs=0.05)


def test_a_base_loss_is_one_table_entry_and_sam_cl_needs_no_label_shortcut(monkeypatch):
    """A new entry (here cross-entropy again, without its label-map shortcut) is a base loss for build_loss and
    a SAM-CL scale-0 distance; SAM-CL then measures it on one-hot maps, with the shortcut's values."""
    from samcl.losses.base_losses import BASE_LOSSES, BaseLoss

    monkeypatch.setitem(BASE_LOSSES, "xent", BaseLoss("ce:CrossEntropyLoss", "ce:ce_map_distance"))
    logits, target = random_batch(2, 4, 24, 30, ignore_frac=0.1, seed=4)
    assert build_loss("xent", 4)(logits, target).item() == build_loss("ce", 4)(logits, target).item()
    sigma = torch.tensor([1, 2, 3, 0])
    parts = {}
    for name in ("ce", "xent"):
        loss = build_loss(f"{name}+samcl", 4, seed=0, seg_distance=name, preset="poster").double()
        parts[name] = loss.parts(logits.double(), target, derangement=sigma)
    for key in ("d_pos", "d_neg", "loss"):
        assert torch.allclose(parts["ce"][key], parts["xent"][key], rtol=1e-9), key
    assert float(parts["ce"]["d_neg"][0]) > float(parts["ce"]["d_pos"][0]) > 0
    with pytest.raises(ValueError, match="unknown base loss 'focal'"):
        build_loss("samcl", 4, base_loss="focal")
