"""The augmentation schedule: a warm-up without TiAug and the scene steps, then a ramp to every sample."""

from __future__ import annotations

import dataclasses
import functools

import numpy as np
import pytest
import torch

from samcl.training.candidates import CandidateSampler, CandidateSet
from samcl.training.config import TrainConfig
from samcl.training.data import (
    AugSchedule,
    StepSampler,
    TrainingSet,
    aug_schedule,
    compute_normalization,
    sample_seed,
    training_pipeline,
)
from tiaug.errors import UserError


def test_the_warm_up_samples_are_marked_and_replayed():
    schedule = AugSchedule(clean_steps=20)
    sampler = StepSampler(48, 8, seed=3, start=0, stop=40, schedule=schedule)
    assert not any(augment for _, _, augment in sampler.batch(0) + sampler.batch(19))
    assert all(augment for _, _, augment in sampler.batch(20) + sampler.batch(39))
    plain = StepSampler(48, 8, seed=3, start=0, stop=40)  # the same rows and seeds without a warm-up
    assert [item[:2] for item in sampler.batch(5)] == [item[:2] for item in plain.batch(5)]
    assert all(augment for _, _, augment in plain.batch(0))
    resumed = StepSampler(48, 8, seed=3, start=10, stop=40, schedule=schedule)
    assert next(iter(resumed)) == sampler.batch(10)  # what a step sees depends on the seed and the step alone
    assert aug_schedule(TrainConfig(iters=1000, aug_warmup=0.3, aug_ramp=0.1)) == AugSchedule(300, 100)
    assert aug_schedule(TrainConfig(iters=1000)) == AugSchedule(200, 200)  # the defaults: a fifth clean, a fifth ramp


def test_after_the_warm_up_the_share_of_augmented_samples_follows_the_ramp():
    schedule = AugSchedule(clean_steps=50, ramp_steps=100)
    seeds = [sample_seed(7, k) for k in range(4000)]
    for step, share in ((49, 0.0), (50, 0.0), (75, 0.25), (100, 0.5), (140, 0.9), (150, 1.0)):
        measured = np.mean([schedule.augmented(seed, step) for seed in seeds])
        assert measured == pytest.approx(share, abs=0.03), step
    # a sample augmented at one step of the ramp is augmented at every later step (one uniform draw per seed)
    assert all(schedule.augmented(s, 120) for s in seeds if schedule.augmented(s, 90))


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
    sampler = CandidateSampler(StepSampler(48, 4, config.seed, 0, 10, schedule=AugSchedule(10)), candidates=3)
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
    [
        ({"aug_warmup": 1.5}, "aug_warmup"),
        ({"aug_warmup": -0.1}, "aug_warmup"),
        ({"aug_ramp": -0.1}, "aug_ramp"),
        ({"aug_warmup": 0.6, "aug_ramp": 0.5}, "at most 1"),
    ],
)
def test_bad_warm_up_settings_are_refused(changes, words):
    with pytest.raises(UserError, match=words):
        TrainConfig(data="a.h5", val="b.h5", out="run", **changes).validate()
