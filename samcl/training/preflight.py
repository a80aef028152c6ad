"""Checks made before a run trains anything: the run folder, both data files (read whole), the network, the crop.

Every refusal is a :class:`SettingError` (a :class:`~tiaug.errors.UserError`) naming the file, folder or setting
in the user's terms (a command line adds the setting's flag), and comes before any output is written.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from samcl.artifacts.normalization import Normalization
from samcl.models import build_model, check_input_size
from samcl.training.config import DEFAULT_CROP, TrainConfig
from samcl.training.data import reader_normalization
from tiaug.errors import UserError, one_line
from tiaug.io import open_thermal
from tiaug.io.h5.atomic import check_not_an_input


class SettingError(UserError):
    """A refusal about one setting of a run, worded in the user's terms; ``setting`` is its
    :class:`~samcl.training.config.TrainConfig` key (or ``resume``), for a command line to name its flag."""

    def __init__(self, setting: str, message: str) -> None:
        super().__init__(message)
        self.setting = setting


#: What a run writes into its folder.
RUN_FILES = ("best.pt", "last.pt", "metrics.csv", "summary.json", "curves.png")
#: The two data files of a run (TrainConfig key -> what messages call it).
DATA_ROLES = {"data": "training data", "val": "validation data"}


@dataclass
class DataCheck:
    """What :func:`check_data` learnt about the two files: classes, row counts, frame sizes, normalisation."""

    classes: tuple[str, ...]
    n_train: int
    normalization: Normalization
    n_val: int = 0
    sizes: dict[str, tuple[str, int, int]] = field(default_factory=dict)  # "data"/"val" -> (path, height, width)
    ignore_index: int | None = None  # the files' ignore_index attribute, if they have one

    def check_sizes(self, model: nn.Module, model_name: str) -> None:
        """Refuse frames smaller than the network's minimum size."""
        minimum = int(getattr(model, "min_size", 1))
        for key, (path, height, width) in self.sizes.items():
            if min(height, width) < minimum:
                raise SettingError(
                    key,
                    f"{DATA_ROLES[key]} {path}: frames of {height}x{width} px are smaller than the "
                    f"{model_name} network's minimum size of {minimum}x{minimum} px",
                )


def check_run_dir(out: str | Path, *, overwrite: bool = False, inputs: Iterable[str | Path] = ()) -> list[Path]:
    """Refuse to start a run in ``out`` when it is a file or holds an earlier run (unless ``overwrite``), or when
    a run file would be one of ``inputs``. Returns the earlier run's files, for the caller to delete once the new
    run has checked its data (so a refused start leaves the earlier run as it was)."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise SettingError("out", f"run folder {out}: is a file; the run's outputs go into a folder")
    for name in RUN_FILES:
        check_not_an_input(out / name, inputs)
    earlier = [out / name for name in RUN_FILES if (out / name).exists()]
    if earlier and not overwrite:
        raise SettingError(
            "out",
            f"run folder {out}: holds an earlier run ({', '.join(p.name for p in earlier)}); resume it, write to "
            "a new folder, or allow overwriting it (samcl-train --resume / --overwrite)",
        )
    return earlier


def build_checked_model(config: TrainConfig, num_classes: int) -> nn.Module:
    """``config``'s network, refused with a message naming it and its arguments when it cannot be built or run
    (e.g. an unknown or ill-typed argument, base_width=0)."""
    try:
        model = build_model(config.model, num_classes, **config.model_kwargs)
        side = int(getattr(model, "min_size", 1))
        with torch.no_grad():
            model.eval()(torch.zeros(1, 1, side, side))  # a forward pass on the smallest input
        model.train()
    except (TypeError, ValueError, RuntimeError, ArithmeticError, AttributeError, KeyError) as e:
        given = ", ".join(f"{k}={v!r}" for k, v in config.model_kwargs.items()) or "no arguments"
        raise SettingError(
            "model", f"network {config.model} ({given}): cannot be built or run ({one_line(e)})"
        ) from None
    return model


def check_data(config: TrainConfig, normalization: Normalization | None = None) -> DataCheck:
    """Validate both files fully before training, each opened once: masks present, every pixel finite and every
    label a class (streamed), same classes. The input normalisation is ``normalization`` (a resumed run's), else
    measured on the training file."""
    found: DataCheck | None = None
    for key, path in (("data", config.data), ("val", config.val)):
        with open_thermal(path, require_masks=True) as reader:
            if found is None:
                norm = normalization or reader_normalization(reader, mode=config.input_norm)
                found = DataCheck(reader.classes, reader.n, norm)
            elif reader.classes != found.classes:
                raise SettingError(
                    "val",
                    f"validation data {path} has classes {list(reader.classes)}, the training data "
                    f"{list(found.classes)}",
                )
            else:
                found.n_val = reader.n
            if reader.ignore_index is not None:
                if found.ignore_index not in (None, reader.ignore_index):
                    raise SettingError(
                        "val",
                        f"validation data {path} marks ignored pixels with {reader.ignore_index}, the training "
                        f"data with {found.ignore_index} (attribute ignore_index); the files must agree",
                    )
                found.ignore_index = reader.ignore_index
            found.sizes[key] = (path, reader.height, reader.width)
            reader.validate_all()
    assert found is not None
    return found


def with_data_ignore_index(config: TrainConfig, data: DataCheck) -> TrainConfig:
    """The configuration with the data's ignore index (attribute ``ignore_index``, e.g. written by ``tiaug augment
    --mask-policy ignore``): losses and scores must skip the label the files use. A configured ignore index that
    differs from the files' is refused."""
    if data.ignore_index is None or data.ignore_index == config.ignore_index:
        return config
    if config.ignore_index != TrainConfig.default("ignore_index"):
        raise SettingError(
            "ignore_index",
            f"training data {config.data}: marks ignored pixels with {data.ignore_index} (attribute ignore_index) but "
            f"the configuration says ignore_index: {config.ignore_index}; remove it from the configuration",
        )
    return dataclasses.replace(config, ignore_index=data.ignore_index)


def with_fitted_crop(
    config: TrainConfig, data: DataCheck, model: nn.Module, notice: Callable[[str], None] | None = None
) -> TrainConfig:
    """The configuration with a crop: the one configured, else the training frames' own size up to
    :data:`~samcl.training.config.DEFAULT_CROP` per side, rounded down to the network's size multiple (what was
    cut off is said through ``notice``). The crop is then checked against the network."""
    if config.crop is None:
        _, height, width = data.sizes["data"]
        multiple = int(getattr(model, "size_multiple", 1))
        fits = (_fit(height, DEFAULT_CROP[0], multiple), _fit(width, DEFAULT_CROP[1], multiple))
        wanted = (min(height, DEFAULT_CROP[0]), min(width, DEFAULT_CROP[1]))
        if fits != wanted and notice is not None:
            notice(
                f"Note: training crop {fits[0]}x{fits[1]}: the training frames are {height}x{width} px and the "
                f"{config.model} network takes sides that are multiples of {multiple} px"
            )
        config = dataclasses.replace(config, crop=fits)
    height, width = config.crop or DEFAULT_CROP
    try:
        check_input_size(model, height, width)
    except ValueError as e:
        raise SettingError("crop", f"training crop {height}x{width}: {e}") from None
    return config


def _fit(side: int, most: int, multiple: int) -> int:
    """The largest multiple of ``multiple`` that is at most ``side`` and ``most`` (at least ``multiple``)."""
    return max(multiple, min(side, most) // multiple * multiple)
