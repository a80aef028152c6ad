"""A framework-agnostic map-style dataset over a thermal HDF5 file (no torch import).

    ds = ThermalH5Dataset("train.h5", transform=A.Compose([...]))
    sample = ds[0]            # {"image": (H, W) float32 degrees Celsius, "mask": (H, W) uint8 or None}

It works as a PyTorch ``Dataset`` (``len`` and ``__getitem__``) and in plain loops. The HDF5 file is opened
lazily, once per process: a dataset created in the parent survives ``fork`` into DataLoader workers (each
worker opens its own handle; HDF5 handles must not be shared across processes) and can be pickled for
``spawn``.

Augmentation differs per sample, per DataLoader worker and per epoch: before each sample the transform is
reseeded (``transform.set_random_seed``, which every Albumentations transform and ``Compose`` has). With
``seed=S`` the seed of sample ``i`` in epoch ``e`` is drawn from ``(S, e, i)``, as ``samcl-train`` does: the
same whatever the number of workers or the order of the samples, so a run is reproducible; call
``ds.set_epoch(e)`` before each epoch (as with ``DistributedSampler``; workers started by the DataLoader for
that epoch see it, so keep ``persistent_workers=False``). Without a seed every sample draws fresh entropy
(each worker process and each epoch's workers their own)::

    ds = ThermalH5Dataset("train.h5", transform=paper_training_pipeline(), seed=0)
    loader = DataLoader(ds, batch_size=16, shuffle=True, num_workers=2, collate_fn=...)
    for epoch in range(10):
        ds.set_epoch(epoch)
        for batch in loader: ...
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from tiaug.io.h5.atomic import PathLike
from tiaug.io.h5.reader import ThermalH5Reader
from tiaug.seeding import seed_pipeline


class ThermalH5Dataset:
    """Samples ``{"image": (H, W) float32 degC, "mask": (H, W) uint8 or None}`` of a thermal HDF5 file.

    ``transform`` is called Albumentations-style, ``transform(image=..., mask=...)`` (``mask`` only when the
    file has masks), and must return a dict with ``"image"`` (and ``"mask"``). Every row is validated when
    read (NaN/inf pixels raise ``ThermalDataError``); the file's structure is validated on construction.
    """

    def __init__(
        self, path: PathLike, transform: Callable[..., dict[str, Any]] | None = None, seed: int | None = None
    ) -> None:
        self.path = Path(path)
        self.transform = transform
        self.seed = seed
        self.epoch = 0
        self._entropy = int(np.random.SeedSequence().generate_state(1)[0]) if seed is None else 0  # fresh runs differ
        with ThermalH5Reader(self.path) as r:  # validate now, in the parent, then close
            self._len = r.n
            self.classes = r.classes
            self.has_masks = r.has_masks
            self.image_shape = (r.height, r.width)
        self._reader: ThermalH5Reader | None = None
        self._pid: int | None = None
        self._fresh: tuple[int, np.random.Generator] | None = None  # (process id, its stream) without a seed

    def set_epoch(self, epoch: int) -> None:
        """The epoch whose augmentation the next samples get (with a ``seed``: sample seeds from (seed, epoch, i))."""
        self.epoch = int(epoch)

    def sample_seed(self, index: int) -> int:
        """The transform's seed for sample ``index``: from (seed, epoch, index), or fresh without a seed."""
        if self.seed is not None:
            return int(np.random.SeedSequence([int(self.seed), self.epoch, int(index)]).generate_state(1)[0])
        if self._fresh is None or self._fresh[0] != os.getpid():  # a new process (worker): its own stream
            key = [self._entropy, os.getpid(), _worker_seed(), self.epoch]
            self._fresh = (os.getpid(), np.random.default_rng(key))
        return int(self._fresh[1].integers(2**32))

    def __len__(self) -> int:
        return self._len

    def _open(self) -> ThermalH5Reader:
        if self._reader is None or self._pid != os.getpid():
            self._reader = ThermalH5Reader(self.path)  # a forked child never reuses the parent's handle
            self._pid = os.getpid()
        return self._reader

    def __getitem__(self, index: int) -> dict[str, Any]:
        if not isinstance(index, int | np.integer):
            raise TypeError(f"index must be an integer, got {type(index).__name__}")
        if not -self._len <= index < self._len:
            raise IndexError(f"index {index} out of range for {self._len} images")
        index = int(index) % self._len
        image, mask = self._open().read(index)
        if self.transform is None:
            return {"image": image, "mask": mask}
        seed_pipeline(self.transform, self.sample_seed(index))
        out = self.transform(image=image, mask=mask) if mask is not None else self.transform(image=image)
        return {"image": out["image"], "mask": out.get("mask")}

    def close(self) -> None:
        """Close this process's file handle (reopened on the next access)."""
        if self._reader is not None and self._pid == os.getpid():
            self._reader.close()
        self._reader = None

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_reader"] = None
        state["_pid"] = None
        state["_fresh"] = None
        return state

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            self.close()


def _worker_seed() -> int:
    """The seed PyTorch gave this DataLoader worker (new for every epoch's workers), or 0 outside one; torch is
    not imported for it."""
    torch = sys.modules.get("torch")
    info = torch.utils.data.get_worker_info() if torch is not None else None
    return int(info.seed) if info is not None else 0
