"""Seeding an Albumentations pipeline so that its transforms draw independent random streams.

Albumentations 2.0's ``Compose(..., seed=S)`` and ``Compose.set_random_seed(S)`` hand the *same* seed to every
transform inside, and each transform keeps a generator of its own: every transform then draws the same numbers.
Steps with equal probabilities are applied all together or not at all (a horizontal flip never without the
vertical one, so a mirrored face is never seen) and parameters drawn alike move together (a warm room always
with a positive camera drift). :func:`seed_pipeline` gives the pipeline and each transform inside it its own
child of ``numpy.random.SeedSequence(S)``: the same ``S`` reproduces the same outputs, and the steps are
independent.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def seed_pipeline(pipeline: Any, seed: int | None) -> Any:
    """Seed ``pipeline`` (an ``A.Compose``, any nested compose, or one transform) and every transform in it from
    independent children of ``SeedSequence(seed)`` (``None``: fresh entropy). Returns ``pipeline``."""
    _seed(pipeline, np.random.SeedSequence(seed))
    return pipeline


def _seed(transform: Any, sequence: np.random.SeedSequence) -> None:
    children = list(getattr(transform, "transforms", None) or ())
    own, *inner = sequence.spawn(1 + len(children))
    if hasattr(transform, "set_random_seed"):
        transform.set_random_seed(int(own.generate_state(1, np.uint64)[0]))  # nested transforms reseeded below
    for child, child_sequence in zip(children, inner, strict=True):
        _seed(child, child_sequence)
