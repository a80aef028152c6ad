"""seed_pipeline: one seed reproduces a pipeline's outputs, and its steps draw independently of each other."""

from __future__ import annotations

import collections

import albumentations as A
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from tiaug.seeding import seed_pipeline
from tiaug.transforms import TemperatureSafe

IMAGE = np.arange(12 * 16, dtype=np.float32).reshape(12, 16) / 10 + 20


def _applied(pipeline: A.Compose, seed: int) -> tuple[bool, bool]:
    seed_pipeline(pipeline, seed)
    names = {name for name, _ in pipeline(image=IMAGE)["applied_transforms"]}
    return "HorizontalFlip" in names, "VerticalFlip" in names


def test_steps_of_equal_probability_are_applied_independently():
    """Albumentations' own seeding gives both flips the same stream: they happen together or not at all."""
    flips = [A.HorizontalFlip(p=0.5), A.VerticalFlip(p=0.5)]
    pipeline = A.Compose(flips, save_applied_params=True)
    combos = collections.Counter(_applied(pipeline, seed) for seed in range(200))
    assert set(combos) == {(True, True), (True, False), (False, True), (False, False)}
    assert min(combos.values()) > 25
    albumentations_own = A.Compose(flips, save_applied_params=True)
    together = set()
    for seed in range(50):
        albumentations_own.set_random_seed(seed)
        names = {name for name, _ in albumentations_own(image=IMAGE)["applied_transforms"]}
        together.add(("HorizontalFlip" in names, "VerticalFlip" in names))
    assert together <= {(True, True), (False, False)}  # the defect seed_pipeline removes


def test_nested_steps_get_their_own_streams():
    blur = TemperatureSafe([A.GaussianBlur(sigma_limit=(0.1, 2.0), p=1.0), A.GaussianBlur(sigma_limit=(0.1, 2.0))])
    seed_pipeline(A.Compose([blur]), 3)
    inner = [t.random_generator.random() for t in blur.transforms]
    assert inner[0] != inner[1]


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**63 - 1))
def test_one_seed_reproduces_the_outputs(seed):
    steps = [A.HorizontalFlip(p=0.5), A.Affine(rotate=(-30, 30), p=0.7), A.VerticalFlip(p=0.5)]
    first = seed_pipeline(A.Compose(steps), seed)(image=IMAGE)["image"]
    again = seed_pipeline(A.Compose(steps), seed)(image=IMAGE)["image"]
    np.testing.assert_array_equal(first, again)
