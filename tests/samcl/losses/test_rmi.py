"""RMI checks: an independent loop-based float64 reference, hand-computable cases, and the fast paths."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from samcl.losses import RMILoss, rmi_lower_bound, rmi_map_distance
from samcl.losses.label_distances import pooled_one_hot, rmi_pair
from tests.helpers.tensors import random_batch

ALPHA = 1e-3


# -- independent reference: explicit loops, numpy float64, no torch ------------------------------
def _slow_pool(m, k=3, s=3, pad=1):
    h, w = m.shape
    hp, wp = (h + 2 * pad - k) // s + 1, (w + 2 * pad - k) // s + 1
    out = np.zeros((hp, wp))
    for i in range(hp):
        for j in range(wp):
            best = -np.inf
            for r in range(i * s - pad, i * s - pad + k):
                for c in range(j * s - pad, j * s - pad + k):
                    if 0 <= r < h and 0 <= c < w:
                        best = max(best, m[r, c])
            out[i, j] = best
    return out


def _slow_rmi_term(y, p, radius=3):
    """0.5 * logdet(S_Y - S_YP (S_P + aI)^-1 S_YP^T + aI) / d for two pooled 2-D maps, by loops."""
    hp, wp = y.shape
    pts_y, pts_p = [], []
    for i in range(hp - radius + 1):
        for j in range(wp - radius + 1):
            pts_y.append([y[i + dy, j + dx] for dy in range(radius) for dx in range(radius)])
            pts_p.append([p[i + dy, j + dx] for dy in range(radius) for dx in range(radius)])
    pts_y, pts_p = np.array(pts_y), np.array(pts_p)
    my, mp = pts_y.mean(0), pts_p.mean(0)
    d = radius * radius
    s_y, s_p, s_yp = np.zeros((d, d)), np.zeros((d, d)), np.zeros((d, d))
    for vy, vp in zip(pts_y, pts_p, strict=True):
        s_y += np.outer(vy - my, vy - my)
        s_p += np.outer(vp - mp, vp - mp)
        s_yp += np.outer(vy - my, vp - mp)
    m = s_y - s_yp @ np.linalg.inv(s_p + ALPHA * np.eye(d)) @ s_yp.T + ALPHA * np.eye(d)
    sign, logdet = np.linalg.slogdet(m)
    assert sign > 0
    return 0.5 * logdet / d


def slow_rmi_loss(logits, target, ignore_index=255, from_probs=False):
    """RMILoss by the book: sigmoid, BCE / (valid + 1), max-pool, 3x3 points, per image and class."""
    x = np.asarray(logits, dtype=np.float64)
    t = np.asarray(target)
    b, c, h, w = x.shape
    valid = t != ignore_index
    bce = 0.0
    for bi in range(b):
        for r in range(h):
            for col in range(w):
                if not valid[bi, r, col]:
                    continue
                for k in range(c):
                    tk = 1.0 if t[bi, r, col] == k else 0.0
                    z = x[bi, k, r, col]
                    if from_probs:
                        lp, l1p = max(math.log(z) if z > 0 else -math.inf, -100), max(math.log1p(-z), -100)
                        bce += -(tk * lp + (1 - tk) * l1p)
                    else:
                        bce += max(z, 0) - z * tk + math.log1p(math.exp(-abs(z)))
    bce /= valid.sum() + 1.0
    rmi = 0.0
    for k in range(c):
        per_image = []
        for bi in range(b):
            yk = np.where(valid[bi] & (t[bi] == k), 1.0, 0.0)
            probs = x[bi, k] if from_probs else 1.0 / (1.0 + np.exp(-x[bi, k]))
            pk = probs * valid[bi] + 1e-6
            per_image.append(_slow_rmi_term(_slow_pool(yk), _slow_pool(pk)))
        rmi += float(np.mean(per_image))
    return 0.5 * bce + 0.5 * rmi


# -- agreement with the independent computation --------------------------------------------------
@pytest.mark.parametrize("seed,shape", [(0, (2, 3, 13, 17)), (1, (1, 4, 18, 12)), (2, (2, 2, 10, 22))])
def test_rmi_loss_matches_loop_reference(seed, shape):
    b, c, h, w = shape
    logits, target = random_batch(b, c, h, w, ignore_frac=0.15, seed=seed)
    logits = logits * 3
    got = RMILoss()(logits.double(), target).item()
    want = slow_rmi_loss(logits.numpy(), target.numpy())
    assert got == pytest.approx(want, rel=1e-5, abs=1e-6)


def test_rmi_map_distance_matches_loop_reference_on_probabilities():
    logits, target = random_batch(2, 3, 14, 16, ignore_frac=0.1, seed=5)
    probs = torch.softmax(logits * 2, 1)
    valid = (target != 255).float()
    one_hot = F.one_hot(torch.where(target == 255, 0, target), 3).permute(0, 3, 1, 2).float() * valid[:, None]
    got = float(rmi_map_distance(probs.double() * valid[:, None], one_hot.double(), valid.double()))
    want = slow_rmi_loss((probs * valid[:, None]).numpy(), target.numpy(), from_probs=True)
    assert got == pytest.approx(want, rel=1e-5, abs=1e-6)


# -- hand-computable cases -----------------------------------------------------------------------
def test_rmi_hand_case_two_points():
    """B=1, C=2, 12x9 image, logits all 0 (p = 0.5 everywhere), class 1 on rows 0-1, class 0 elsewhere.

    BCE: every pixel and class costs ln 2, so BCE = (12*9*2*ln 2) / (12*9 + 1) = 216 ln2 / 109.
    RMI: 3x3/stride-3/pad-1 pooling gives 4x3 maps; class 1 pools to [[1,1,1],[0,0,0],[0,0,0],[0,0,0]]
    (the first window covers rows 0-1 only) and class 0 to its complement. The 3x3 neighbourhoods
    give N = 2 points per class, v1 = (1,1,1,0,...,0) and v2 = 0 (class 0: the negation, shifted), so
    with d = v1 - v2, |d|^2 = 3, S_Y = d d^T / 2 (rank one, eigenvalue 3/2). P is constant, so S_P = 0
    and S_YP = 0: M = S_Y, det(M + aI) = a^8 (a + 3/2), rmi_c = 0.5 (8 ln a + ln(a + 1.5)) / 9, the
    same for both classes. Loss = 0.5 BCE + 0.5 * 2 rmi_c.
    """
    logits = torch.zeros(1, 2, 12, 9)
    target = torch.zeros(1, 12, 9, dtype=torch.long)
    target[:, 0:2] = 1
    bce = 216 * math.log(2) / 109
    rmi_c = 0.5 * (8 * math.log(ALPHA) + math.log(ALPHA + 1.5)) / 9
    want = 0.5 * bce + 0.5 * 2 * rmi_c
    assert RMILoss()(logits, target).item() == pytest.approx(want, rel=1e-6)
    assert RMILoss()(logits.double(), target).item() == pytest.approx(want, rel=1e-9)


def test_rmi_hand_case_single_point():
    """A 9x9 image pools to 3x3: one 9-d point per class, centred covariances are all 0, so
    logdet(M + aI) = 9 ln a and rmi_c = 0.5 ln a whatever the content. With logits 0 the BCE is
    81 * C * ln 2 / 82. C = 3, random labels."""
    target = torch.randint(0, 3, (1, 9, 9), generator=torch.Generator().manual_seed(3))
    want = 0.5 * (81 * 3 * math.log(2) / 82) + 0.5 * 3 * 0.5 * math.log(ALPHA)
    assert RMILoss()(torch.zeros(1, 3, 9, 9), target).item() == pytest.approx(want, rel=1e-6)


def test_rmi_lower_bound_per_image_class_shape_and_small_input_error():
    y = torch.rand(2, 3, 20, 20)
    out = rmi_lower_bound(y, torch.rand(2, 3, 20, 20), reduction="none")
    assert out.shape == (2, 3)
    with pytest.raises(ValueError, match="at least 3x3"):
        rmi_lower_bound(torch.rand(1, 2, 6, 6), torch.rand(1, 2, 6, 6))


def test_rmi_ignores_ignored_pixels():
    logits, target = random_batch(2, 3, 15, 15, ignore_frac=0.2, seed=9)
    other = logits.clone()
    other[(target == 255).unsqueeze(1).expand_as(other)] = 50.0
    assert RMILoss()(logits, target).item() == pytest.approx(RMILoss()(other, target).item(), rel=1e-6)


# -- the label-based fast path equals the map-based computation ----------------------------------
@settings(max_examples=25, deadline=None)
@given(h=st.integers(3, 23), w=st.integers(3, 23), c=st.integers(2, 5), seed=st.integers(0, 10**6))
def test_pooled_one_hot_equals_max_pool_of_one_hot(h, w, c, seed):
    g = torch.Generator().manual_seed(seed)
    labels = torch.randint(0, c, (2, h, w), generator=g)
    valid = (torch.rand(2, h, w, generator=g) > 0.3).float()
    oh = F.one_hot(labels, c).permute(0, 3, 1, 2).float() * valid[:, None]
    want = F.max_pool2d(oh, 3, 3, 1)
    assert torch.equal(pooled_one_hot(labels, valid, c), want)


def test_rmi_pair_equals_map_distance_for_labels_and_swapped_labels():
    logits, target = random_batch(2, 4, 31, 26, ignore_frac=0.1, seed=11)
    valid = (target != 255).float()
    safe = torch.where(target == 255, 0, target)
    probs = (torch.softmax(logits.double() * 2, 1) * valid[:, None]).requires_grad_()
    sigma = torch.tensor([[1, 2, 3, 0], [2, 3, 1, 0]])
    swapped = torch.gather(sigma, 1, safe.reshape(2, -1)).reshape_as(safe)
    d_pos, d_neg = rmi_pair(probs, safe, sigma, valid.double())
    oh_pos = F.one_hot(safe, 4).permute(0, 3, 1, 2).double() * valid[:, None]
    oh_neg = F.one_hot(swapped, 4).permute(0, 3, 1, 2).double() * valid[:, None]
    want_pos = rmi_map_distance(probs, oh_pos, valid.double())
    want_neg = rmi_map_distance(probs, oh_neg, valid.double())
    assert d_pos.item() == pytest.approx(want_pos.item(), rel=1e-6)
    assert d_neg.item() == pytest.approx(want_neg.item(), rel=1e-6)
    g1 = torch.autograd.grad(d_pos - d_neg, probs)[0]
    g2 = torch.autograd.grad(want_pos - want_neg, probs)[0]
    assert torch.allclose(g1, g2, rtol=1e-5, atol=1e-7)
