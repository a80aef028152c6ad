"""Region Mutual Information loss (Zhao, Wang, Chen, Cai: NeurIPS 2019), as in its official code.

Shapes and definition (``RMILoss.forward``; ``logits`` (B, C, H, W), ``target`` (B, H, W) int64):

1. ``P = sigmoid(logits)`` (per-class probabilities, not a softmax), ``Y = one_hot(target)``;
   both are zeroed on ignored pixels; ``P`` gets ``+1e-6`` as in the official code (a constant,
   which the centred covariances below do not see).
2. BCE term: binary cross-entropy with logits summed over valid pixels and classes, divided by
   ``(number of valid pixels + 1)``.
3. RMI term (:func:`rmi_lower_bound`): ``Y`` and ``P`` are max-pooled (kernel 3, stride 3, padding 1)
   to (B, C, H', W'). The ``radius**2 = 9`` shifted views ``[:, :, y:y+H'-2, x:x+W'-2]`` (y, x in 0..2,
   row-major) turn every pooled pixel neighbourhood into a 9-dimensional point; per image and class
   this gives ``N = (H'-2)(W'-2)`` points. With centred points and *unnormalised* covariances
   (sums of outer products, not divided by N, as the official code does), in float64::

       S_Y = sum (y - ybar)(y - ybar)^T, S_P = sum (p - pbar)(p - pbar)^T, S_YP = sum (y - ybar)(p - pbar)^T
       M    = S_Y - S_YP (S_P + a I)^-1 S_YP^T            (a = 1e-3)
       rmi  = 0.5 * logdet(M + a I) / 9                     (per image and class)

   averaged over the batch and summed over classes. ``M`` is the (unnormalised) posterior
   covariance of ``Y`` given ``P``; a lower value means more mutual information.
4. ``loss = 0.5 * BCE + 0.5 * RMI`` (``bce_weight = 0.5``, the official ``lambda_way = 1``).

Differences from the official code, none of which change the value beyond float rounding:
``(S_P + aI)^-1 S_YP^T`` is computed with a linear solve instead of an explicit inverse, the
log-determinant from a Cholesky factor without the official ``+1e-8`` on its diagonal, and it runs
on any device (the official code hard-codes CUDA doubles). Since ``M + aI >= aI``, the RMI term is
at least ``0.5 * ln(a)`` (about -3.45) per class and is usually negative: it is a loss to minimise,
not a distance that reaches 0.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ._common import DEFAULT_IGNORE_INDEX, check_logits_target, one_hot_map, valid_and_safe_target

CLIP_MIN = 1e-6
POS_ALPHA = 1e-3


def _neighbourhood_points(x: torch.Tensor, radius: int) -> torch.Tensor:
    """(B, C, H, W) -> (B, C, radius**2, (H-radius+1)*(W-radius+1)): the shifted views, row-major."""
    b, c, h, w = x.shape
    nh, nw = h - (radius - 1), w - (radius - 1)
    views = [x[:, :, y : y + nh, xx : xx + nw] for y in range(radius) for xx in range(radius)]
    return torch.stack(views, dim=2).reshape(b, c, radius * radius, nh * nw)


def rmi_lower_bound(
    target_map: torch.Tensor,
    prob_map: torch.Tensor,
    radius: int = 3,
    pool_size: int = 3,
    pool_stride: int = 3,
    pos_alpha: float = POS_ALPHA,
    reduction: str = "sum",
) -> torch.Tensor:
    """The RMI term (step 3 of the module docstring) between two (B, C, H, W) maps.

    ``target_map`` is the reference (one-hot or soft; no gradient needed), ``prob_map`` the
    prediction. ``reduction="sum"`` returns the scalar (mean over batch, sum over classes);
    ``"none"`` returns the (B, C) per-image, per-class values (already divided by ``radius**2``).
    ``pool_stride=1`` skips pooling. Raises ValueError when the pooled map is smaller than ``radius``.
    """
    if target_map.shape != prob_map.shape or target_map.dim() != 4:
        raise ValueError(
            f"target_map and prob_map must both be (B, C, H, W), got {tuple(target_map.shape)} "
            f"and {tuple(prob_map.shape)}"
        )
    with torch.autocast(device_type=prob_map.device.type, enabled=False):
        y = target_map.float()
        p = prob_map.float()
        if pool_stride > 1:
            pad = pool_size // 2
            y = F.max_pool2d(y, kernel_size=pool_size, stride=pool_stride, padding=pad)
            p = F.max_pool2d(p, kernel_size=pool_size, stride=pool_stride, padding=pad)
        if y.shape[-2] < radius or y.shape[-1] < radius:
            raise ValueError(
                f"RMI needs maps of at least {radius}x{radius} after pooling; got {tuple(y.shape[-2:])} "
                f"from input {tuple(target_map.shape[-2:])}"
            )
        d = radius * radius
        yv = _neighbourhood_points(y.double(), radius)
        pv = _neighbourhood_points(p.double(), radius)
        yv = yv - yv.mean(dim=3, keepdim=True)
        pv = pv - pv.mean(dim=3, keepdim=True)
        s_y = yv @ yv.transpose(-2, -1)
        s_p = pv @ pv.transpose(-2, -1)
        s_yp = yv @ pv.transpose(-2, -1)
        eye = torch.eye(d, dtype=torch.float64, device=s_y.device)
        # S_YP (S_P + aI)^-1 S_YP^T, via a solve: (S_P + aI) X = S_YP^T.
        x = torch.linalg.solve(s_p + pos_alpha * eye, s_yp.transpose(-2, -1))
        m = s_y - s_yp @ x
        m = 0.5 * (m + m.transpose(-2, -1)) + pos_alpha * eye
        chol = torch.linalg.cholesky(m)
        logdet = 2.0 * torch.log(torch.diagonal(chol, dim1=-2, dim2=-1)).sum(-1)
        per_image_class = (0.5 * logdet / d).float()
    if reduction == "none":
        return per_image_class
    if reduction == "sum":
        return per_image_class.mean(dim=0).sum()
    raise ValueError(f"reduction must be 'sum' or 'none', got {reduction!r}")


def rmi_map_distance(
    pred: torch.Tensor,
    ref: torch.Tensor,
    valid: torch.Tensor,
    bce_weight: float = 0.5,
    radius: int = 3,
    pool_size: int = 3,
    pool_stride: int = 3,
) -> torch.Tensor:
    """RMI loss between a probability map ``pred`` and a reference map ``ref`` (both (B, C, H, W)).

    The same formula as :class:`RMILoss` but on probabilities (SAM-CL's scale 0 compares
    ``softmax(logits)`` with the one-hot and the class-swapped maps): BCE on probabilities (log
    clamped at -100 as in :func:`torch.nn.functional.binary_cross_entropy`) summed over valid pixels
    and classes / (valid pixels + 1), plus the RMI term; ``valid`` is (B, H, W) 0/1.
    """
    with torch.autocast(device_type=pred.device.type, enabled=False):
        v = valid.unsqueeze(1).float()
        p = pred.float() * v
        r = ref.float() * v
        bce = F.binary_cross_entropy(p.clamp(0.0, 1.0), r, weight=v.expand_as(p), reduction="sum")
        bce = bce / (valid.sum() + 1.0)
        rmi = rmi_lower_bound(r, p + CLIP_MIN, radius, pool_size, pool_stride)
    return bce_weight * bce + (1.0 - bce_weight) * rmi


class RMILoss(nn.Module):
    """Region Mutual Information loss; see the module docstring for the exact definition.

    Shapes: ``logits`` (B, C, H, W) float, ``target`` (B, H, W) int64 -> scalar (can be negative).
    Inputs must be at least 7x7 (so that the 3x3-pooled map holds a 3x3 neighbourhood).
    """

    def __init__(
        self,
        ignore_index: int = DEFAULT_IGNORE_INDEX,
        bce_weight: float = 0.5,
        radius: int = 3,
        pool_size: int = 3,
        pool_stride: int = 3,
        validate: bool = True,
    ):
        super().__init__()
        if not 1 <= radius <= 10:
            raise ValueError(f"radius must be in 1..10, got {radius}")
        self.ignore_index = ignore_index
        self.bce_weight = bce_weight
        self.radius = radius
        self.pool_size = pool_size
        self.pool_stride = pool_stride
        self.validate = validate

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        check_logits_target(logits, target)
        c = logits.shape[1]
        safe, valid = valid_and_safe_target(target, c, self.ignore_index, self.validate)
        with torch.autocast(device_type=logits.device.type, enabled=False):
            z = logits.float()
            v = valid.unsqueeze(1)
            y = one_hot_map(safe, c, valid)
            bce = F.binary_cross_entropy_with_logits(z, y, weight=v.expand_as(z), reduction="sum")
            bce = bce / (valid.sum() + 1.0)
            probs = torch.sigmoid(z) * v + CLIP_MIN
            rmi = rmi_lower_bound(y, probs, self.radius, self.pool_size, self.pool_stride)
        return self.bce_weight * bce + (1.0 - self.bce_weight) * rmi
