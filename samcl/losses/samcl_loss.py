"""The SAM-CL loss (self-adversarial multi-scale contrastive loss), as an ``nn.Module``.

For logits (B, C, H, W) and integer targets (B, H, W):

- ``Y  = softmax(logits)`` (differentiable: the loss trains the segmentation network),
- ``Y+ = one_hot(target)``,
- ``Y- = one_hot(sigma_b(target))``: Y+ with its class channels permuted by a random derangement
  ``sigma_b`` (no class keeps its channel; one derangement per image, drawn from a ``torch.Generator``),
- the auxiliary network A (:class:`samcl.losses.aux_net.AuxiliaryNetwork`; give the optimiser ``loss.parameters()``
  too) maps each of them to scales s0..s3, with ``d_0`` a segmentation distance (RMI, Dice or CE; see
  :mod:`samcl.losses.distances`) and ``d_1..d_3`` a feature distance (MSE, L1 or cosine), and

      L_SAMCL = sum_k w_k * max(D_k + margin, 0),   D_k = d_k(A_k(Y), A_k(Y+)) - d_k(A_k(Y), A_k(Y-))

- ``total = base(logits, target) + lambda(step) * L_SAMCL``.

The design choices the poster leaves open are options (``preset="poster"`` is the poster's formulation, the
first version of this package; ``preset="stable"`` the default chosen by the converged study in
``benchmarks/README.md``); each can also be set on its own:

- ``distance_norm``: ``"none"`` (the poster: raw distances, whose scales differ by orders of magnitude between
  scale 0 and the feature scales) or ``"ratio"``: ``D_k / (|d_pos| + |d_neg|)``, in [-1, 1] whatever the
  scale of the distances or of the auxiliary features, so one relative ``margin`` (e.g. 0.2: the negative
  must be 1.5 times as far as the positive) means the same at every scale;
- ``triplet``: ``"batch"`` (one triplet per scale over the batch's maps, the poster's formula applied to a
  batch) or ``"image"`` (one hinge per image and scale, averaged over the images that have valid pixels);
- ``lam_mode``: ``"absolute"`` (the poster: ``lam`` weights the SAM-CL term) or ``"relative"``: the gradient
  the SAM-CL term sends to the logits is rescaled to ``lam`` times the norm of the base loss's gradient there
  (measured each step), so SAM-CL can neither drown the base loss (a soft Dice gradient is about 1/N per pixel,
  tens of times smaller than a triplet's) nor vanish while its hinge is active; the auxiliary network's own
  gradients are those of ``lam * L_SAMCL``;
- ``warmup_steps``: lambda ramps linearly from 0 to ``lam`` over the first steps (``parts(..., step=t)``
  uses ``lam * min(1, t / warmup_steps)``), so the base loss finds the small classes first; the SAM-CL term
  is not computed while the factor is 0;
- ``aux_mode``: how the auxiliary network learns. ``"joint"`` (the poster: it minimises the same triplet as
  the segmentation network, and can satisfy it alone by scaling its features), ``"adversarial"`` (it
  maximises what the segmentation network minimises: its gradients are reversed), or ``"frozen"`` (fixed
  random projections); ``aux_lr_scale`` multiplies its gradients (its own learning rate under SGD);
  ``spectral_norm`` bounds its layers.

Ignored pixels (``target == ignore_index``) are zeroed in Y, Y+ and Y- alike before the auxiliary network,
every distance weights positions by the fraction of valid full-resolution pixels under them, and the logits
there get no gradient. A batch (or, per image, an image) without any valid pixel contributes 0.

Cost: Y+ and Y- are never materialised as full-resolution one-hot maps (``fast_path=True``): the auxiliary
network's first block has an exact shortcut for one-hot inputs
(:meth:`~samcl.losses.aux_net.AuxiliaryNetwork.forward_triplet_labels`), the scale-0 distances are computed from the
label maps (:mod:`samcl.losses.label_distances`). ``fast_path=False`` runs the plain map-based computation;
tests check that both give the same values and gradients.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ._common import (
    DEFAULT_IGNORE_INDEX,
    SegmentationLoss,
    as_float,
    check_logits_target,
    one_hot_map,
    valid_and_safe_target,
)
from .aux_net import AuxiliaryNetwork
from .base_losses import DEFAULT_BASE_LOSS, build_base_loss
from .derangement import random_derangements
from .distances import feature_distance, segmentation_distance, segmentation_label_distance
from .settings import DEFAULT_PRESET, samcl_settings

_RATIO_EPS = 1e-6


def _scale_gradient(factor: float, grad: torch.Tensor) -> torch.Tensor:
    return grad * factor


class _GradientNormTo(torch.autograd.Function):
    """Identity forward; backward rescales the incoming gradient to the norm ``target`` (a 0-d tensor)."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(target)
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        (target,) = ctx.saved_tensors
        norm = grad.float().norm()
        return grad * (target / norm.clamp_min(1e-12)).to(grad.dtype), None


def warmup_factor(step: int | None, warmup_steps: int) -> float:
    """``min(1, step / warmup_steps)``; 1 without a step or a warm-up."""
    if step is None or warmup_steps <= 0:
        return 1.0
    return min(1.0, max(step, 0) / warmup_steps)


class SAMCLLoss(SegmentationLoss):
    """``base + lambda * L_SAMCL``; see the module docstring.

    Args:
        num_classes: C (>= 2; a single class has no derangement and is refused).
        base_loss: 'ce', 'dice', 'rmi', an ``nn.Module`` called as ``base(logits, target)``, or None
            (total = lambda * L_SAMCL).
        lam: weight lambda of the SAM-CL term (None: the preset's, 0.1 relative for 'stable', 0.5 for 'poster').
        preset: 'stable' (default) or 'poster': values for lam, margin, distance_norm, triplet, warmup_steps,
            aux_mode and lam_mode that are not given explicitly.
        margin: triplet margin (raw distance units with distance_norm 'none', relative with 'ratio').
        distance_norm: 'none' or 'ratio'. triplet: 'batch' or 'image'. warmup_steps: lambda ramp length.
        aux_mode: 'joint', 'adversarial' or 'frozen'. aux_lr_scale: gradient multiplier of the auxiliary network.
        lam_mode: 'absolute' or 'relative' (lambda as the ratio of the SAM-CL to the base gradient at the logits).
        num_scales: 1..4 scales used (s0 only .. s0-s3).
        scale_weights: per-scale weights w_k (default all 1), length ``num_scales``.
        seg_distance: scale-0 distance: that of a base loss by name, 'rmi' (default), 'dice', 'ce', ...
        feat_distance: feature-scale distance 'mse' (default), 'l1' or 'cosine'.
        aux_width, aux_norm, spectral_norm: passed to :class:`AuxiliaryNetwork`.
        ignore_index: label excluded everywhere (255).
        generator: ``torch.Generator`` (CPU) for the derangements.
        seed: seeds the derangement generator (when ``generator`` is not given) and the auxiliary
            network's initial weights, without touching the global RNG; None draws from it.
        batched_aux: one concatenated auxiliary pass (default) instead of three (map-based path).
        fast_path: compute everything that involves Y+ and Y- from the label maps (default; same values).
        validate: check that labels are in range (ValueError on CPU, a device-side assert on a GPU).

    ``forward(logits, target)`` returns the scalar total (full lambda). ``parts(logits, target, step=None,
    derangement=None, generator=None, base=None)`` returns a dict: ``loss``, ``base_loss``, ``samcl_loss``
    (scalars, the last already multiplied by lambda(step)), ``lam`` (lambda(step)), ``samcl`` (the unweighted sum
    of hinges), ``per_scale`` (num_scales,) hinge terms before weighting, ``d_pos``, ``d_neg`` (num_scales,) raw
    distances (means over valid images with triplet 'image'), ``active`` (num_scales,) fraction of hinges above
    0, ``derangement`` (B, C) int64.
    ``derangement`` may be given explicitly: (C,) or (B, C) permutations with ``sigma[c] != c``.
    """

    scale_weights: torch.Tensor  # a buffer: (num_scales,) float32

    def __init__(
        self,
        num_classes: int,
        base_loss: str | nn.Module | None = DEFAULT_BASE_LOSS,
        lam: float | None = None,
        preset: str = DEFAULT_PRESET,
        margin: float | None = None,
        distance_norm: str | None = None,
        triplet: str | None = None,
        warmup_steps: int | None = None,
        aux_mode: str | None = None,
        lam_mode: str | None = None,
        aux_lr_scale: float = 1.0,
        num_scales: int = 4,
        scale_weights: Sequence[float] | None = None,
        seg_distance: str = "rmi",
        feat_distance: str = "mse",
        aux_width: int | None = None,
        aux_norm: str = "instance",
        spectral_norm: bool = False,
        ignore_index: int = DEFAULT_IGNORE_INDEX,
        generator: torch.Generator | None = None,
        seed: int | None = None,
        batched_aux: bool = True,
        fast_path: bool = True,
        validate: bool = True,
    ):
        super().__init__(ignore_index, validate)
        if num_classes < 2:
            raise ValueError(
                f"SAM-CL needs at least 2 classes (got num_classes={num_classes}): the class-swapped "
                "map Y- is a derangement of the class channels, and one class cannot be deranged"
            )
        if not 1 <= num_scales <= 4:
            raise ValueError(f"num_scales must be 1..4, got {num_scales}")
        settings = samcl_settings(
            preset,
            lam=lam,
            aux_lr_scale=aux_lr_scale,
            margin=margin,
            distance_norm=distance_norm,
            triplet=triplet,
            warmup_steps=warmup_steps,
            aux_mode=aux_mode,
            lam_mode=lam_mode,
        )
        weights = [1.0] * num_scales if scale_weights is None else [float(w) for w in scale_weights]
        if len(weights) != num_scales:
            raise ValueError(f"scale_weights has {len(weights)} entries, expected num_scales={num_scales}")
        self.num_classes = num_classes
        self.lam = settings["lam"]
        self.preset = preset
        self.margin = settings["margin"]
        self.distance_norm = settings["distance_norm"]
        self.triplet = settings["triplet"]
        self.warmup_steps = settings["warmup_steps"]
        self.aux_mode = settings["aux_mode"]
        self.lam_mode = settings["lam_mode"]
        self.aux_lr_scale = settings["aux_lr_scale"]
        self.num_scales = num_scales
        self.register_buffer("scale_weights", torch.tensor(weights, dtype=torch.float32), persistent=False)
        self.seg_distance_name = seg_distance
        self.feat_distance_name = feat_distance
        self._d0 = segmentation_distance(seg_distance)
        self._d0_labels = segmentation_label_distance(seg_distance)
        self._dk = feature_distance(feat_distance)
        self.batched_aux = batched_aux
        self.fast_path = fast_path
        if isinstance(base_loss, str):
            base_loss = build_base_loss(base_loss, ignore_index=ignore_index)
        self.base = base_loss
        with torch.random.fork_rng(devices=[], enabled=seed is not None):
            if seed is not None:
                torch.manual_seed(seed)
            self.aux = AuxiliaryNetwork(
                num_classes, width=aux_width, num_scales=num_scales, norm=aux_norm, spectral_norm=spectral_norm
            )
        self._configure_aux()
        if generator is None:
            generator = torch.Generator()
            generator.manual_seed(seed if seed is not None else int(torch.randint(0, 2**62, (1,)).item()))
        self.generator = generator

    def _configure_aux(self) -> None:
        """Freeze the auxiliary network, or scale (and for 'adversarial' reverse) its gradients."""
        if self.aux_mode == "frozen":
            self.aux.requires_grad_(False)
            return
        factor = -self.aux_lr_scale if self.aux_mode == "adversarial" else self.aux_lr_scale
        if factor != 1.0:
            for parameter in self.aux.parameters():
                parameter.register_hook(functools.partial(_scale_gradient, factor))

    # -- pieces -----------------------------------------------------------------------------------
    def _derangement(self, batch: int, given: torch.Tensor | None, generator: torch.Generator | None):
        c = self.num_classes
        if given is None:
            return random_derangements(batch, c, generator or self.generator)
        sigma = torch.as_tensor(given, dtype=torch.long).cpu()
        if sigma.dim() == 1:
            sigma = sigma.expand(batch, c)
        if tuple(sigma.shape) != (batch, c):
            raise ValueError(f"derangement must have shape ({c},) or ({batch}, {c}), got {tuple(sigma.shape)}")
        ok = (torch.sort(sigma, dim=1).values == torch.arange(c)).all() and not (sigma == torch.arange(c)).any()
        if not ok:
            raise ValueError("derangement must be a permutation of range(C) with no fixed point")
        return sigma

    def _scale0(self, distance: Callable, *args: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Scale-0 (d_pos, d_neg): scalars over the batch, or (B,) with triplet 'image' (one image at a time)."""
        if self.triplet == "batch":
            return distance(*args)
        pairs = [distance(*(a[i : i + 1] for a in args)) for i in range(args[0].shape[0])]
        return torch.stack([p for p, _ in pairs]), torch.stack([n for _, n in pairs])

    def distances(
        self,
        logits: torch.Tensor,
        target: torch.Tensor,
        derangement: torch.Tensor | None = None,
        generator: torch.Generator | None = None,
    ) -> dict[str, torch.Tensor]:
        """Raw distances of every scale: ``d_pos``, ``d_neg`` (S,) or (S, B) for triplet 'image', the valid
        weight of each (scalar or (B,): 1 where the batch / image has a valid pixel) and ``derangement``."""
        check_logits_target(logits, target)
        b, c = logits.shape[:2]
        if c != self.num_classes:
            if c < 2:
                raise ValueError(f"SAM-CL needs at least 2 classes, logits have C={c}")
            raise ValueError(f"logits have {c} channels but the loss was built for {self.num_classes} classes")
        safe, valid = valid_and_safe_target(target, c, self.ignore_index, self.validate)
        sigma = self._derangement(b, derangement, generator)
        if safe.device.type == "cuda":  # pinned + non_blocking: no host-device synchronisation
            sigma_dev = sigma.pin_memory().to(safe.device, non_blocking=True)
        else:
            sigma_dev = sigma.to(safe.device)
        work = as_float(logits)
        valid = valid.to(work.dtype)
        v1 = valid.unsqueeze(1)
        y = F.softmax(work, dim=1) * v1
        if self.fast_path:
            # Y+ and Y- are never built at full resolution (see AuxiliaryNetwork.forward_triplet_labels
            # and label_distances); the values equal those of the map-based path below.
            labels_ext = torch.where(valid > 0, safe, torch.full_like(safe, c))
            scales = self.aux.forward_triplet_labels(y, labels_ext, sigma_dev)
            d0 = self._scale0(self._d0_labels, y, safe, sigma_dev, valid)
        else:
            swapped = torch.gather(sigma_dev, 1, safe.reshape(b, -1)).reshape_as(safe)
            y_pos = one_hot_map(safe, c, valid)
            y_neg = one_hot_map(swapped, c, valid)
            scales = self.aux.forward_triplet(y, y_pos, y_neg, batched=self.batched_aux)

            def pair(pred, pos, neg, v):
                return self._d0(pred, pos, v), self._d0(pred, neg, v)

            d0 = self._scale0(pair, y, y_pos, y_neg, valid)
        per_image = self.triplet == "image"
        d_pos, d_neg = [d0[0]], [d0[1]]
        for a, p, n in scales[1:]:
            wk = F.adaptive_avg_pool2d(v1, (a.shape[-2], a.shape[-1]))[:, 0]
            d_pos.append(self._dk(a, p, wk, per_image=per_image))
            d_neg.append(self._dk(a, n, wk, per_image=per_image))
        has_valid = (valid.sum((1, 2)) > 0) if per_image else (valid.sum() > 0)
        return {
            "d_pos": torch.stack([as_float(d) for d in d_pos]),
            "d_neg": torch.stack([as_float(d) for d in d_neg]),
            "valid": has_valid.to(torch.float32),
            "derangement": sigma,
        }

    def triplet_terms(self, d_pos: torch.Tensor, d_neg: torch.Tensor, valid: torch.Tensor) -> dict[str, torch.Tensor]:
        """Hinges of raw distances (S,) or (S, B): ``per_scale`` (S,) terms, ``samcl`` their weighted sum and
        ``active`` (S,) the fraction of hinges above 0 (over valid images with triplet 'image')."""
        diff = d_pos - d_neg
        if self.distance_norm == "ratio":
            diff = diff / (d_pos.abs() + d_neg.abs() + _RATIO_EPS)
        hinge = torch.clamp(diff + self.margin, min=0.0)
        active = (hinge > 0).to(hinge.dtype)
        if hinge.dim() == 2:  # (S, B): average over the images that have valid pixels
            count = valid.sum().clamp_min(1.0)
            per_scale, active = (hinge * valid).sum(1) / count, (active * valid).sum(1) / count
        else:
            per_scale, active = hinge * valid, active * valid
        samcl = (per_scale * self.scale_weights.to(per_scale.device)).sum()
        return {"samcl": samcl, "per_scale": per_scale, "active": active}

    def parts(
        self,
        logits: torch.Tensor,
        target: torch.Tensor,
        step: int | None = None,
        derangement: torch.Tensor | None = None,
        generator: torch.Generator | None = None,
        base: torch.Tensor | None = None,
    ) -> dict[str, Any]:
        """The total and its components at training step ``step`` (see the class docstring). ``base``: the base
        loss of these logits when the caller has computed it (the loss's own ``base_loss`` is then not called)."""
        lam = self.lam * warmup_factor(step, self.warmup_steps)
        if base is None:
            base = torch.zeros((), device=logits.device) if self.base is None else self.base(logits, target)
        if lam == 0.0:
            unused = dict.fromkeys(("per_scale", "d_pos", "d_neg", "active"), torch.full((self.num_scales,), torch.nan))
            return {
                "loss": base,
                "base_loss": base,
                "samcl_loss": torch.zeros_like(base),
                "lam": 0.0,
                "derangement": None,
                **unused,
            }
        if self.lam_mode == "relative" and torch.is_grad_enabled() and logits.requires_grad and base.requires_grad:
            (g_base,) = torch.autograd.grad(base, logits, retain_graph=True)
            logits = _GradientNormTo.apply(logits, lam * g_base.detach().float().norm())
        dist = self.distances(logits, target, derangement, generator)
        terms = self.triplet_terms(dist["d_pos"], dist["d_neg"], dist["valid"])
        samcl = lam * terms["samcl"]
        summary = {}
        for key in ("d_pos", "d_neg"):
            d = dist[key].detach()
            summary[key] = (d * dist["valid"]).sum(1) / dist["valid"].sum().clamp_min(1.0) if d.dim() == 2 else d
        return {
            "loss": base + samcl,
            "base_loss": base,
            "samcl_loss": samcl,
            "lam": lam,
            "samcl": terms["samcl"],
            "per_scale": terms["per_scale"],
            "active": terms["active"],
            "derangement": dist["derangement"],
            **summary,
        }

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """The scalar total ``base + lambda * L_SAMCL`` (full lambda: no warm-up without a step)."""
        return self.parts(logits, target)["loss"]

    def extra_repr(self) -> str:
        return (
            f"num_classes={self.num_classes}, lam={self.lam}, preset={self.preset!r}, margin={self.margin}, "
            f"distance_norm={self.distance_norm!r}, triplet={self.triplet!r}, warmup_steps={self.warmup_steps}, "
            f"aux_mode={self.aux_mode!r}, lam_mode={self.lam_mode!r}, num_scales={self.num_scales}, "
            f"seg_distance={self.seg_distance_name!r}, feat_distance={self.feat_distance_name!r}"
        )
