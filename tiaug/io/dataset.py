"""A framework-agnostic map-style dataset over a thermal HDF5 file (no torch import).

    ds = ThermalH5Dataset("train.h5", transform=A.Compose([...]))
    sample = ds[0]            # {"image": (H, W) float32 degrees Celsius, "mask": (H, W) uint8 or None}

It works as a PyTorch ``Dataset`` (``len`` and ``__getitem__``) and in plain loops. The HDF5 file is opened
lazily, once per process: a dataset created in the parent survives ``fork`` into DataLoader workers (each
worker opens its own handle; HDF5 handles must not be shared across processes) and can be pickled for
``spawn``.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from tiaug.io.h5.atomic import PathLike
from tiaug.io.h5.reader import ThermalH5Reader


class ThermalH5Dataset:
    """Samples ``{"image": (H, W) float32 degC, "mask": (H, W) uint8 or None}`` of a thermal HDF5 file.

    ``transform`` is called Albumentations-style, ``transform(image=..., mask=...)`` (``mask`` only when the
    file has masks), and must return a dict with ``"image"`` (and ``"mask"``). Every row is validated when
    read (NaN/inf pixels raise ``ThermalDataError``); the file's structure is validated on construction.
    """

    def __init__(self, path: PathLike, transform: Callable[..., dict[str, Any]] | None = None) -> None:
        self.path = Path(path)
        self.transform = transform
        with ThermalH5Reader(self.path) as r:  # validate now, in the parent, then close
            self._len = r.n
            self.classes = r.classes
            self.has_masks = r.has_masks
            self.image_shape = (r.height, r.width)
        self._reader: ThermalH5Reader | None = None
        self._pid: int | None = None

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
        image, mask = self._open().read(int(index))
        if self.transform is None:
            return {"image": image, "mask": mask}
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
        return state

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            self.close()
