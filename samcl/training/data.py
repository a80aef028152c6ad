"""Training data: HDF5 thermal datasets, on-the-fly TiAug in DataLoader workers, resumable sampling.

Reproducibility and resumption rest on one rule: what a training step sees depends only on the seed and the
step's number. Batches are cut from per-epoch permutations of the rows (``SeedSequence(seed, epoch)``), in
order, so global sample ``k`` of the run is always the same row; each process of a distributed run takes its
own disjoint slice of every global batch (as ``DistributedSampler`` shards an epoch), and the augmentation of
sample ``k`` is seeded from ``(seed, k)``. Killing a run and resuming at step ``t`` therefore replays steps
``t, t+1, ...`` exactly, whatever the number of DataLoader workers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch.utils.data import Dataset, Sampler, get_worker_info

from samcl.artifacts.normalization import Normalization
from samcl.training.config import DEFAULT_CROP
from tiaug.io import ThermalH5Reader, open_thermal
from tiaug.presets import PAPER_P, SCENE_P, paper_training_pipeline, training_steps
from tiaug.seeding import seed_pipeline
from tiaug.signals import as_worker
from tiaug.transforms import TRANSFORMS

if TYPE_CHECKING:
    import albumentations as A

    from samcl.training.config import TrainConfig


def compute_normalization(path: str, max_images: int = 64, mode: str = "dataset") -> Normalization:
    """Mean and standard deviation (degrees Celsius) of the pixels of up to ``max_images`` evenly spaced rows,
    for a :class:`Normalization` of the given mode (the statistics are recorded in both)."""
    with open_thermal(path) as reader:
        return reader_normalization(reader, max_images, mode)


def reader_normalization(reader: ThermalH5Reader, max_images: int = 64, mode: str = "dataset") -> Normalization:
    """:func:`compute_normalization` of a file that is already open."""
    rows = np.unique(np.linspace(0, reader.n - 1, min(max_images, reader.n)).round().astype(int))
    images = reader.read_rows(rows.tolist()).images.astype(np.float64)
    return Normalization(float(images.mean()), float(max(images.std(), 1e-3)), mode)


def sample_seed(seed: int, sample: int) -> int:
    """Augmentation seed of global sample ``sample``."""
    return int(np.random.SeedSequence([int(seed), int(sample)]).generate_state(1)[0])


def view_seed(seed: int, view: int) -> int:
    """Augmentation seed of draw ``view`` of a sample whose seed is ``seed`` (draw 0 keeps the sample's seed)."""
    return seed if view == 0 else int(np.random.SeedSequence([int(seed), int(view)]).generate_state(1)[0])


Sample = tuple[int, int, bool]  # row, augmentation seed, whether TiAug and the scene steps apply
RAMP_STREAM = 3  # SeedSequence word of the ramp's draws


@dataclass(frozen=True)
class AugSchedule:
    """When a sample gets TiAug and the scene steps: never in the first ``clean_steps`` steps (the warm-up),
    then with a probability that grows linearly from 0 to 1 over ``ramp_steps`` steps (a draw from the sample's
    augmentation seed), then always."""

    clean_steps: int = 0
    ramp_steps: int = 0

    def augmented(self, seed: int, step: int) -> bool:
        """Whether the sample of augmentation seed ``seed`` at step ``step`` gets TiAug and the scene steps."""
        into_ramp = step - self.clean_steps
        if into_ramp < 0:
            return False
        if into_ramp >= self.ramp_steps:
            return True
        return bool(np.random.default_rng([int(seed), RAMP_STREAM]).random() < into_ramp / self.ramp_steps)


class StepSampler(Sampler):
    """Batches of :data:`Sample` for steps ``start .. stop - 1`` of a run, for one process.

    Global batch ``t`` holds samples ``t*B*W .. (t+1)*B*W - 1`` (B per process, W processes) of the epoch
    permutations; process ``rank`` gets the ``rank``-th slice of B. ``schedule`` says which samples get TiAug
    and the scene steps (all by default).
    """

    def __init__(
        self,
        n_rows: int,
        batch_size: int,
        seed: int,
        start: int,
        stop: int,
        rank: int = 0,
        world_size: int = 1,
        schedule: AugSchedule = AugSchedule(),
    ) -> None:
        self.n_rows, self.batch_size, self.seed = n_rows, batch_size, seed
        self.start, self.stop, self.rank, self.world_size = start, stop, rank, world_size
        self.schedule = schedule
        self._epoch: tuple[int, np.ndarray] | None = None

    def _permutation(self, epoch: int) -> np.ndarray:
        if self._epoch is None or self._epoch[0] != epoch:
            rng = np.random.default_rng(np.random.SeedSequence([int(self.seed), 1, int(epoch)]))
            self._epoch = (epoch, rng.permutation(self.n_rows))
        return self._epoch[1]

    def batch(self, step: int) -> list[Sample]:
        first = (step * self.world_size + self.rank) * self.batch_size
        items = []
        for sample in range(first, first + self.batch_size):
            epoch, position = divmod(sample, self.n_rows)
            row = int(self._permutation(epoch)[position])
            seed = sample_seed(self.seed, sample)
            items.append((row, seed, self.schedule.augmented(seed, step)))
        return items

    def __iter__(self) -> Iterator[list[Sample]]:
        for step in range(self.start, self.stop):
            yield self.batch(step)

    def __len__(self) -> int:
        return max(0, self.stop - self.start)


def training_pipeline(config: TrainConfig, augment: bool = True) -> A.Compose:
    """The augmentation of a training configuration: the paper's pipeline at ``config.crop``, TiAug occlusion and
    thermal noise at p = 0.5 when ``config.tiaug``, every scene step at ``SCENE_P`` when ``config.scene``
    (neither when not ``augment``: a sample the warm-up or the ramp of :class:`AugSchedule` leaves out). A
    step's arguments come from the configuration's option of the same name (``occlusion``, ``noise``,
    ``ambient``...); an "ignore" mask policy writes the configuration's ignore index (the one the loss skips)."""
    args = {name: getattr(config, name, None) or {} for name in TRANSFORMS}
    args["occlusion"] = {"ignore_index": config.ignore_index, **args["occlusion"]}
    tiaug_p = PAPER_P if config.tiaug and augment else 0.0
    steps = training_steps(tiaug_p, SCENE_P if config.scene and augment else 0.0, args)
    height, width = config.crop or DEFAULT_CROP  # a run fits the crop to its data first (preflight)
    return paper_training_pipeline(height, width, steps=steps)


class TrainingSet(Dataset):
    """Augmented, normalised training samples: item (row, seed, augment) -> (image (1, H, W) float32, mask (H, W)
    int64), or with ``views`` V > 1, V independent draws of the row (V, 1, H, W) and (V, H, W), draw 0 the same
    as with V = 1 (seeds: :func:`view_seed`).

    ``make_pipeline(augment)`` builds the augmentation (e.g. ``functools.partial(training_pipeline, config)``);
    the HDF5 file and the pipelines are opened lazily in each worker process.
    """

    def __init__(
        self, path: str, normalization: Normalization, make_pipeline: Callable[[bool], A.Compose], views: int = 1
    ) -> None:
        self.path, self.normalization, self.make_pipeline, self.views = path, normalization, make_pipeline, views
        self._reader = None
        self._pipelines: dict[bool, A.Compose] = {}

    def _open(self) -> None:
        if get_worker_info() is not None:
            as_worker()  # Ctrl-C and SIGTERM are the training process's to handle
        self._reader = open_thermal(self.path, require_masks=True)

    def pipeline(self, augment: bool) -> A.Compose:
        """The augmentation with (``augment``) or without TiAug and the scene steps, built on first use."""
        if augment not in self._pipelines:
            self._pipelines[augment] = self.make_pipeline(augment)
        return self._pipelines[augment]

    def __len__(self) -> int:
        with open_thermal(self.path) as reader:
            return reader.n

    def __getitem__(self, item: Sample) -> tuple[torch.Tensor, torch.Tensor]:
        if self._reader is None:
            self._open()
        assert self._reader is not None  # set by _open
        row, seed, augment = item
        batch = self._reader.read_batch(row, row + 1)
        pipeline, image, mask = self.pipeline(augment), batch.images[0], batch.masks[0]
        draws = [self._draw(pipeline, image, mask, view_seed(seed, v)) for v in range(self.views)]
        if self.views == 1:
            return draws[0]
        return torch.stack([image for image, _ in draws]), torch.stack([mask for _, mask in draws])

    def _draw(
        self, pipeline: A.Compose, image: np.ndarray, mask: np.ndarray, seed: int
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """One augmented, normalised draw: (1, H, W) float32 image, (H, W) int64 mask."""
        seed_pipeline(pipeline, seed)
        out = pipeline(image=image, mask=mask)
        image = self.normalization(np.asarray(out["image"], dtype=np.float32))
        return torch.from_numpy(np.ascontiguousarray(image))[None], torch.from_numpy(out["mask"].astype(np.int64))

    def __getstate__(self) -> dict[str, Any]:  # open handles do not travel to worker processes
        return {**self.__dict__, "_reader": None, "_pipelines": {}}


def aug_schedule(config: TrainConfig) -> AugSchedule:
    """A run's :class:`AugSchedule` (``--aug-warmup``, ``--aug-ramp``: fractions of ``--iters``): the network
    finds every class on lab-like samples before TiAug and the scene steps make them hard."""
    return AugSchedule(round(config.aug_warmup * config.iters), round(config.aug_ramp * config.iters))


def iter_rows(path: str, rows: list[int], batch_size: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """(images (B, H, W) C, masks (B, H, W)) for the given rows of a file, ``batch_size`` at a time."""
    with open_thermal(path, require_masks=True) as reader:
        for start in range(0, len(rows), batch_size):
            batch = reader.read_rows(rows[start : start + batch_size])
            yield batch.images, batch.masks
