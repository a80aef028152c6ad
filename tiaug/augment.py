"""Augment an HDF5 thermal dataset row by row, reproducibly, with any number of worker processes.

Each output row (source row i, copy c) is augmented with the pipeline re-seeded from
``SeedSequence(seed, spawn_key=(i, c))``, so the result depends only on the seed and the row, never on how
rows are split among workers: the same seed gives a byte-identical ``images`` dataset whatever ``workers`` is.
Rows are read, augmented and written in batches, so memory stays flat whatever the file size.
"""

from __future__ import annotations

import itertools
import json
import multiprocessing
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import albumentations as A
import numpy as np

import tiaug.transforms
from tiaug import __version__
from tiaug.io.atomic import check_output_path
from tiaug.io.h5_reader import ThermalH5Reader, open_thermal
from tiaug.io.h5_writer import DEFAULT_COMPRESSION, JSON, create_thermal_h5
from tiaug.provenance import applied_params

# Albumentations transforms that clip float images to [0, 1] or fill borders with 0 (i.e. 0 degrees Celsius)
CLIPPING_TRANSFORMS = {"GaussianBlur", "MotionBlur", "GaussNoise", "Downscale", "Sharpen", "RandomBrightnessContrast"}
ZERO_FILL_TRANSFORMS = {"Rotate", "Affine", "PadIfNeeded", "SafeRotate", "ShiftScaleRotate"}


@dataclass(frozen=True)
class AugmentJob:
    """What to do with each input row: ``copies`` augmented rows (plus the original first if asked)."""

    pipeline: dict[str, Any]  # A.to_dict of the pipeline
    seed: int
    copies: int
    keep_original: bool


def row_seed(seed: int, row: int, copy: int) -> int:
    """The pipeline seed of copy ``copy`` of input row ``row``: independent of batching and workers."""
    return int(np.random.SeedSequence(int(seed), spawn_key=(int(row), int(copy))).generate_state(1)[0])


def load_pipeline(path: str | Path) -> A.Compose:
    """An Albumentations pipeline saved with ``A.save`` as JSON (.json) or YAML (.yaml/.yml)."""
    path = Path(path)
    fmt = "yaml" if path.suffix.lower() in {".yaml", ".yml"} else "json"
    try:
        loaded = A.load(str(path), data_format=fmt)
    except FileNotFoundError:
        raise ValueError(f"pipeline config {path}: file not found") from None
    except Exception as e:  # malformed file or unknown transform
        raise ValueError(f"pipeline config {path}: cannot load an Albumentations pipeline ({e})") from None
    return loaded if isinstance(loaded, A.Compose) else A.Compose([loaded])


def with_saved_params(pipeline: A.BaseCompose) -> A.Compose:
    """The pipeline wrapped so its results carry ``applied_transforms`` (provenance)."""
    return A.Compose(list(pipeline.transforms) if isinstance(pipeline, A.Compose) else [pipeline],
                     save_applied_params=True)  # fmt: skip


def temperature_warnings(pipeline: A.BaseCompose) -> list[str]:
    """Warnings for transforms that would destroy temperatures in degrees Celsius (outside TemperatureSafe)."""
    import cv2

    warnings = []

    def walk(node: Any, protected: bool) -> None:
        name = type(node).__name__
        if isinstance(node, tiaug.transforms.TemperatureSafe):
            protected = True
        if name in CLIPPING_TRANSFORMS and not protected:
            warnings.append(f"{name} clips float images to [0, 1]: wrap it in TemperatureSafe([...])")
        if name in ZERO_FILL_TRANSFORMS and getattr(node, "border_mode", None) == cv2.BORDER_CONSTANT:
            warnings.append(
                f"{name} fills borders with {getattr(node, 'fill', 0)} C: use border_mode=cv2.BORDER_REFLECT_101"
            )
        for child in getattr(node, "transforms", []):
            walk(child, protected)

    walk(pipeline, False)
    return warnings


def ignore_index_of(pipeline: A.BaseCompose, default: int | None = None) -> int | None:
    """The label a TiAugOcclusion with the "ignore" mask policy writes, if the pipeline has one."""
    for node in getattr(pipeline, "transforms", []):
        if isinstance(node, tiaug.transforms.TiAugOcclusion) and node.mask_policy == "ignore":
            return node.ignore_index
        found = ignore_index_of(node)
        if found is not None:
            return found
    return default


class _RowAugmenter:
    """Applies a job to batches of rows; one instance per process (built from the job's pipeline dict)."""

    def __init__(self, job: AugmentJob) -> None:
        self.job = job
        self.pipeline = with_saved_params(A.from_dict(job.pipeline))

    def one(self, image: np.ndarray, mask: np.ndarray | None, row: int, copy: int) -> tuple:
        self.pipeline.set_random_seed(row_seed(self.job.seed, row, copy))
        data = {"image": image} if mask is None else {"image": image, "mask": mask}
        result = self.pipeline(**data)
        out_image = np.asarray(result["image"], dtype=np.float32)
        if out_image.ndim == 3 and out_image.shape[2] == 1:
            out_image = out_image[:, :, 0]
        out_mask = None if mask is None else np.asarray(result["mask"]).reshape(out_image.shape[:2])
        return out_image, out_mask, json.dumps(applied_params(result), separators=(",", ":"))

    def batch(self, rows: np.ndarray, images: np.ndarray, masks: np.ndarray | None) -> dict[str, Any]:
        """Augment a batch of input rows: output images, masks, source indices and params, in output order."""
        out_images, out_masks, sources, params = [], [], [], []
        for k, row in enumerate(rows.tolist()):
            mask = None if masks is None else masks[k]
            if self.job.keep_original:
                out_images.append(images[k])
                out_masks.append(mask)
                sources.append(row)
                params.append("[]")
            for copy in range(self.job.copies):
                image, new_mask, record = self.one(images[k], mask, row, copy)
                out_images.append(image)
                out_masks.append(new_mask)
                sources.append(row)
                params.append(record)
        shapes = {im.shape for im in out_images}
        if len(shapes) > 1:
            raise ValueError(f"the pipeline produced images of different sizes {sorted(shapes)}: add a crop/resize")
        return {
            "images": np.stack(out_images),
            "masks": None if masks is None else np.stack(out_masks).astype(np.uint8),
            "source_index": np.asarray(sources, dtype=np.int64),
            "params": params,
        }


# -- worker processes ----------------------------------------------------------------------------------------
_WORKER: dict[str, Any] = {}


def _init_worker(in_path: str, job: AugmentJob) -> None:
    _WORKER["augmenter"] = _RowAugmenter(job)
    _WORKER["reader"] = ThermalH5Reader(in_path)


def _work(span: tuple[int, int]) -> dict[str, Any]:
    batch = _WORKER["reader"].read_batch(*span)
    return _WORKER["augmenter"].batch(batch.index, batch.images, batch.masks)


def _results(in_path: Path, job: AugmentJob, n_rows: int, batch_size: int, workers: int) -> Iterator[dict[str, Any]]:
    """Augmented batches in input order; with workers > 1 at most 2 * workers batches are in flight."""
    spans = [(a, min(a + batch_size, n_rows)) for a in range(0, n_rows, batch_size)]
    if workers <= 1:
        _init_worker(str(in_path), job)
        try:
            yield from map(_work, spans)
        finally:
            _WORKER.pop("reader").close()
        return
    context = multiprocessing.get_context("fork")
    with context.Pool(workers, initializer=_init_worker, initargs=(str(in_path), job)) as pool:
        pending: deque = deque()
        queue = iter(spans)
        for span in queue:
            pending.append(pool.apply_async(_work, (span,)))
            if len(pending) >= 2 * workers:
                break
        while pending:
            result = pending.popleft().get()
            for span in queue:
                pending.append(pool.apply_async(_work, (span,)))
                break
            yield result


def augment_file(
    in_path: str | Path,
    out_path: str | Path,
    pipeline: A.BaseCompose,
    *,
    seed: int = 0,
    copies: int = 1,
    keep_original: bool = False,
    workers: int = 1,
    batch_size: int = 32,
    overwrite: bool = False,
    compression: str | None = DEFAULT_COMPRESSION,
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """Write ``copies`` augmented rows per input row (and the original first if ``keep_original``) to OUT.

    OUT holds ``images`` (float32 degrees Celsius), ``masks`` (when IN has them), ``source_index`` (int64 input
    row of each output row), ``tiaug/params`` (one JSON list of applied transforms and their sampled parameters
    per row; "[]" for kept originals), and the attributes ``tiaug/pipeline`` (the pipeline, ``A.to_dict``) and
    ``tiaug/augment`` (seed, copies, input) so the run can be repeated. OUT is written to a temporary file and
    renamed when complete. ``progress(rows done, input rows)`` is called after each batch.
    Returns the number of output rows.
    """
    if copies < 0 or (copies == 0 and not keep_original):
        raise ValueError("nothing to write: use --copies >= 1 (or --keep-original with --copies 0)")
    in_path = Path(in_path)
    check_output_path(out_path, overwrite=overwrite, inputs=[in_path])
    with open_thermal(in_path) as reader:
        n_rows, has_masks, classes, input_ignore = reader.n, reader.has_masks, reader.classes, reader.ignore_index
    job = AugmentJob(A.to_dict(pipeline), int(seed), int(copies), bool(keep_original))
    attrs = {
        "tiaug/pipeline": json.dumps(job.pipeline),
        "tiaug/augment": {"version": __version__, "seed": job.seed, "copies": copies, "keep_original": keep_original,
                          "input": in_path.name, "input_rows": n_rows},
    }  # fmt: skip
    results = _results(in_path, job, n_rows, batch_size, workers)
    first = next(results)
    out_height, out_width = first["images"].shape[1:]
    written = 0
    with create_thermal_h5(out_path, out_height, out_width, overwrite=overwrite, inputs=[in_path], masks=has_masks,
                           classes=classes, compression=compression, attrs=attrs,
                           ignore_index=ignore_index_of(pipeline, input_ignore)) as writer:  # fmt: skip
        writer.add_column("source_index", np.int64)
        writer.add_column("tiaug/params", JSON)
        for result in itertools.chain([first], results):
            writer.append(result["images"], result["masks"],
                          extra={"source_index": result["source_index"], "tiaug/params": result["params"]})  # fmt: skip
            written += len(result["images"])
            if progress is not None:
                progress(int(result["source_index"][-1]) + 1, n_rows)
    return written
