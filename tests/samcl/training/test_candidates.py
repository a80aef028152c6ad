"""Candidates in the DataLoader workers: candidate 0 is plain training's sample, the others are fresh draws of the
photometry on the same geometry, and the bandit's arms are reported only where their transform ran."""

from __future__ import annotations

import functools

import numpy as np
import torch

from samcl.training.bandit import LossBandit, active_factors
from samcl.training.candidates import CandidateSampler, CandidateSet, split_pipeline
from samcl.training.data import StepSampler, TrainingSet, compute_normalization, training_pipeline
from tiaug.io import open_thermal
from tiaug.seeding import seed_pipeline


def test_candidate_zero_is_plain_trainings_sample_and_the_others_differ(config):
    norm = compute_normalization(config.data)
    plain = TrainingSet(config.data, norm, functools.partial(training_pipeline, config))
    candidates = CandidateSet(config, norm, clean=True)
    sampler = CandidateSampler(StepSampler(48, 4, config.seed, 0, 2), candidates=3)
    differ = []
    for item, (row, seed, augment) in zip(
        sampler.batch(1), StepSampler(48, 4, config.seed, 0, 2).batch(1), strict=True
    ):
        assert item[:2] == (row, seed) and item[2][0] == seed and item[3] == () and item[4] is augment is True
        images, masks, extras = candidates[item]
        image, mask = plain[(row, seed, augment)]
        assert images.shape == (3, 1, 48, 64) and masks.shape == (3, 48, 64) and set(extras) == {"clean"}
        assert torch.equal(images[0], image) and torch.equal(masks[0], mask)
        differ.append(not torch.equal(images[1], images[0]) or not torch.equal(images[2], images[0]))
        assert torch.equal(masks[1], masks[0])  # the same geometry (labels kept under occluders)
        assert extras["clean"].shape == (1, 48, 64)
    assert any(differ)  # fresh photometric draws (each applies its steps with p = 0.5)


def test_the_clean_view_is_the_geometry_alone(config):
    norm = compute_normalization(config.data)
    geometry, photometry = split_pipeline(training_pipeline(config))
    assert type(geometry.transforms[-1]).__name__ == "RandomCrop"
    assert "TiAugOcclusion" in [type(t).__name__ for t in photometry.transforms]
    _, masks, extras = CandidateSet(config, norm, clean=True)[(5, 11, (11, 12), (), True)]
    seed_pipeline(geometry, 11)
    with open_thermal(config.data) as reader:
        batch = reader.read_batch(5, 6)
    expected = geometry(image=batch.images[0], mask=batch.masks[0])
    assert torch.equal(extras["clean"][0], torch.from_numpy(norm(expected["image"].astype(np.float32))))
    assert np.array_equal(masks[0].numpy(), expected["mask"])  # pixel-aligned with the candidates


def test_bandit_arms_travel_with_the_sample_and_unapplied_ones_read_minus_one(config):
    norm = compute_normalization(config.data)
    factors = active_factors(config)
    bandit = LossBandit([len(f.arms) for f in factors])
    sampler = CandidateSampler(StepSampler(48, 8, config.seed, 0, 1), candidates=2, bandit=bandit)
    dataset = CandidateSet(config, norm, factors)
    reported = []
    for item in sampler.batch(0):
        drawn = np.array(item[3])
        _, _, extras = dataset[item]
        assert set(extras) == {"arms"} and extras["arms"].shape == (2, len(factors))
        arms = extras["arms"].numpy()
        assert np.all((arms == drawn) | (arms == -1))
        reported.append(arms)
    reported = np.concatenate(reported)
    occlusion = [i for i, f in enumerate(factors) if f.steered.transform == "TiAugOcclusion"]
    assert (reported[:, occlusion] >= 0).any() and (reported[:, occlusion] == -1).any()  # p = 0.5
    # one column per transform: the occlusion factors are applied or not together
    assert all(len(set(row[occlusion] >= 0)) == 1 for row in reported)
    assert dataset.photometry(tuple(item[3][0])) is dataset.photometry(tuple(item[3][0]))  # built once per arms
