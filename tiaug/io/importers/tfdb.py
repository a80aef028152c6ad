"""Import the Thermal Face Database (Kopaczka et al.) into the HDF5 contract (``tiaug import-tfdb``).

Temperature arrays (``.npy``, degrees Celsius) beside menpo ``.ljson`` landmark files of the same name, searched
recursively. Masks are built from the landmark groups (``tiaug.io.importers.landmarks.mask_from_landmarks``) after the
optional centre crop and resize, so they stay sharp. The subject of a file is the second ``_``-separated field
of its name (``irface_sub012_seq03_frm00042.npy`` -> ``sub012``); a subject-wise split sends all images of a
subject to the same side. Conversion, plausibility checks and outputs as in :mod:`tiaug.io.importers.folder`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

from tiaug.io.errors import ThermalDataError
from tiaug.io.h5.atomic import PathLike, atomic_outputs, check_output_path
from tiaug.io.h5.codecs import DEFAULT_COMPRESSION
from tiaug.io.h5.writer import STR
from tiaug.io.importers import landmarks as lmk
from tiaug.io.importers.folder import ImageSink, Size, crop_and_resize, load_raw
from tiaug.io.readers.units import stored_to_celsius
from tiaug.progress import ProgressCallback, reported

TFDB_COLUMNS = {"source_file": STR, "subject": STR}


@dataclass(frozen=True)
class TfdbItem:
    """One Thermal Face Database image: its temperature array, its landmark file and its subject id."""

    image: Path
    ljson: Path
    subject: str


def subject_of(path: PathLike, required: bool = True) -> str:
    """Subject id of a Thermal Face Database file: the second ``_``-separated field of its name.

    A name without one is refused when ``required``, else gives an empty string.
    """
    parts = Path(path).stem.split("_")
    if len(parts) < 2 or not parts[1]:
        if not required:
            return ""
        raise ThermalDataError(
            path, None, "no subject id: a subject-wise split needs names like <prefix>_<subject>_<rest>.npy"
        )
    return parts[1]


def find_tfdb_items(folder: PathLike, *, skip_unlabelled: bool = False, need_subject: bool = False) -> list[TfdbItem]:
    """Pair every ``.npy`` under ``folder`` (recursively, sorted) with the ``.ljson`` of the same name."""
    root = Path(folder)
    if not root.is_dir():
        raise ThermalDataError(folder, None, "is not a folder")
    items, missing = [], []
    for npy in sorted(p for p in root.rglob("*") if p.suffix.lower() == ".npy" and p.is_file()):
        lj = npy.with_suffix(".ljson")
        if not lj.is_file():
            missing.append(npy)
            continue
        items.append(TfdbItem(npy, lj, subject_of(npy, required=need_subject)))
    if missing and not skip_unlabelled:
        shown = ", ".join(str(p.relative_to(root)) for p in missing[:3])
        raise ThermalDataError(
            folder,
            None,
            f"{len(missing)} .npy file(s) have no .ljson landmark file beside them (e.g. {shown}); "
            "add the landmarks or pass --skip-unlabelled",
        )
    if not items:
        raise ThermalDataError(folder, None, "no .npy temperature arrays with .ljson landmark files found")
    return items


def split_subjects(subjects: Iterable[str], fraction: float, seed: int) -> set[str]:
    """Pick the validation subjects: ``round(fraction * n)`` of them (at least 1, at most n - 1) at random."""
    unique = sorted(set(subjects))
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"the validation fraction must be between 0 and 1, got {fraction}")
    if len(unique) < 2:
        raise ValueError(f"a subject-wise split needs at least 2 subjects, found {len(unique)}: {unique}")
    n_val = min(len(unique) - 1, max(1, round(fraction * len(unique))))
    order = np.random.default_rng(seed).permutation(len(unique))
    return {unique[i] for i in order[:n_val]}


def split_paths(out: PathLike) -> tuple[Path, Path]:
    """``OUT.h5`` -> (``OUT_train.h5``, ``OUT_val.h5``), the two files of a subject-wise split."""
    p = Path(out)
    suffix = p.suffix or ".h5"
    return p.with_name(f"{p.stem}_train{suffix}"), p.with_name(f"{p.stem}_val{suffix}")


def import_tfdb(
    folder: PathLike,
    out: PathLike,
    *,
    crop: Size | None = None,
    size: Size | None = None,
    split_val: float | None = None,
    seed: int = 0,
    overwrite: bool = False,
    scale: float | None = None,
    offset: float | None = None,
    forehead: float = 0.45,
    brow_thickness: float = 0.09,
    skip_unlabelled: bool = False,
    compression: str | None = DEFAULT_COMPRESSION,
    progress: ProgressCallback | None = None,
) -> dict[str, int]:
    """Import a Thermal Face Database folder; return {output path: number of images}.

    Integer pixels are converted as ``raw * scale + offset``; float pixels are degrees Celsius as stored.

    Without ``split_val`` everything goes to ``out``; with it, to ``split_paths(out)`` (train, val), the
    validation side holding about ``split_val`` of the subjects, chosen with ``seed``.
    """
    root = Path(folder)
    outputs = [Path(out)] if split_val is None else list(split_paths(out))
    for p in outputs:  # refuse a bad output before reading anything
        check_output_path(p, overwrite=overwrite, inputs=[root])
    items = find_tfdb_items(root, skip_unlabelled=skip_unlabelled, need_subject=split_val is not None)
    val_subjects = split_subjects([i.subject for i in items], split_val, seed) if split_val is not None else set()
    marks = [lmk.read_ljson(i.ljson) for i in items]
    counts = {len(pts) for pts, _ in marks}
    n_points = counts.pop() if len(counts) == 1 else None
    attrs = {
        "tiaug/import": {
            "source": "thermal-face-database",
            "crop": crop,
            "resize": size,
            "forehead": forehead,
            "brow_thickness": brow_thickness,
            "scale": scale,
            "offset": offset,
            "split_val": split_val,
            "seed": seed,
        }
    }
    with atomic_outputs(outputs, overwrite=overwrite, inputs=[root]) as tmps:
        files = [h5py.File(t, "w") for t in tmps]
        try:
            sinks = [
                ImageSink(f, True, n_points, TFDB_COLUMNS, compression, {**attrs, "tiaug/split": name})
                for f, name in zip(files, ["all"] if split_val is None else ["train", "val"], strict=True)
            ]
            for item, (pts, groups) in reported(list(zip(items, marks, strict=True)), progress):
                image = stored_to_celsius(load_raw(item.image), item.image, scale, offset)
                image, _, pts = crop_and_resize(image, None, pts, crop, size, item.image)
                assert pts is not None  # landmarks in, landmarks out
                mask = lmk.mask_from_landmarks(
                    pts, groups, image.shape, forehead=forehead, brow_thickness=brow_thickness
                )
                sink = sinks[1] if item.subject in val_subjects else sinks[0]
                extra = {"source_file": str(item.image.relative_to(root)), "subject": item.subject}
                sink.append(image, mask, pts if n_points else None, extra, item.image)
            result = {}
            for p, s in zip(outputs, sinks, strict=True):
                if s.writer is None:
                    raise ThermalDataError(p, None, "no images would go to this output")
                result[str(p)] = s.writer.finish()
        finally:
            for f in files:
                f.close()
    return result
