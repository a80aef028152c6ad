"""Random tensors for the samcl loss tests."""

from __future__ import annotations

import torch


def random_batch(b=2, c=4, h=32, w=40, ignore_frac=0.1, seed=0, ignore_index=255):
    """Random logits (B, C, H, W) and targets (B, H, W) with a fraction of ignored pixels."""
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(b, c, h, w, generator=g)
    target = torch.randint(0, c, (b, h, w), generator=g)
    if ignore_frac > 0:
        target[torch.rand(b, h, w, generator=g) < ignore_frac] = ignore_index
    return logits, target
