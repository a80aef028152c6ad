"""Albumentations pipelines as files: loading one safely, and what ``tiaug augment`` needs to know of it."""

from __future__ import annotations

from pathlib import Path

import albumentations as A

import tiaug.transforms
from tiaug.config_files import read_config_data
from tiaug.errors import UserError, one_line


def load_pipeline(path: str | Path) -> A.Compose:
    """An Albumentations pipeline saved with ``A.save`` as JSON (.json) or YAML (.yaml/.yml)."""
    path = Path(path)
    try:
        loaded = A.from_dict(read_config_data(path))  # bounded, without YAML aliases
    except FileNotFoundError:
        raise ValueError(f"pipeline config {path}: file not found") from None
    except Exception as e:  # malformed file or unknown transform
        raise UserError(f"pipeline config {path}: cannot load an Albumentations pipeline ({one_line(e)})") from None
    return loaded if isinstance(loaded, A.Compose) else A.Compose([loaded])


def with_saved_params(pipeline: A.BaseCompose) -> A.Compose:
    """The pipeline wrapped so its results carry ``applied_transforms`` (provenance)."""
    return A.Compose(
        list(pipeline.transforms) if isinstance(pipeline, A.Compose) else [pipeline], save_applied_params=True
    )


def ignore_index_of(pipeline: A.BaseCompose, default: int | None = None) -> int | None:
    """The label a TiAugOcclusion with the "ignore" mask policy writes, if the pipeline has one."""
    for node in getattr(pipeline, "transforms", []):
        if isinstance(node, tiaug.transforms.TiAugOcclusion) and node.mask_policy == "ignore":
            return node.ignore_index
        found = ignore_index_of(node)
        if found is not None:
            return found
    return default
