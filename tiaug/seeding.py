"""Seeding an Albumentations pipeline so that its transforms draw independent random streams.

Albumentations 2.0's ``Compose(..., seed=S)`` and ``Compose.set_random_seed(S)`` hand the *same* seed to every
transform inside, and each transform keeps a generator of its own: every transform then draws the same numbers.
Steps with equal probabilities are applied all together or not at all (a horizontal flip never without the
vertical one, so a mirrored face is never seen) and parameters drawn alike move together (a warm room always
with a positive camera drift). :func:`seed_pipeline` gives the pipeline and each transform inside it its own
child of ``numpy.random.SeedSequence(S)``: the same ``S`` reproduces the same outputs, and the steps are
independent. Step ``i`` of a pipeline draws from child ``i + 1`` (child 0 is the compose's own), so the steps of
a pipeline cut in two (``first`` = where the second part starts) draw exactly what they draw in the whole one.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def seed_pipeline(pipeline: Any, seed: int | None, first: int = 0) -> Any:
    """Seed ``pipeline`` (an ``A.Compose``, any nested compose, or one transform) and every transform in it from
    independent children of ``SeedSequence(seed)`` (``None``: fresh entropy); its steps are numbered from
    ``first``. Returns ``pipeline``."""
    _seed(pipeline, np.random.SeedSequence(seed), first)
    return pipeline


def _child(sequence: np.random.SeedSequence, k: int) -> np.random.SeedSequence:
    """Child ``k`` of ``sequence`` (what ``sequence.spawn`` would hand out as its k-th child)."""
    return np.random.SeedSequence(sequence.entropy, spawn_key=(*sequence.spawn_key, k))


def _seed(transform: Any, sequence: np.random.SeedSequence, first: int = 0) -> None:
    if hasattr(transform, "set_random_seed"):  # nested transforms are reseeded below
        transform.set_random_seed(int(_child(sequence, 0).generate_state(1, np.uint64)[0]))
    for k, child in enumerate(getattr(transform, "transforms", None) or (), start=first + 1):
        _seed(child, _child(sequence, k))
