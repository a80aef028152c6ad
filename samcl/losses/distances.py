"""Distances between maps for SAM-CL's triplet terms, all masked by a (B, H, W) valid-pixel mask.

Every feature distance takes ``(a, b, weight, per_image=False)``: two (B, K, h, w) maps and a (B, h, w) float
weight in [0, 1] (the fraction of valid full-resolution pixels under each position) and returns a scalar over
the batch, or with ``per_image`` one value per image (B,).
"""

from __future__ import annotations

import functools

import torch
import torch.nn.functional as F

from ._common import as_float, one_hot_map
from .base_losses import BASE_LOSSES, BaseLoss


def _weighted_mean(per_pos: torch.Tensor, weight: torch.Tensor, per_image: bool) -> torch.Tensor:
    dims = (1, 2) if per_image else (0, 1, 2)
    return (per_pos * weight).sum(dims) / weight.sum(dims).clamp_min(1e-12)


def mse_distance(a: torch.Tensor, b: torch.Tensor, weight: torch.Tensor, per_image: bool = False) -> torch.Tensor:
    """Mean squared difference over channels and weighted positions."""
    return _weighted_mean((as_float(a) - as_float(b)).pow(2).mean(dim=1), weight, per_image)


def l1_distance(a: torch.Tensor, b: torch.Tensor, weight: torch.Tensor, per_image: bool = False) -> torch.Tensor:
    """Mean absolute difference over channels and weighted positions."""
    return _weighted_mean((as_float(a) - as_float(b)).abs().mean(dim=1), weight, per_image)


def cosine_distance(a: torch.Tensor, b: torch.Tensor, weight: torch.Tensor, per_image: bool = False) -> torch.Tensor:
    """``1 - cos(a, b)`` of the channel vectors at each position, weighted mean over positions (0..2)."""
    cos = F.cosine_similarity(as_float(a), as_float(b), dim=1, eps=1e-6)
    return _weighted_mean(1.0 - cos, weight, per_image)


FEATURE_DISTANCES = {"mse": mse_distance, "l1": l1_distance, "cosine": cosine_distance}


def segmentation_distance(name: str):
    """Scale-0 distance ``d(pred, ref, valid)`` of base loss ``name`` (e.g. 'rmi', 'dice', 'ce'; pred =
    probabilities)."""
    return BaseLoss.resolve(_map_distance(name))


def segmentation_label_distance(name: str):
    """Scale-0 distances of base loss ``name`` from label maps, ``(prob, labels, sigma, valid) -> (d_pos, d_neg)``:
    its shortcut (:mod:`samcl.losses.label_distances`), or the map distance on one-hot maps built for it."""
    distance = _map_distance(name)
    shortcut = BASE_LOSSES[name].label_distance
    if shortcut is not None:
        return BaseLoss.resolve(shortcut)
    return functools.partial(_label_pair_from_maps, BaseLoss.resolve(distance))


def _map_distance(name: str) -> str:
    """The map-distance reference of base loss ``name``; a name without one is refused."""
    entry = BASE_LOSSES.get(name)
    if entry is None or entry.map_distance is None:
        usable = sorted(key for key, value in BASE_LOSSES.items() if value.map_distance is not None)
        raise ValueError(f"unknown scale-0 distance {name!r} (a base loss's); choose one of {usable}")
    return entry.map_distance


def _label_pair_from_maps(distance, prob, labels, sigma, valid):
    c = prob.shape[1]
    swapped = torch.gather(sigma.to(labels.device), 1, labels.reshape(labels.shape[0], -1)).reshape_as(labels)
    return distance(prob, one_hot_map(labels, c, valid), valid), distance(prob, one_hot_map(swapped, c, valid), valid)


def feature_distance(name: str):
    """Feature-scale distance by name: 'mse', 'l1' or 'cosine'."""
    if name not in FEATURE_DISTANCES:
        raise ValueError(f"unknown feature distance {name!r}; choose one of {sorted(FEATURE_DISTANCES)}")
    return FEATURE_DISTANCES[name]
