"""Segmenting camera frames as they come: a folder of camera files, a recording, or a live UVC camera.

Frames are read one at a time through :mod:`tiaug.io.readers`, segmented in batches and written at once, so
memory stays one batch whatever the recording's length. Per frame, into the output folder:

- ``<name>_mask.png`` (class index per pixel) and, with ``overlays``, ``<name>_overlay.png``; ``<name>`` is the
  file's stem, plus ``_<frame:05d>`` for multi-frame files (``camera<N>_<frame:06d>`` for a camera);
- one row of ``<input>_regions.csv``: pixels, mean and max temperature of every class (:mod:`samcl.inference.regions`);
- with ``h5``, a row of ``<input>_masks.h5`` (images, predicted masks, source, source_index).

Each batch's files and CSV rows are written with Ctrl-C and SIGTERM held back until they are complete, and the
files go through a temporary name, so an interrupted run (the only way to end a live camera short of
``max_frames``) leaves complete outputs for every frame it did; the HDF5 file is finished and renamed then too.
A file that cannot be read is skipped with its name and problem (frames of it done before stay).
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import os
import re
import signal
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from samcl.inference.files import render_overlay, write_mask_png
from samcl.inference.regions import RegionsCSV
from tiaug.io import STR, OutputPathError, ThermalDataError, ThermalH5Writer, atomic_h5
from tiaug.io.h5.atomic import check_not_an_input, temporary_path
from tiaug.io.readers import Frame, FrameSource, ReadOptions, folder_files, is_device, open_camera, open_source
from tiaug.signals import deferred_signals

if TYPE_CHECKING:  # torch loads with the model, not with the module
    from samcl.inference.predictor import Predictor

OnSkip = Callable[[str], None]


@dataclass
class StreamSummary:
    """What :func:`predict_stream` did."""

    out: Path
    frames: int = 0
    files: int = 0
    skipped: list[str] = field(default_factory=list)
    csv: str | None = None
    h5: str | None = None
    interrupted: str | None = None  # "Ctrl-C" or "SIGTERM" when a signal ended the run


def _stem(source: FrameSource) -> str:
    path = getattr(source, "path", None)
    return Path(path).stem if path is not None else re.sub(r"\W+", "", source.name)


def input_name(spec: str | Path) -> str:
    """The name of the run's CSV/HDF5 outputs: a file's stem, a folder's name, ``camera<N>``."""
    if is_device(spec):
        return "camera" + re.sub(r"\D+", "", str(spec))
    p = Path(spec)
    return p.name if p.is_dir() else p.stem


def iter_sources(spec: str | Path, fmt: str, options: ReadOptions, on_skip: OnSkip) -> Iterator[FrameSource]:
    """The sources of INPUT: a camera, every readable file of a folder (others go to ``on_skip``), or one file."""
    if is_device(spec):
        yield open_camera(str(spec))
        return
    path = Path(spec)
    if not path.exists():
        raise ThermalDataError(path, None, "input not found")
    if not path.is_dir():
        yield open_source(path, fmt, options)
        return
    files = folder_files(path, fmt)
    for h5 in sorted(p for p in path.iterdir() if p.suffix.lower() in (".h5", ".hdf5")):
        on_skip(f"{h5}: an HDF5 file among camera files; segment it on its own (samcl-predict ... {h5.name})")
    if not files:
        raise ThermalDataError(path, None, "the folder holds no files of a supported format")
    for file in files:
        try:
            source = open_source(file, fmt, options)
        except Exception as e:  # any reader failure skips the file, whatever it raised
            on_skip(str(e) if str(file) in str(e) else f"{file}: {e}")
            continue
        yield source


class _Outputs:
    """The files of one run, created on the first frame and written batch by batch.

    Every file goes through :meth:`check` (not an input, by name or through a symbolic or hard link; not there
    already unless ``overwrite``) and a temporary name renamed into place: masks and overlays per frame; the CSV
    once its first rows are written (later rows are appended to the renamed file, so it can be followed while a
    camera runs); the HDF5 file when the run ends (interrupted or not). A link planted at an output's name is
    replaced, never written through.
    """

    def __init__(
        self,
        model: Predictor,
        out: Path,
        name: str,
        overlays: bool,
        h5: bool,
        overwrite: bool,
        inputs: list,
        fps: float | None = None,
        percentiles: tuple[float, ...] = (),
    ) -> None:
        self.model, self.out, self.overlays, self.overwrite = model, out, overlays, overwrite
        self.inputs = [Path(p) for p in inputs]
        self.fps = fps
        self.frame_offset = 0  # frames of the folder's earlier files: ``frame`` runs across the folder
        self.csv_path = self.check(out / f"{name}_regions.csv")
        self.h5_path = self.check(out / f"{name}_masks.h5") if h5 else None
        self.csv = RegionsCSV(temporary_path(self.csv_path, hidden=True), model.classes, percentiles=percentiles)
        self.csv_published = False
        self.stack = contextlib.ExitStack()
        self.stack.callback(self._finish_csv)
        self.writer: ThermalH5Writer | None = None

    def check(self, target: Path) -> Path:
        """The one output check of the stream: ``target`` is not an input and may be (over)written."""
        try:
            os.lstat(target)
        except FileNotFoundError:  # no entry at that name: neither an input nor a link to one
            return target
        check_not_an_input(target, self.inputs)
        if target.is_dir() or ((target.exists() or target.is_symlink()) and not self.overwrite):
            raise OutputPathError(f"{target}: exists already; pass --overwrite to replace the outputs")
        return target

    def write_file(self, target: Path, write: Callable[[Path], None]) -> None:
        """Write ``target`` through a temporary name after :meth:`check`."""
        self.check(target)
        tmp = temporary_path(target, hidden=True)
        try:
            write(tmp)
            os.replace(tmp, target)
        finally:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()

    def _add_rows(self, rows: list) -> None:
        self.csv.add(rows)
        if not self.csv_published:  # the open file follows the rename: later rows go to the final name
            self.check(self.csv_path)
            os.replace(self.csv.path, self.csv_path)
            self.csv_published = True

    def _finish_csv(self) -> None:
        self.csv.close()
        if not self.csv_published:
            with contextlib.suppress(FileNotFoundError):
                self.csv.path.unlink()

    def _h5_writer(self, source: FrameSource, shape: tuple[int, int]) -> ThermalH5Writer:
        if self.writer is None:
            h5_file = self.stack.enter_context(atomic_h5(self.h5_path, overwrite=self.overwrite, inputs=self.inputs))
            meta = {"checkpoint": str(self.model.source), "model": self.model.spec["name"]}
            self.writer = ThermalH5Writer(
                h5_file, *shape, classes=self.model.classes, compression="lzf", attrs={"samcl/predict": meta}
            )
            self.writer.add_column("source", STR)
            self.writer.add_column("source_index", np.int64)
        if shape != (self.writer.height, self.writer.width):
            raise ThermalDataError(
                source.name,
                None,
                f"frames are {shape[0]}x{shape[1]}, earlier ones {self.writer.height}x{self.writer.width}: "
                "--h5 needs one size",
            )
        return self.writer

    def write(self, source: FrameSource, base: str, frames: list[Frame], images: np.ndarray, labels: np.ndarray):
        """Masks, overlays, CSV rows and HDF5 rows of one batch (refused whole if its size does not fit)."""
        self.out.mkdir(parents=True, exist_ok=True)
        writer = self._h5_writer(source, images.shape[1:]) if self.h5_path is not None else None
        rows = []
        for k, frame in enumerate(frames):
            name = f"{base}_{frame.index:05d}" if source.stacked else base
            self.write_file(self.out / f"{name}_mask.png", functools.partial(write_mask_png, labels[k]))
            if self.overlays:
                title = source.where(frame.index)
                self.write_file(
                    self.out / f"{name}_overlay.png",
                    functools.partial(render_overlay, images[k], labels[k], self.model.classes, title=title),
                )
            number = self.frame_offset + frame.index
            stamp = number / self.fps if self.fps else frame.meta.get("timestamp")
            rows.append((Path(source.name).name, number, name, stamp, images[k], labels[k]))
        self._add_rows(rows)
        if writer is not None:
            extra = {"source": [Path(source.name).name] * len(frames), "source_index": [f.index for f in frames]}
            writer.append(images, labels, extra=extra)


def predict_stream(
    model: Predictor,
    spec: str | Path,
    out: str | Path,
    *,
    fmt: str = "auto",
    options: ReadOptions | None = None,
    every: int = 1,
    max_frames: int | None = None,
    batch_size: int = 1,
    overlays: bool = False,
    h5: bool = False,
    overwrite: bool = False,
    fps: float | None = None,
    percentiles: tuple[float, ...] = (),
    progress: Callable[[int, int | None], None] | None = None,
    on_skip: OnSkip | None = None,
) -> StreamSummary:
    """Segment every ``every``-th frame of INPUT ``spec`` (at most ``max_frames``) into the folder ``out``.

    The CSV's ``frame`` is the frame's position in the input (across a folder's files in name order);
    ``fps`` makes ``timestamp`` ``frame / fps`` seconds (else the file's own timestamps, where it has them);
    ``percentiles`` (0..100) add columns per class.

    Returns a :class:`StreamSummary`; an interruption (Ctrl-C, SIGTERM) ends the run with complete outputs for
    the frames done and ``interrupted`` set. Raises ThermalDataError / OutputPathError when nothing could be
    segmented or an output is refused.
    """
    if every < 1 or batch_size < 1 or (max_frames is not None and max_frames < 1):
        raise ValueError(f"need every >= 1, batch size >= 1, max frames >= 1; got {every}, {batch_size}, {max_frames}")
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise OutputPathError(f"{out}: exists and is not a folder; --out names the folder to write into")
    if not is_device(spec) and Path(spec).is_dir() and out.exists() and os.path.samefile(spec, out):
        raise OutputPathError(f"{out}: the output folder is the input folder; write the predictions elsewhere")
    name = input_name(spec)
    summary = StreamSummary(out)
    skip_log = summary.skipped

    def skip(message: str) -> None:
        skip_log.append(message)
        if on_skip is not None:
            on_skip(message)

    inputs = [model.source] + ([] if is_device(spec) else [Path(spec)])
    outputs = _Outputs(model, out, name, overlays, h5, overwrite, inputs, fps, percentiles)
    with outputs.stack:
        try:
            with contextlib.closing(_frames(spec, fmt, options or ReadOptions(), every, skip)) as sources:
                _run(model, sources, max_frames, batch_size, outputs, summary, skip, progress)
        except KeyboardInterrupt:
            summary.interrupted = "Ctrl-C"
        except SystemExit as e:
            if e.code != 128 + signal.SIGTERM:
                raise
            summary.interrupted = "SIGTERM"
        if summary.frames == 0 and summary.interrupted is None:
            problems = "; ".join(skip_log[:3]) if skip_log else "no frames"
            raise ThermalDataError(spec, None, f"nothing could be segmented: {problems}")
        if outputs.writer is not None:
            outputs.writer.finish()
            assert outputs.h5_path is not None  # the writer writes it
            summary.h5 = outputs.h5_path.name
    if summary.frames:
        summary.csv = outputs.csv_path.name
    return summary


def _frames(
    spec: str | Path, fmt: str, options: ReadOptions, every: int, skip: OnSkip
) -> Generator[tuple[FrameSource, str, Iterator[Frame]], None, None]:
    """(source, output base name, its frames) for every source of INPUT; repeated names are skipped."""
    stems: dict[str, str] = {}
    for source in iter_sources(spec, fmt, options, skip):
        with source:
            base = _stem(source)
            if base in stems:
                skip(f"{source.name}: would write the same output names as {stems[base]}; rename one of them")
                continue
            stems[base] = source.name
            yield source, base, source.frames(step=every)


def _run(
    model: Predictor,
    sources: Iterator[tuple[FrameSource, str, Iterator[Frame]]],
    max_frames: int | None,
    batch_size: int,
    outputs: _Outputs,
    summary: StreamSummary,
    skip: OnSkip,
    progress: Callable[[int, int | None], None] | None,
) -> None:
    for source, base, frames in sources:
        summary.files += 1
        done, after_last = 0, 0
        while True:
            left = None if max_frames is None else max_frames - summary.frames
            if left is not None and left <= 0:
                return
            try:
                batch = list(itertools.islice(frames, batch_size if left is None else min(batch_size, left)))
            except Exception as e:  # any reader failure skips the rest of the file, never the run
                problem = str(e) if source.name in str(e) else f"{source.name}: {e}"
                skip(f"{problem} (the {done} frames before it were segmented)" if done else problem)
                break
            if not batch:
                break
            after_last = batch[-1].index + 1
            images = np.stack([f.image for f in batch])
            labels = model.predict(images)
            with deferred_signals():
                try:
                    outputs.write(source, base, batch, images, labels)
                except ThermalDataError as e:
                    skip(str(e))
                    break
                summary.frames += len(batch)
                done += len(batch)
            if progress is not None:
                progress(summary.frames, max_frames)
        outputs.frame_offset += after_last
