"""Random derangements: permutations with no fixed point, used to build SAM-CL's class-swapped map."""

from __future__ import annotations

import torch


def random_derangement(n: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """A uniformly random derangement of ``range(n)`` as an int64 CPU tensor ``sigma`` (sigma[i] != i).

    Drawn by rejection from :func:`torch.randperm` with ``generator`` (about e = 2.72 draws on
    average), so a seeded generator gives a reproducible sequence. ``n < 2`` raises ValueError:
    a single class cannot be swapped with another one.
    """
    if n < 2:
        raise ValueError(
            f"a derangement needs at least 2 classes, got {n}: SAM-CL's class-swapped map Y- "
            "cannot be built for a single class"
        )
    ar = torch.arange(n)
    while True:
        perm = torch.randperm(n, generator=generator)
        if not bool((perm == ar).any()):
            return perm


def random_derangements(batch: int, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """``batch`` independent derangements of ``range(n)``, stacked to a (batch, n) int64 CPU tensor."""
    return (
        torch.stack([random_derangement(n, generator) for _ in range(batch)])
        if batch
        else torch.empty(0, n, dtype=torch.long)
    )
