"""Training samples with several photometric draws: the candidates of the attack, the bandit's arms, a clean view.

The paper's pipeline is split after its crop: the geometry (flips, rotation, scale, crop) is drawn once per
sample, then each of ``C`` candidates gets its own draw of everything after it (room, occluders, blur, camera
drift, stripes, noise). Every Albumentations transform owns a generator seeded with the pipeline's seed, so
candidate 0, drawn with the sample's own seed, is exactly the sample that plain training sees; the geometry
output, before any photometric step, is the "clean" view that the consistency term compares with.

A sampler item is ``(row, sample seed, candidate seeds, arms, augment)`` (``augment`` False: a sample the
augmentation warm-up or ramp leaves out, whose candidates get the photometry without TiAug and the scene steps);
the dataset returns
``(images (C, 1, H, W) float32, masks (C, H, W) int64, extras)``: ``extras["arms"]`` (C, F) int64 with a bandit
(the arm of factor ``f`` candidate ``c`` was drawn with, or -1 when its transform was not applied to it) and
``extras["clean"]`` (1, H, W) with the clean view.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

import albumentations as A
import numpy as np
import torch
from torch.utils.data import Sampler, get_worker_info

from samcl.artifacts.normalization import Normalization
from samcl.training.bandit import Factor, LossBandit, arm_overrides
from samcl.training.data import StepSampler, aug_schedule, training_pipeline, view_seed
from samcl.training.distributed import World
from tiaug.io import ThermalH5Reader, open_thermal
from tiaug.seeding import seed_pipeline
from tiaug.signals import as_worker

if TYPE_CHECKING:
    from samcl.training.config import TrainConfig


def split_pipeline(pipeline: A.Compose, save_applied_params: bool = False) -> tuple[A.Compose, A.Compose]:
    """(geometry, photometry): the transforms up to the pipeline's ``RandomCrop``, and those after it."""
    transforms = list(pipeline.transforms)
    crops = [i for i, t in enumerate(transforms) if isinstance(t, A.RandomCrop)]
    if not crops:
        raise ValueError("the pipeline has no RandomCrop to split its geometry from its photometry at")
    cut = crops[-1] + 1
    return A.Compose(transforms[:cut]), A.Compose(transforms[cut:], save_applied_params=save_applied_params)


#: row, sample seed, candidate seeds, arms, augment
Item = tuple[int, int, tuple[int, ...], tuple[tuple[int, ...], ...], bool]


class CandidateSampler(Sampler):
    """The batches of a :class:`StepSampler` (``steps``) whose items carry ``candidates`` photometric seeds per
    sample and, with a bandit, each candidate's arms (drawn in the main process from the weights of the batch's
    step)."""

    def __init__(self, steps: StepSampler, candidates: int = 1, bandit: LossBandit | None = None) -> None:
        self.steps, self.candidates, self.bandit = steps, candidates, bandit

    def batch(self, step: int) -> list[Item]:
        steps = self.steps
        first = (step * steps.world_size + steps.rank) * steps.batch_size
        items = []
        for sample, (row, seed, augment) in enumerate(steps.batch(step), start=first):
            seeds = tuple(view_seed(seed, c) for c in range(self.candidates))
            arms = () if self.bandit is None else self.bandit.draw(step, steps.seed, sample, self.candidates)
            items.append((row, seed, seeds, tuple(tuple(int(a) for a in c) for c in arms), augment))
        return items

    def __iter__(self) -> Iterator[list[Item]]:
        for step in range(self.steps.start, self.steps.stop):
            yield self.batch(step)

    def __len__(self) -> int:
        return len(self.steps)


class CandidateSet(torch.utils.data.Dataset):
    """Samples as C candidates (see the module docstring), for ``config``'s augmentation.

    ``factors`` are the bandit's (none: every candidate uses ``config``'s arguments); ``clean`` adds the clean
    view. The HDF5 file and the pipelines are opened lazily in each worker; photometric pipelines are built per
    combination of arms and kept.
    """

    def __init__(
        self, config: TrainConfig, normalization: Normalization, factors: Sequence[Factor] = (), clean: bool = False
    ) -> None:
        self.config, self.normalization, self.factors, self.clean = config, normalization, tuple(factors), clean
        self._reader: ThermalH5Reader | None = None
        self._geometry: A.Compose | None = None
        self._photometry: dict[tuple[tuple[int, ...], bool], A.Compose] = {}

    def __len__(self) -> int:
        with open_thermal(self.config.data) as reader:
            return reader.n

    def photometry(self, arms: tuple[int, ...], augment: bool = True) -> A.Compose:
        """The photometric pipeline for one combination of arms (``()``: the configuration's own), without TiAug
        and the scene steps when not ``augment``."""
        key = (arms, augment)
        if key not in self._photometry:
            overrides: dict[str, Any] = arm_overrides(self.factors, arms, self.config)
            config = dataclasses.replace(self.config, **overrides)
            self._photometry[key] = split_pipeline(training_pipeline(config, augment), save_applied_params=True)[1]
        return self._photometry[key]

    def _tensor(self, image: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray(self.normalization(np.asarray(image, dtype=np.float32))))[None]

    def _opened(self) -> tuple[ThermalH5Reader, A.Compose]:
        """The file and the geometry pipeline, opened on first use in this process."""
        if self._reader is None or self._geometry is None:
            if get_worker_info() is not None:
                as_worker()  # Ctrl-C and SIGTERM are the training process's to handle
            self._reader = open_thermal(self.config.data, require_masks=True)
            self._geometry = split_pipeline(training_pipeline(self.config))[0]
        return self._reader, self._geometry

    def __getitem__(self, item: Item) -> tuple[torch.Tensor, torch.Tensor, dict[str, torch.Tensor]]:
        reader, geometry = self._opened()
        row, seed, seeds, arms, augment = item
        batch = reader.read_batch(row, row + 1)
        seed_pipeline(geometry, seed)
        base = geometry(image=batch.images[0], mask=batch.masks[0])
        images, masks, applied = [], [], []
        for c, candidate_seed_ in enumerate(seeds):
            chosen = arms[c] if arms else ()
            pipeline = self.photometry(chosen, augment)
            seed_pipeline(pipeline, candidate_seed_, first=len(geometry.transforms))
            out = pipeline(image=base["image"], mask=base["mask"])
            names = {name for name, _ in out["applied_transforms"]}
            applied.append(
                [a if f.steered.transform in names else -1 for f, a in zip(self.factors, chosen, strict=True)]
            )
            images.append(self._tensor(out["image"]))
            masks.append(torch.from_numpy(out["mask"].astype(np.int64)))
        extras: dict[str, torch.Tensor] = {}
        if self.factors:
            extras["arms"] = torch.tensor(applied, dtype=torch.int64)
        if self.clean:
            extras["clean"] = self._tensor(base["image"])
        return torch.stack(images), torch.stack(masks), extras

    def __getstate__(self) -> dict[str, Any]:  # open handles do not travel to worker processes
        return {**self.__dict__, "_reader": None, "_geometry": None, "_photometry": {}}


def candidate_data(
    config: TrainConfig,
    normalization: Normalization,
    n_rows: int,
    start: int,
    world: World,
    bandit: LossBandit | None = None,
    factors: Sequence[Factor] = (),
) -> tuple[CandidateSet, CandidateSampler]:
    """The dataset and batch sampler of a run whose add-ons need candidates, arms or the clean view: steps
    ``start .. config.iters - 1`` of this process, ``max(1, config.adversarial_k)`` candidates per sample."""
    steps = StepSampler(
        n_rows, config.batch_size, config.seed, start, config.iters, world.rank, world.size, aug_schedule(config)
    )
    sampler = CandidateSampler(steps, max(1, config.adversarial_k), bandit)
    return CandidateSet(config, normalization, factors, clean=config.consistency > 0), sampler
