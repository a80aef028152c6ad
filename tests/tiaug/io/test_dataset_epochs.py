"""``ThermalH5Dataset`` in a DataLoader: fresh augmentation per sample, worker and epoch, reproducible given a seed."""

from __future__ import annotations

import numpy as np
import pytest

from tests.helpers.h5files import SIZE
from tiaug.io import write_thermal_h5
from tiaug.io.dataset import ThermalH5Dataset
from tiaug.presets import tiaug_pipeline

torch = pytest.importorskip("torch")
ROWS = 8


@pytest.fixture(scope="module")
def identical_rows(tmp_path_factory, faces):
    path = tmp_path_factory.mktemp("epochs") / "same.h5"
    write_thermal_h5(path, np.repeat(faces.images[:1], ROWS, axis=0), np.repeat(faces.masks[:1], ROWS, axis=0))
    return path


def _epochs(path, seed: int | None, epochs: int = 2) -> list[list[bytes]]:
    """The augmented images of every epoch, in sample order, from a DataLoader with 2 workers."""
    dataset = ThermalH5Dataset(path, transform=tiaug_pipeline(save_applied_params=False), seed=seed)
    loader = torch.utils.data.DataLoader(dataset, batch_size=2, num_workers=2, collate_fn=list)
    outputs = []
    for epoch in range(epochs):
        dataset.set_epoch(epoch)
        outputs.append([sample["image"].tobytes() for batch in loader for sample in batch])
    return outputs


@pytest.mark.parametrize("seed", [7, None])
def test_fresh_per_sample_worker_and_epoch(identical_rows, seed):
    first, second = _epochs(identical_rows, seed)
    assert len(first) == len(second) == ROWS
    assert len(set(first)) == ROWS and len(set(second)) == ROWS  # no two outputs of an epoch alike
    assert not set(first) & set(second)  # epoch 2 differs from epoch 1
    again = _epochs(identical_rows, seed)
    if seed is None:
        assert not set(first) & set(again[0])  # without a seed, every run is fresh
    else:
        assert again == [first, second]  # the same seed reproduces both epochs


def test_same_seed_whatever_the_workers(identical_rows):
    dataset = ThermalH5Dataset(identical_rows, transform=tiaug_pipeline(save_applied_params=False), seed=7)
    dataset.set_epoch(1)
    alone = [dataset[i]["image"].tobytes() for i in range(ROWS)]
    assert alone == _epochs(identical_rows, 7)[1]
    assert dataset[3]["image"].shape == SIZE
