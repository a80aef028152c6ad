"""Scale-0 distances of SAM-CL computed from label maps instead of one-hot maps.

``d(Y, one_hot(L))`` for the ground truth ``L`` and for the class-swapped labels ``sigma(L)``, in
one call that shares the work on the prediction ``Y``. The values equal those of
:func:`~samcl.losses.ce.ce_map_distance`, :func:`~samcl.losses.dice.dice_map_distance` and
:func:`~samcl.losses.rmi.rmi_map_distance` on the one-hot maps (tests check this), but no
(B, C, H, W) one-hot map is built: gathers and per-class sums replace the products with one-hot
maps, and the 3x3/stride-3 max-pool of a one-hot map (RMI) is a scatter of "class present in
this window" flags.

Common arguments: ``prob`` (B, C, H, W) probabilities, zero on ignored pixels; ``labels`` (B, H, W)
int64 in [0, C) (any value on ignored pixels); ``sigma`` (B, C) derangements, the swapped label of
class k being ``sigma[b, k]``; ``valid`` (B, H, W) float 0/1. Each returns ``(d_pos, d_neg)``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ._common import as_float
from .rmi import CLIP_MIN, POS_ALPHA, clamped_log, rmi_from_pooled

_EPS = 1e-7


def swap_labels(labels: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """``sigma[b, labels[b, ...]]``: the class-swapped label map (B, H, W)."""
    b = labels.shape[0]
    return torch.gather(sigma.to(labels.device), 1, labels.reshape(b, -1)).reshape_as(labels)


def inverse_permutations(sigma: torch.Tensor) -> torch.Tensor:
    """Row-wise inverse of (B, C) permutations."""
    inv = torch.empty_like(sigma)
    inv.scatter_(1, sigma, torch.arange(sigma.shape[1], device=sigma.device).expand_as(sigma).contiguous())
    return inv


def _both_labels(labels: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """(B, 2, H, W): the labels and the swapped labels, to gather both with one call."""
    return torch.stack([labels, swap_labels(labels, sigma)], dim=1)


def ce_pair(prob, labels, sigma, valid):
    """Cross-entropy ``-log Y[label]`` averaged over valid pixels, for the labels and the swapped labels."""
    logp = torch.log(as_float(prob).clamp_min(_EPS))
    picked = torch.gather(logp, 1, _both_labels(labels, sigma))  # (B, 2, H, W)
    out = -(picked * valid.unsqueeze(1)).sum((0, 2, 3)) / valid.sum().clamp_min(1)
    return out[0], out[1]


def dice_pair(prob, labels, sigma, valid, smooth: float = 1.0):
    """``1 - mean_c Dice_c`` (batch Dice over valid pixels) against the labels and the swapped labels."""
    c = prob.shape[1]
    p = as_float(prob)  # zero on ignored pixels (the contract of this module)
    valid = valid.to(p.dtype)
    sum_p = p.sum((0, 2, 3))
    both = _both_labels(labels, sigma)
    picked = torch.gather(p, 1, both)  # (B, 2, H, W)
    vb = valid.reshape(-1)
    out = []
    for i in range(2):
        flat = both[:, i].reshape(-1)
        counts = torch.zeros(c, device=p.device, dtype=p.dtype).index_add_(0, flat, vb)
        inter = torch.zeros(c, device=p.device, dtype=p.dtype).index_add(0, flat, picked[:, i].reshape(-1))
        dice = (2.0 * inter + smooth) / (sum_p + counts + smooth)
        out.append(1.0 - dice.mean())
    return out[0], out[1]


def pooled_one_hot(labels: torch.Tensor, valid: torch.Tensor, num_classes: int, pool: int = 3) -> torch.Tensor:
    """``max_pool2d(one_hot(labels) * valid, pool, stride=pool, padding=pool // 2)`` without the one-hot map.

    (B, H, W) labels -> (B, C, H', W') float32 0/1 map, 1 where the class occurs on a valid pixel of
    the (non-overlapping) window. Only for kernel == stride, as RMI uses it.
    """
    b, h, w = labels.shape
    pad = pool // 2
    hp = (h + 2 * pad - pool) // pool + 1
    wp = (w + 2 * pad - pool) // pool + 1
    dev = labels.device
    row = (torch.arange(h, device=dev) + pad) // pool
    col = (torch.arange(w, device=dev) + pad) // pool
    inside = (row < hp).view(h, 1) & (col < wp).view(1, w)
    win = row.clamp(max=hp - 1).view(h, 1) * wp + col.clamp(max=wp - 1).view(1, w)
    keep = (valid > 0) & inside
    # invalid pixels go to an extra "dump" class row that is dropped afterwards
    cls = torch.where(keep, labels, torch.full_like(labels, num_classes))
    out = torch.zeros(b, (num_classes + 1) * hp * wp, device=dev)
    out.scatter_(1, (cls * (hp * wp) + win).reshape(b, -1), 1.0)
    return out.reshape(b, num_classes + 1, hp, wp)[:, :num_classes]


def rmi_pair(prob, labels, sigma, valid, bce_weight: float = 0.5, radius: int = 3, pool: int = 3):
    """RMI loss (``bce_weight * BCE + (1 - bce_weight) * RMI``) against the labels and the swapped labels.

    Equal to :func:`~samcl.losses.rmi.rmi_map_distance` on the one-hot maps (pool size = stride = ``pool``).
    """
    c = prob.shape[1]
    with torch.autocast(device_type=prob.device.type, enabled=False):
        p = as_float(prob)  # zero on ignored pixels (the contract of this module)
        v = valid.to(p.dtype)
        # BCE summed over valid pixels and classes: -sum [ sum_c log(1 - p_c) + log p_t - log(1 - p_t) ];
        # only log(1 - p) is needed at full resolution, log p only at the picked classes.
        log1mp = clamped_log(1.0 - p)
        base = (log1mp.sum(1) * v).sum()
        both = _both_labels(labels, sigma)
        picked = clamped_log(torch.gather(p, 1, both)) - torch.gather(log1mp, 1, both)  # (B, 2, H, W)
        bces = -(base + (picked * v.unsqueeze(1)).sum((0, 2, 3))) / (v.sum() + 1.0)
        p_pooled = F.max_pool2d(p + CLIP_MIN, kernel_size=pool, stride=pool, padding=pool // 2)
        y_pooled = pooled_one_hot(labels, v, c, pool)
        # Y-[:, k] = Y+[:, sigma^-1(k)]
        inv = inverse_permutations(sigma.to(labels.device))
        rmi_pos, rmi_neg = rmi_from_pooled(p_pooled, y_pooled, radius, POS_ALPHA, swaps=inv)
        out = [
            bce_weight * bce + (1.0 - bce_weight) * r.mean(0).sum()
            for bce, r in zip(bces.unbind(0), (rmi_pos, rmi_neg), strict=True)
        ]
    return out[0], out[1]
