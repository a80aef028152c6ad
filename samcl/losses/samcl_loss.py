"""The SAM-CL loss (self-adversarial multi-scale contrastive loss), as an ``nn.Module``.

For logits (B, C, H, W) and integer targets (B, H, W):

- ``Y  = softmax(logits)`` (differentiable: the loss trains the segmentation network),
- ``Y+ = one_hot(target)``,
- ``Y- = one_hot(sigma_b(target))``: Y+ with its class channels permuted by a random derangement
  ``sigma_b`` (no class keeps its channel; one derangement per image, drawn from a ``torch.Generator``),
- the auxiliary network A (:class:`samcl.losses.aux_net.AuxiliaryNetwork`, trained jointly: give the
  optimiser ``loss.parameters()`` too) maps each of them to scales s0..s3, and

      L_SAMCL = sum_k w_k * max(d_k(A_k(Y), A_k(Y+)) - d_k(A_k(Y), A_k(Y-)) + margin, 0)

  with ``d_0`` a segmentation distance (RMI, Dice or CE; see :mod:`samcl.losses.distances`) and
  ``d_1..d_3`` a feature distance (MSE, L1 or cosine). Distances are batch-level (one triplet term
  per scale, the poster's formula applied to the batch's maps).
- ``total = base(logits, target) + lambda * L_SAMCL`` (``lambda = 0.5`` by default).

Ignored pixels (``target == ignore_index``) are zeroed in Y, Y+ and Y- alike before the auxiliary
network, every distance weights positions by the fraction of valid full-resolution pixels under
them (area-downsampled valid mask; BCE/CE/Dice sums skip them), and the logits there get no
gradient. As in the official RMI code, the zeros still sit inside RMI's pooled neighbourhoods, and
they enter the per-sample normalisation statistics of the auxiliary network, identically for the
three maps. A batch without any valid pixel gives a SAM-CL term of 0.

Cost: Y+ and Y- are never materialised as full-resolution one-hot maps (``fast_path=True``): the
auxiliary network's first block has an exact shortcut for one-hot inputs
(:meth:`~samcl.losses.aux_net.AuxiliaryNetwork.forward_triplet_labels`), the scale-0 distances are computed
from the label maps (:mod:`samcl.losses.label_distances`, with RMI's prediction statistics shared
by the two distances), and only Y goes through full-resolution layers. ``fast_path=False`` runs the
plain map-based computation; tests check that both give the same values and gradients.

``margin`` defaults to 1.0 (as :class:`torch.nn.TripletMarginLoss`). Note that the Dice distance
lies in [0, 1], so with the default margin its scale-0 term is zero only for a perfect prediction.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ._common import DEFAULT_IGNORE_INDEX, as_float, check_logits_target, one_hot_map, valid_and_safe_target
from .aux_net import AuxiliaryNetwork
from .ce import CrossEntropyLoss
from .derangement import random_derangements
from .dice import DiceLoss
from .distances import feature_distance, segmentation_distance
from .label_distances import LABEL_PAIRS
from .rmi import RMILoss

BASE_LOSSES = ("ce", "dice", "rmi")


def build_base_loss(name: str, ignore_index: int = DEFAULT_IGNORE_INDEX, **kwargs) -> nn.Module:
    """A baseline loss module by name: 'ce', 'dice' or 'rmi'."""
    if name == "ce":
        return CrossEntropyLoss(ignore_index=ignore_index, **kwargs)
    if name == "dice":
        return DiceLoss(ignore_index=ignore_index, **kwargs)
    if name == "rmi":
        return RMILoss(ignore_index=ignore_index, **kwargs)
    raise ValueError(f"unknown base loss {name!r}; choose one of {list(BASE_LOSSES)}")


class SAMCLLoss(nn.Module):
    """``base + lambda * L_SAMCL``; see the module docstring.

    Args:
        num_classes: C (>= 2; a single class has no derangement and is refused).
        base_loss: 'ce', 'dice', 'rmi', an ``nn.Module`` called as ``base(logits, target)``, or None
            (total = lambda * L_SAMCL).
        lam: weight lambda of the SAM-CL term (0.5).
        margin: triplet margin (1.0).
        num_scales: 1..4 scales used (s0 only .. s0-s3).
        scale_weights: per-scale weights w_k (default all 1), length ``num_scales``.
        seg_distance: scale-0 distance 'rmi' (default), 'dice' or 'ce'.
        feat_distance: feature-scale distance 'mse' (default), 'l1' or 'cosine'.
        aux_width, aux_norm, spectral_norm: passed to :class:`AuxiliaryNetwork`.
        ignore_index: label excluded everywhere (255).
        generator: ``torch.Generator`` (CPU) for the derangements.
        seed: seeds the derangement generator (when ``generator`` is not given) and the auxiliary
            network's initial weights, without touching the global RNG; None draws from it.
        batched_aux: one concatenated auxiliary pass (default) instead of three (map-based path).
        fast_path: compute everything that involves Y+ and Y- from the label maps, without building
            full-resolution one-hot maps (default; same values, see ``forward_triplet_labels``).
            ``False`` runs the plain map-based computation (the reference the tests compare with).
        validate: check that labels are in range (ValueError on CPU, a device-side assert on a GPU).

    ``forward(logits, target, return_parts=False, derangement=None, generator=None)`` returns the
    scalar total, or with ``return_parts=True`` a dict: ``total``, ``base``, ``samcl`` (scalars),
    ``per_scale`` (num_scales,) hinge terms before weighting, ``d_pos``, ``d_neg`` (num_scales,)
    distances, ``derangement`` (B, C) int64. ``derangement`` may be given explicitly: (C,) or (B, C)
    permutations with ``sigma[c] != c``.
    """

    def __init__(
        self,
        num_classes: int,
        base_loss: str | nn.Module | None = "rmi",
        lam: float = 0.5,
        margin: float = 1.0,
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
        super().__init__()
        if num_classes < 2:
            raise ValueError(
                f"SAM-CL needs at least 2 classes (got num_classes={num_classes}): the class-swapped "
                "map Y- is a derangement of the class channels, and one class cannot be deranged"
            )
        if not 1 <= num_scales <= 4:
            raise ValueError(f"num_scales must be 1..4, got {num_scales}")
        weights = [1.0] * num_scales if scale_weights is None else [float(w) for w in scale_weights]
        if len(weights) != num_scales:
            raise ValueError(f"scale_weights has {len(weights)} entries, expected num_scales={num_scales}")
        self.num_classes = num_classes
        self.lam = float(lam)
        self.margin = float(margin)
        self.num_scales = num_scales
        self.register_buffer("scale_weights", torch.tensor(weights, dtype=torch.float32), persistent=False)
        self.seg_distance_name = seg_distance
        self.feat_distance_name = feat_distance
        self._d0 = segmentation_distance(seg_distance)
        self._dk = feature_distance(feat_distance)
        self.ignore_index = ignore_index
        self.batched_aux = batched_aux
        self.fast_path = fast_path
        self.validate = validate
        if isinstance(base_loss, str):
            base_loss = build_base_loss(base_loss, ignore_index=ignore_index)
        self.base = base_loss
        with torch.random.fork_rng(devices=[], enabled=seed is not None):
            if seed is not None:
                torch.manual_seed(seed)
            self.aux = AuxiliaryNetwork(
                num_classes,
                width=aux_width,
                num_scales=num_scales,
                norm=aux_norm,
                spectral_norm=spectral_norm,
            )
        if generator is None:
            generator = torch.Generator()
            generator.manual_seed(seed if seed is not None else int(torch.randint(0, 2**62, (1,)).item()))
        self.generator = generator

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

    def samcl_terms(
        self,
        logits: torch.Tensor,
        target: torch.Tensor,
        derangement: torch.Tensor | None = None,
        generator: torch.Generator | None = None,
    ) -> dict[str, torch.Tensor]:
        """The SAM-CL part only: dict with ``samcl``, ``per_scale``, ``d_pos``, ``d_neg``, ``derangement``."""
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
            d0 = LABEL_PAIRS[self.seg_distance_name](y, safe, sigma_dev, valid)
        else:
            swapped = torch.gather(sigma_dev, 1, safe.reshape(b, -1)).reshape_as(safe)
            y_pos = one_hot_map(safe, c, valid)
            y_neg = one_hot_map(swapped, c, valid)
            scales = self.aux.forward_triplet(y, y_pos, y_neg, batched=self.batched_aux)
            d0 = (self._d0(y, y_pos, valid), self._d0(y, y_neg, valid))
        d_pos, d_neg = [d0[0]], [d0[1]]
        for a, p, n in scales[1:]:
            wk = F.adaptive_avg_pool2d(v1, a.shape[-2:])[:, 0]
            d_pos.append(self._dk(a, p, wk))
            d_neg.append(self._dk(a, n, wk))
        d_pos_t = torch.stack([as_float(d) for d in d_pos])
        d_neg_t = torch.stack([as_float(d) for d in d_neg])
        per_scale = torch.clamp(d_pos_t - d_neg_t + self.margin, min=0.0)
        any_valid = (valid.sum() > 0).to(per_scale.dtype)
        per_scale = per_scale * any_valid
        samcl = (per_scale * self.scale_weights.to(per_scale.device)).sum()
        return {
            "samcl": samcl,
            "per_scale": per_scale,
            "d_pos": d_pos_t,
            "d_neg": d_neg_t,
            "derangement": sigma,
        }

    def forward(
        self,
        logits: torch.Tensor,
        target: torch.Tensor,
        return_parts: bool = False,
        derangement: torch.Tensor | None = None,
        generator: torch.Generator | None = None,
    ):
        parts = self.samcl_terms(logits, target, derangement, generator)
        base = torch.zeros((), device=logits.device) if self.base is None else self.base(logits, target)
        total = base + self.lam * parts["samcl"]
        if not return_parts:
            return total
        return {"total": total, "base": base, **parts}

    def extra_repr(self) -> str:
        return (
            f"num_classes={self.num_classes}, lam={self.lam}, margin={self.margin}, "
            f"num_scales={self.num_scales}, "
            f"seg_distance={self.seg_distance_name!r}, feat_distance={self.feat_distance_name!r}"
        )
