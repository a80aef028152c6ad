"""The augmentation warm-up: the share of samples with TiAug and the scene steps ramps from 0 to all."""

from __future__ import annotations

import dataclasses
import functools

import numpy as np
import pytest
import torch

from samcl.training.candidates import CandidateSampler, CandidateSet
from samcl.training.config import TrainConfig
from samcl.training.data import (
    StepSampler,
    TrainingSet,
    augmented,
    compute_normalization,
    sample_seed,
    training_pipeline,
    warmup_steps,
)
from tiaug.errors import UserError


def test_the_share_of_augmented_samples_follows_the_ramp():
    seeds = [sample_seed(7, k) for k in range(4000)]
    for step, share in ((0, 0.0), (25, 0.25), (50, 0.5), (90, 0.9)):
        measured = np.mean([augmented(seed, step, 100) for seed in seeds])
        assert measured == pytest.approx(share, abs=0.03), step
    assert all(augmented(seed, 100, 100) and augmented(seed, 5, 0) for seed in seeds[:50])
    # a sample augmented at one step of the ramp stays augmented later in it (one uniform draw per seed)
    assert all(augmented(s, 60, 100) for s in seeds if augmented(s, 40, 100))


def test_the_sampler_marks_the_warm_up_samples_and_replays_them():
    sampler = StepSampler(48, 8, seed=3, start=0, stop=40, warmup_steps=20)
    assert not any(augment for _, _, augment in sampler.batch(0))
    assert all(augment for _, _, augment in sampler.batch(20))
    middle = sampler.batch(10)
    assert 0 < sum(augment for _, _, augment in middle) < 8 or sampler.batch(11) != middle
    resumed = StepSampler(48, 8, seed=3, start=10, stop=40, warmup_steps=20)
    assert next(iter(resumed)) == middle  # what a step sees depends on the seed and the step alone
    assert warmup_steps(TrainConfig(iters=1000, aug_warmup=0.3)) == 300


@pytest.fixture
def config(dataset) -> TrainConfig:
    train, val = dataset
    return TrainConfig(data=str(train), val=str(val), out="unused", crop=(48, 64), seed=3)


def test_a_warm_up_sample_is_drawn_without_tiaug_and_the_scene_steps(config):
    norm = compute_normalization(config.data)
    both = TrainingSet(config.data, norm, functools.partial(training_pipeline, config))
    plain_config = dataclasses.replace(config, tiaug=False, scene=False)
    plain = TrainingSet(config.data, norm, functools.partial(training_pipeline, plain_config))
    differ = 0
    for row, seed, _ in StepSampler(48, 8, config.seed, 0, 1).batch(0):
        warm_image, warm_mask = both[(row, seed, False)]
        plain_image, plain_mask = plain[(row, seed, True)]
        assert torch.equal(warm_image, plain_image) and torch.equal(warm_mask, plain_mask)
        differ += not torch.equal(both[(row, seed, True)][0], warm_image)
    assert differ > 0  # the augmented draws do get TiAug or a scene step


def test_warm_up_candidates_share_the_plain_photometry(config):
    norm = compute_normalization(config.data)
    candidates = CandidateSet(config, norm)
    plain = CandidateSet(dataclasses.replace(config, tiaug=False, scene=False), norm)
    sampler = CandidateSampler(StepSampler(48, 4, config.seed, 0, 10, warmup_steps=10), candidates=3)
    differ = 0
    for item in sampler.batch(0):
        assert item[4] is False  # step 0 of the warm-up: no sample augmented
        images, masks, _ = candidates[item]
        plain_images, plain_masks, _ = plain[(*item[:4], True)]
        assert torch.equal(images, plain_images) and torch.equal(masks, plain_masks)
        differ += not torch.equal(candidates[(*item[:4], True)][0], images)
    assert differ > 0


@pytest.mark.parametrize(
    ("changes", "words"),
    [({"aug_warmup": 1.5}, "aug_warmup"), ({"aug_warmup": 0.2, "tiaug": False, "scene": False}, "neither")],
)
def test_bad_warm_up_settings_are_refused(changes, words):
    with pytest.raises(UserError, match=words):
        TrainConfig(data="a.h5", val="b.h5", out="run", **changes).validate()
