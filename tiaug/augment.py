"""Augment an HDF5 thermal dataset row by row, reproducibly, with any number of worker processes.

Each output row (source row i, copy c) is augmented with the pipeline re-seeded from
``SeedSequence(seed, spawn_key=(i, c))``, so the result depends only on the seed and the row, never on how
rows are split among workers: the same seed gives a byte-identical ``images`` dataset whatever ``workers`` is.
Rows are read, augmented and written in batches, so memory stays flat whatever the file size.

The work is pipelined: worker processes (``workers``, forked) each read their batch of input rows from the file
themselves and write the augmented rows straight into one of a few shared-memory batch buffers; the main
process only writes finished buffers to OUT, in order, while the workers work on the next batches. Pixels cross
a process boundary once (the worker's copy into the buffer) and are never pickled. OUT is created for its final
number of rows, so uncompressed images and masks go from the buffers to the disk past the page cache
(:mod:`tiaug.io.h5.direct_rows`).
"""

from __future__ import annotations

import contextlib
import json
import mmap
import multiprocessing
import multiprocessing.pool
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import albumentations as A
import numpy as np

from tiaug import __version__
from tiaug.errors import portable
from tiaug.io.h5 import reader as reader_module
from tiaug.io.h5.atomic import check_output_path
from tiaug.io.h5.codecs import DEFAULT_COMPRESSION
from tiaug.io.h5.reader import ThermalH5Reader, open_thermal, rows_within
from tiaug.io.h5.writer import JSON, create_thermal_h5
from tiaug.pipeline_files import ignore_index_of, with_saved_params
from tiaug.provenance import applied_params
from tiaug.safety import OutputCheck, check_pipeline
from tiaug.seeding import seed_pipeline
from tiaug.signals import as_worker


@dataclass(frozen=True)
class AugmentJob:
    """What to do with each input row: ``copies`` augmented rows (plus the original first if asked)."""

    pipeline: dict[str, Any]  # A.to_dict of the pipeline
    seed: int
    copies: int
    keep_original: bool

    @property
    def rows_per_input(self) -> int:
        """Output rows written for each input row."""
        return self.copies + int(self.keep_original)


def row_seed(seed: int, row: int, copy: int) -> int:
    """The pipeline seed of copy ``copy`` of input row ``row``: independent of batching and workers."""
    return int(np.random.SeedSequence(int(seed), spawn_key=(int(row), int(copy))).generate_state(1)[0])


class _RowAugmenter:
    """Applies a job to batches of rows; one instance per process (built from the job's pipeline dict)."""

    def __init__(self, job: AugmentJob) -> None:
        self.job = job
        self.pipeline = with_saved_params(A.from_dict(job.pipeline))
        self.check = OutputCheck(self.pipeline)

    def one(self, image: np.ndarray, mask: np.ndarray | None, row: int, copy: int) -> tuple:
        """Copy ``copy`` of input row ``row``: (image (H, W) float32, mask (H, W) or None, params JSON)."""
        seed_pipeline(self.pipeline, row_seed(self.job.seed, row, copy))
        data = {"image": image} if mask is None else {"image": image, "mask": mask}
        result = self.pipeline(**data)
        out_image = np.asarray(result["image"], dtype=np.float32)
        if out_image.ndim == 3 and out_image.shape[2] == 1:
            out_image = out_image[:, :, 0]
        applied = [name for name, _ in result["applied_transforms"]]
        self.check(image, out_image, f"row {row} (copy {copy})", applied)
        out_mask = None if mask is None else np.asarray(result["mask"]).reshape(out_image.shape[:2])
        return out_image, out_mask, json.dumps(applied_params(result), separators=(",", ":"))

    def output_size(self, image: np.ndarray, mask: np.ndarray | None) -> tuple[int, int]:
        """(height, width) of the first output row of input row 0 (every output row must have it)."""
        if self.job.keep_original:
            return image.shape[:2]
        return self.one(image, mask, 0, 0)[0].shape

    def fill(
        self, rows: Sequence[int], images: np.ndarray, masks: np.ndarray | None, out: _Slot
    ) -> tuple[list[int], list[str]]:
        """Augment a batch of input rows into ``out`` (in output order); return source rows and params JSON."""
        sources: list[int] = []
        params: list[str] = []
        for k, row in enumerate(rows):
            mask = None if masks is None else masks[k]
            if self.job.keep_original:
                out.put(len(sources), images[k], mask)
                sources.append(row)
                params.append("[]")
            for copy in range(self.job.copies):
                image, new_mask, record = self.one(images[k], mask, row, copy)
                out.put(len(sources), image, new_mask)
                sources.append(row)
                params.append(record)
        return sources, params


@dataclass
class _Slot:
    """One output batch buffer: images (R, H, W) float32 and masks (R, H, W) uint8 or None (shared memory)."""

    images: np.ndarray
    masks: np.ndarray | None

    def put(self, k: int, image: np.ndarray, mask: np.ndarray | None) -> None:
        if image.shape != self.images.shape[1:]:
            raise ValueError(
                f"the pipeline produced an image of size {image.shape}, other rows are {self.images.shape[1:]}: "
                "every output row must have the same size (add a crop or resize)"
            )
        self.images[k] = image
        if self.masks is not None:
            self.masks[k] = mask


class _SharedSlots:
    """``count`` output batch buffers in one anonymous shared memory map, inherited by forked workers."""

    def __init__(self, count: int, rows: int, height: int, width: int, masks: bool) -> None:
        pixels = rows * height * width
        self.count = count
        self._map = mmap.mmap(-1, count * pixels * (5 if masks else 4))  # float32 images + uint8 masks
        self._images = np.frombuffer(self._map, np.float32, count * pixels).reshape(count, rows, height, width)
        self._masks = (
            np.frombuffer(self._map, np.uint8, count * pixels, offset=count * pixels * 4).reshape(self._images.shape)
            if masks
            else None
        )

    def __getitem__(self, index: int) -> _Slot:
        return _Slot(self._images[index], None if self._masks is None else self._masks[index])


# -- worker processes ----------------------------------------------------------------------------------------
_WORKER: dict[str, Any] = {}


def _output_size(job: AugmentJob, image: np.ndarray, mask: np.ndarray | None) -> tuple[int, int]:
    try:
        return _RowAugmenter(job).output_size(image, mask)
    except Exception as error:
        raise portable(error) from None


def _probe_output_size(job: AugmentJob, image: np.ndarray, mask: np.ndarray | None) -> tuple[int, int]:
    """Output (height, width), computed in a short-lived child: this process runs no OpenCV before it forks the
    workers (a thread pool OpenCV started here would not survive the fork and could hang them)."""
    probe = multiprocessing.get_context("fork").Pool(1, initializer=as_worker)
    with _ended(probe):
        return probe.apply(_output_size, (job, image, mask))


def _init_worker(in_path: str, job: AugmentJob, slots: _SharedSlots, trusted: bool) -> None:
    as_worker()  # Ctrl-C and SIGTERM are the parent's to handle; the worker ends with its parent
    _WORKER["augmenter"] = _RowAugmenter(job)
    _WORKER["reader"] = ThermalH5Reader(in_path, trusted=trusted)
    _WORKER["slots"] = slots


def _work(span: tuple[int, int], slot: int) -> tuple[int, list[int], list[str]]:
    """Augment input rows ``span`` into shared slot ``slot``; return (slot, source rows, params JSON).

    Any error goes back to the parent in a form that unpickles there (an exception that cannot be rebuilt
    would kill the pool's result thread and hang the parent)."""
    try:
        batch = _WORKER["reader"].read_batch(*span)
        slot_ = _WORKER["slots"][slot]
        sources, params = _WORKER["augmenter"].fill(batch.index.tolist(), batch.images, batch.masks, slot_)
    except Exception as error:
        raise portable(error) from None
    return slot, sources, params


@contextlib.contextmanager
def _ended(pool: multiprocessing.pool.Pool) -> Iterator[None]:
    """Close ``pool`` when the block succeeds; on any exception (a bad row, a stop signal) end it at once: no
    replacement workers, every worker killed. ``Pool.terminate`` waits for its workers cooperatively and can
    wait forever when a signal ended one of them inside the task queue's lock. The pool's worker handler is
    stopped before any worker is killed: otherwise it can replace the killed workers, and a replacement blocks
    for good on the task queue's lock that a killed worker held, so interpreter exit waits for it forever
    (private attributes of multiprocessing.pool, Python 3.10+)."""
    try:
        yield
    except BaseException:
        internals: Any = pool  # its private attributes, untyped
        internals._worker_handler._state = multiprocessing.pool.TERMINATE
        internals._change_notifier.put(None)  # wakes the handler, which then sees TERMINATE and returns
        internals._worker_handler.join(timeout=5)
        workers = list(internals._pool)
        for process in workers:
            process.kill()
        for process in workers:
            process.join(timeout=5)
        internals._terminate.cancel()  # nothing left for terminate() / interpreter exit to wait for
        pool.terminate()  # marks the pool ended (its clean-up was cancelled above)
        raise
    pool.close()
    pool.join()


class _Pipeline:
    """Worker processes augmenting batches into shared slots; the caller writes each slot, in input order.

    At most ``slots.count`` batches are in flight (one per slot): memory stays flat whatever the file size.
    Start it (``with``) before opening the output file, so that no open HDF5 file is forked.
    """

    def __init__(self, in_path: Path, job: AugmentJob, workers: int, slots: _SharedSlots, trusted: bool) -> None:
        import cv2

        self.slots = slots
        # OpenCV's thread pool does not survive fork (a child using it can hang): workers are forked with OpenCV
        # single-threaded, which is also what one process per core wants; this process keeps its own setting
        threads = cv2.getNumThreads()
        cv2.setNumThreads(1)
        try:
            self._pool = multiprocessing.get_context("fork").Pool(
                workers, initializer=_init_worker, initargs=(str(in_path), job, slots, trusted)
            )
        finally:
            cv2.setNumThreads(threads)

    def __enter__(self) -> _Pipeline:
        self._ended = _ended(self._pool)
        self._ended.__enter__()
        return self

    def __exit__(self, *exc: Any) -> bool | None:
        # every batch done: the workers finish their loop; any error: they are killed at once (see _ended)
        return self._ended.__exit__(*exc)

    def results(self, spans: Sequence[tuple[int, int]]) -> Iterator[tuple[_Slot, list[int], list[str]]]:
        """(slot, source rows, params) per span, in order; a slot is reused once the caller asks for more."""
        free, queue = deque(range(self.slots.count)), iter(spans)
        pending: deque[Any] = deque()

        def submit() -> None:
            for span in queue:
                pending.append(self._pool.apply_async(_work, (span, free.popleft())))
                return

        while len(pending) < self.slots.count and len(pending) < len(spans):
            submit()
        while pending:
            slot, sources, params = pending.popleft().get()
            yield self.slots[slot], sources, params
            free.append(slot)
            submit()


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
    timings: dict[str, float] | None = None,
    other_inputs: Iterable[str | Path] = (),
    allow_unsafe: bool = False,
    trusted: bool = False,
) -> int:
    """Write ``copies`` augmented rows per input row (and the original first if ``keep_original``) to OUT.

    OUT holds ``images`` (float32 degrees Celsius), ``masks`` (when IN has them), ``source_index`` (int64 input
    row of each output row), ``tiaug/params`` (one JSON list of applied transforms and their sampled parameters
    per row; "[]" for kept originals), and the attributes ``tiaug/pipeline`` (the pipeline, ``A.to_dict``) and
    ``tiaug/augment`` (seed, copies, input) so the run can be repeated. OUT is written to a temporary file and
    renamed when complete; ``compression`` is one of :data:`tiaug.io.h5.codecs.COMPRESSIONS` (None: uncompressed).
    ``workers`` processes read and augment while this one writes (see the module docstring).
    ``progress(rows done, input rows)`` is called after each batch. ``timings``, if given, receives where this
    process spent its seconds: "waiting" for the workers, "writing" rows to OUT, "committing" it (flush, fsync,
    rename) and "total". ``other_inputs`` (e.g. the pipeline's file) are protected like IN: OUT may not be one
    of them. A pipeline with transforms not known to keep degrees Celsius is refused (:mod:`tiaug.safety`)
    unless ``allow_unsafe``; every output row is checked against what the pipeline can produce either way.
    ``trusted``: IN may keep its data outside itself (external storage, links, virtual datasets; see
    :mod:`tiaug.io.h5.contained`), for files one made oneself.
    Returns the number of output rows.
    """
    clock = {"waiting": 0.0, "writing": 0.0, "committing": 0.0, "start": time.perf_counter()}
    if copies < 0 or (copies == 0 and not keep_original):
        raise ValueError("nothing to write: use --copies >= 1 (or --keep-original with --copies 0)")
    if workers < 1 or batch_size < 1:
        raise ValueError(f"workers and batch_size must be >= 1, got {workers} and {batch_size}")
    in_path = Path(in_path)
    check_pipeline(pipeline, allow_unsafe=allow_unsafe)
    inputs = [in_path, *other_inputs]
    check_output_path(out_path, overwrite=overwrite, inputs=inputs)
    job = AugmentJob(A.to_dict(pipeline), int(seed), int(copies), bool(keep_original))
    with open_thermal(in_path, trusted=trusted) as reader:
        n_rows, has_masks, classes, input_ignore = reader.n, reader.has_masks, reader.classes, reader.ignore_index
        first = reader.read_batch(0, 1)
        batch_size = reader.rows_per_batch(batch_size)
    height, width = _probe_output_size(job, first.images[0], None if first.masks is None else first.masks[0])
    batch_size = rows_within(
        reader_module.MAX_BATCH_BYTES, job.rows_per_input * height * width * (4 + has_masks), batch_size
    )
    attrs = {
        "tiaug/pipeline": json.dumps(job.pipeline),
        "tiaug/augment": {
            "version": __version__,
            "seed": job.seed,
            "copies": copies,
            "keep_original": keep_original,
            "input": in_path.name,
            "input_rows": n_rows,
        },
    }
    spans = [(a, min(a + batch_size, n_rows)) for a in range(0, n_rows, batch_size)]
    slots = _SharedSlots(min(2 * workers + 1, len(spans)), batch_size * job.rows_per_input, height, width, has_masks)
    written = 0
    with (
        _Pipeline(in_path, job, workers, slots, trusted) as pipeline_,
        create_thermal_h5(
            out_path,
            height,
            width,
            overwrite=overwrite,
            inputs=inputs,
            masks=has_masks,
            classes=classes,
            compression=compression,
            attrs=attrs,
            ignore_index=ignore_index_of(pipeline, input_ignore),
            rows=n_rows * job.rows_per_input,
        ) as writer,
    ):
        writer.add_column("source_index", np.int64)
        writer.add_column("tiaug/params", JSON)
        mark = time.perf_counter()
        for slot, sources, params in pipeline_.results(spans):
            got = time.perf_counter()
            clock["waiting"] += got - mark
            n = len(sources)
            writer.append(
                slot.images[:n],
                None if slot.masks is None else slot.masks[:n],
                extra={"source_index": sources, "tiaug/params": params},
            )
            written += n
            if progress is not None:
                progress(sources[-1] + 1, n_rows)
            mark = time.perf_counter()
            clock["writing"] += mark - got
        clock["commit_start"] = time.perf_counter()
    if timings is not None:
        end = time.perf_counter()
        timings.update(
            waiting=clock["waiting"],
            writing=clock["writing"],
            committing=end - clock["commit_start"],
            total=end - clock["start"],
        )
    return written
