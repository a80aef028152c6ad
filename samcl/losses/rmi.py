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
``(S_P + aI)^-1 S_YP^T`` is computed with a Cholesky solve instead of an explicit inverse, the
log-determinant from a Cholesky factor without the official ``+1e-8`` on its diagonal, and it runs
on any device (the official code hard-codes CUDA doubles). Since ``M + aI >= aI``, the RMI term is
at least ``0.5 * ln(a)`` (about -3.45) per class and is usually negative: it is a loss to minimise,
not a distance that reaches 0.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ._common import (
    DEFAULT_IGNORE_INDEX,
    SegmentationLoss,
    as_float,
    one_hot_map,
)
from .bce import one_hot_bce

CLIP_MIN = 1e-6
POS_ALPHA = 1e-3


def _neighbourhood_rows(x: torch.Tensor, radius: int) -> torch.Tensor:
    """(B, K, H, W) -> (B, K, radius**2, N): for each channel, the radius**2 shifted views
    ``x[:, k, y:y+H-radius+1, x:x+W-radius+1]`` (y, then x, row-major) flattened to rows; N points.
    (Slices + stack: three times faster than ``F.unfold`` on CPU for float64.)"""
    b, k, h, w = x.shape
    nh, nw = h - radius + 1, w - radius + 1
    views = [x[:, :, dy : dy + nh, dx : dx + nw] for dy in range(radius) for dx in range(radius)]
    return torch.stack(views, dim=2).reshape(b, k, radius * radius, nh * nw)


def rmi_from_covariances(
    s_y: torch.Tensor, s_p: torch.Tensor, s_yp: torch.Tensor, pos_alpha: float = POS_ALPHA
) -> torch.Tensor:
    """``0.5 * logdet(S_Y - S_YP (S_P + aI)^-1 S_YP^T + aI) / d`` for (..., d, d) float64 blocks."""
    d = s_y.shape[-1]
    eye = torch.eye(d, dtype=s_y.dtype, device=s_y.device)
    chol_p, _ = torch.linalg.cholesky_ex(s_p + pos_alpha * eye)
    # S_YP (S_P + aI)^-1 S_YP^T via the Cholesky factor: (S_P + aI) X = S_YP^T.
    x = torch.cholesky_solve(s_yp.transpose(-2, -1), chol_p)
    m = s_y - s_yp @ x
    m = 0.5 * (m + m.transpose(-2, -1)) + pos_alpha * eye
    chol, _ = torch.linalg.cholesky_ex(m)
    logdet = 2.0 * torch.log(torch.diagonal(chol, dim1=-2, dim2=-1)).sum(-1)
    return 0.5 * logdet / d


class _PredictionCovariances(torch.autograd.Function):
    """``S_P = P_c P_c^T`` and ``S_RP = R_c P_c^T`` for each reference R, with one fused backward.

    ``pv``: (..., d, N) prediction points (with gradient); ``refs``: centred reference points
    (..., d, N) without gradient. Since centred rows sum to zero, the gradient of these sums with
    respect to the uncentred points is ``(G_P + G_P^T) P_c + sum_R G_RP^T R_c``: three batched
    matmuls accumulated in place, instead of autograd's separate products, mean and additions.
    """

    @staticmethod
    def forward(ctx, pv, *refs):
        pc = pv - pv.mean(dim=-1, keepdim=True)
        pct = pc.transpose(-2, -1)
        outs = [pc @ pct, *(r @ pct for r in refs)]
        ctx.save_for_backward(pc, *refs)
        return tuple(outs)

    @staticmethod
    def backward(ctx, g_p, *g_refs):
        pc, *refs = ctx.saved_tensors
        d, n = pc.shape[-2:]
        grad = torch.matmul(g_p + g_p.transpose(-2, -1), pc)
        flat = grad.view(-1, d, n)
        for g, r in zip(g_refs, refs, strict=True):
            flat.baddbmm_(g.transpose(-2, -1).reshape(-1, d, d), r.reshape(-1, d, n))
        return (grad, *([None] * len(refs)))


def rmi_from_pooled(
    p_pooled: torch.Tensor,
    y_pooled: torch.Tensor,
    radius: int = 3,
    pos_alpha: float = POS_ALPHA,
    swaps: torch.Tensor | None = None,
) -> torch.Tensor:
    """Per-image, per-class RMI values of already-pooled (B, C, H', W') maps, float32 (B, C).

    With ``swaps`` (a (B, C) index), returns a (2, B, C) tensor: first the RMI against ``y_pooled``,
    then against the channel-permuted reference ``ref[:, k] = y_pooled[:, swaps[:, k]]``; the
    prediction's points and covariance ``S_P`` are shared by the two.
    """
    if p_pooled.shape[-2] < radius or p_pooled.shape[-1] < radius:
        raise ValueError(
            f"RMI needs maps of at least {radius}x{radius} after pooling; got {tuple(p_pooled.shape[-2:])}"
        )
    b, c = p_pooled.shape[:2]
    out_dtype = as_float(p_pooled).dtype
    with torch.autocast(device_type=p_pooled.device.type, enabled=False):
        # centred points in float64; the reference needs no gradient
        with torch.no_grad():
            yc = _neighbourhood_rows(y_pooled.detach().to(torch.float64), radius)
            yc = yc - yc.mean(dim=-1, keepdim=True)
            s_y = yc @ yc.transpose(-2, -1)
            refs = [yc]
            if swaps is not None:
                idx = swaps.to(yc.device).view(b, c, 1, 1)
                refs.append(torch.gather(yc, 1, idx.expand_as(yc)))
                s_y = torch.stack([s_y, torch.gather(s_y, 1, idx.expand_as(s_y))])
        pv = _neighbourhood_rows(p_pooled.to(torch.float64), radius)
        s_p, *s_rp = _PredictionCovariances.apply(pv, *refs)
        if swaps is None:
            return rmi_from_covariances(s_y, s_p, s_rp[0], pos_alpha).to(out_dtype)
        out = rmi_from_covariances(s_y, s_p.unsqueeze(0).expand(2, -1, -1, -1, -1), torch.stack(s_rp), pos_alpha)
        return out.to(out_dtype)


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
    if reduction not in ("sum", "none"):
        raise ValueError(f"reduction must be 'sum' or 'none', got {reduction!r}")
    with torch.autocast(device_type=prob_map.device.type, enabled=False):
        y = as_float(target_map)
        p = as_float(prob_map)
        if pool_stride > 1:
            pad = pool_size // 2
            y = F.max_pool2d(y, kernel_size=pool_size, stride=pool_stride, padding=pad)
            p = F.max_pool2d(p, kernel_size=pool_size, stride=pool_stride, padding=pad)
        if y.shape[-2] < radius or y.shape[-1] < radius:
            raise ValueError(
                f"RMI needs maps of at least {radius}x{radius} after pooling; got {tuple(y.shape[-2:])} "
                f"from input {tuple(target_map.shape[-2:])}"
            )
        per_image_class = rmi_from_pooled(p, y, radius, pos_alpha)
    if reduction == "none":
        return per_image_class
    return per_image_class.mean(dim=0).sum()


def clamped_log(x: torch.Tensor) -> torch.Tensor:
    """``log(x)`` floored at -100 (as binary_cross_entropy does), with finite gradients at x = 0."""
    return torch.log(x.clamp_min(torch.finfo(x.dtype).tiny)).clamp_min(-100.0)


def bce_on_probabilities(p: torch.Tensor, r: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """``-sum v * (r log p + (1 - r) log(1 - p))`` with :func:`clamped_log`; v broadcasts over channels."""
    return -((r * clamped_log(p) + (1.0 - r) * clamped_log(1.0 - p)) * v).sum()


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
    ``softmax(logits)`` with the one-hot and the class-swapped maps): BCE on probabilities (logs
    floored at -100 as in :func:`torch.nn.functional.binary_cross_entropy`) summed over valid pixels
    and classes / (valid pixels + 1), plus the RMI term; ``valid`` is (B, H, W) 0/1.
    """
    with torch.autocast(device_type=pred.device.type, enabled=False):
        p = as_float(pred)
        v = valid.unsqueeze(1).to(p.dtype)
        p = p * v
        r = as_float(ref) * v
        bce = bce_on_probabilities(p.clamp(0.0, 1.0), r, v) / (valid.sum() + 1.0)
        rmi = rmi_lower_bound(r, p + CLIP_MIN, radius, pool_size, pool_stride)
    return bce_weight * bce + (1.0 - bce_weight) * rmi


class RMILoss(SegmentationLoss):
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
        super().__init__(ignore_index, validate)
        if not 1 <= radius <= 10:
            raise ValueError(f"radius must be in 1..10, got {radius}")
        self.bce_weight = bce_weight
        self.radius = radius
        self.pool_size = pool_size
        self.pool_stride = pool_stride

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        c = logits.shape[1]
        safe, valid = self.checked_target(logits, target)
        with torch.autocast(device_type=logits.device.type, enabled=False):
            z = as_float(logits)
            y = one_hot_map(safe, c, valid).to(z.dtype)
            bce = one_hot_bce(z, y, valid.to(z.dtype))
            probs = torch.sigmoid(z) * valid.unsqueeze(1).to(z.dtype) + CLIP_MIN
            rmi = rmi_lower_bound(y, probs, self.radius, self.pool_size, self.pool_stride)
        return self.bce_weight * bce + (1.0 - self.bce_weight) * rmi
