"""Scoring a checkpoint on a labelled thermal HDF5 file: clean, and under TiAug perturbations.

:func:`evaluate_file` streams the file in batches (memory: one batch, whatever the file size) and fills one
dataset-wide :class:`~samcl.metrics.ConfusionMatrix` for the clean images and one per perturbation, in a
single pass. mIoU is the mean of the per-class IoUs of that matrix (``ConfusionMatrix.miou``: a class absent
from both the ground truth and the predictions of the whole file has no IoU and is left out of the mean).

Robustness perturbations (:func:`robustness_perturbations`) answer "how well does the model hold under
occlusion?": every test image gets, with probability 1,

- ``occlusion:single`` / ``occlusion:dual`` / ``occlusion:connected``: one TiAug occlusion of that
  configuration with the poster's default ranges (size 1-40 % of the face, 2-30 vertices, temperatures in
  Tmin - span .. Tmax + span); the labels are kept (the network should segment through occluders, as in the
  paper) or, with ``occluded_labels="ignore"``, occluded pixels are left out of the score;
- ``noise:netd=X``: white sensor noise of standard deviation X degrees Celsius.

The random choices of row ``i`` under perturbation ``p`` come from
``SeedSequence(seed, spawn_key=(crc32(p.name), i))``: the numbers depend only on the seed, never on the
batch size or on which other perturbations run.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from tiaug.functional import (
    CONFIGURATIONS,
    MASK_POLICIES,
    NoiseConfig,
    OcclusionConfig,
    apply_mask_policy,
    render_occlusion,
    sample_occlusion,
    thermal_noise,
)
from tiaug.functional.occluded import MaskPolicy

if TYPE_CHECKING:
    from samcl.inference.predictor import Predictor
    from samcl.metrics import ConfusionMatrix

DEFAULT_NETD = (0.05, 0.1, 0.2)
#: Labels under occluders when scoring: the mask policies that do not relabel the face as background.
OCCLUDED_LABELS: tuple[MaskPolicy, ...] = tuple(p for p in MASK_POLICIES if p != "background")


@dataclass(frozen=True)
class Perturbation:
    """One robustness condition: ``kind`` "occlusion" (params: configuration, occluded_labels) or "noise"
    (params: netd in degrees Celsius)."""

    name: str
    kind: str
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> int:
        """Stable per-name part of the row seeds."""
        return zlib.crc32(self.name.encode())

    def rng(self, seed: int, row: int) -> np.random.Generator:
        """The generator of row ``row`` (independent of batching)."""
        return np.random.default_rng(np.random.SeedSequence(int(seed), spawn_key=(self.key, int(row))))

    def apply(
        self, images: np.ndarray, masks: np.ndarray, rows: Sequence[int], seed: int, ignore_index: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """Perturbed copies of a batch (images (B, H, W) degrees Celsius, masks (B, H, W)); inputs untouched."""
        out_images = np.empty_like(images)
        out_masks = masks.copy()
        for k, row in enumerate(rows):
            rng = self.rng(seed, row)
            if self.kind == "occlusion":
                single, dual, connected = (float(c == self.params["configuration"]) for c in CONFIGURATIONS)
                weights = (single, dual, connected)
                face = np.where(masks[k] == ignore_index, 0, masks[k])  # ignored pixels are not face
                plan = sample_occlusion(images[k], face, rng, OcclusionConfig(configuration_weights=weights))
                out_images[k] = render_occlusion(images[k], plan)
                if self.params.get("occluded_labels", OCCLUDED_LABELS[0]) == "ignore":
                    out_masks[k] = apply_mask_policy(masks[k], plan, "ignore", ignore_index)
            elif self.kind == "noise":
                netd = float(self.params["netd"])
                out_images[k] = thermal_noise(images[k], rng=rng, config=NoiseConfig(netd, netd)).image
            else:
                raise ValueError(f"unknown perturbation kind {self.kind!r}")
        return out_images, out_masks


def robustness_perturbations(
    configurations: Sequence[str] = CONFIGURATIONS,
    netd_levels: Sequence[float] = DEFAULT_NETD,
    occluded_labels: MaskPolicy = OCCLUDED_LABELS[0],
) -> list[Perturbation]:
    """The occlusion configurations (p = 1 each), then the noise levels (NETD, degrees Celsius)."""
    if occluded_labels not in OCCLUDED_LABELS:
        raise ValueError(f"occluded_labels must be one of {OCCLUDED_LABELS}, got {occluded_labels!r}")
    out = []
    for c in configurations:
        if c not in CONFIGURATIONS:
            raise ValueError(f"unknown occlusion configuration {c!r}; valid: {CONFIGURATIONS}")
        out.append(
            Perturbation(f"occlusion:{c}", "occlusion", {"configuration": c, "occluded_labels": occluded_labels})
        )
    for netd in netd_levels:
        if not (math.isfinite(netd) and netd >= 0):
            raise ValueError(f"noise levels must be finite NETDs >= 0 degrees Celsius, got {netd}")
        out.append(Perturbation(f"noise:netd={float(netd):g}", "noise", {"netd": float(netd)}))
    if len({p.name for p in out}) != len(out):
        raise ValueError(f"perturbations must differ: {[p.name for p in out]}")
    return out


def _number(x: float) -> float | None:
    """JSON-safe float (None for nan)."""
    return None if x is None or not math.isfinite(x) else float(x)


def scores(matrix: ConfusionMatrix) -> dict[str, Any]:
    """``miou``, ``per_class_iou`` (None where a class is absent everywhere), ``pixel_accuracy``, ``pixels``."""
    return {
        "miou": _number(matrix.miou()),
        "per_class_iou": [_number(v) for v in matrix.per_class_iou()],
        "pixel_accuracy": _number(matrix.pixel_accuracy()),
        "pixels": matrix.total,
    }


@dataclass
class EvaluationResult:
    """Confusion matrices of one checkpoint on one file (clean, and per perturbation)."""

    checkpoint: Path
    data: Path
    classes: tuple[str, ...]
    num_images: int
    image_size: tuple[int, int]
    ignore_index: int
    clean: ConfusionMatrix
    robustness: list[tuple[Perturbation, ConfusionMatrix]]
    seed: int | None
    model: dict[str, Any]
    device: str

    def robustness_rows(self) -> list[dict[str, Any]]:
        """One dict per perturbation: perturbation, miou, drop (clean mIoU - perturbed mIoU), per class, ..."""
        clean = _number(self.clean.miou())
        rows = []
        for p, matrix in self.robustness:
            s = scores(matrix)
            drop = None if clean is None or s["miou"] is None else clean - s["miou"]
            rows.append(
                {
                    "perturbation": p.name,
                    "miou": s["miou"],
                    "drop": drop,
                    **{k: v for k, v in s.items() if k != "miou"},
                    "params": dict(p.params),
                }
            )
        return rows

    def to_json(self) -> dict[str, Any]:
        """The JSON of ``samcl-eval --json`` (see its ``--help``)."""
        out: dict[str, Any] = {
            **scores(self.clean),
            "classes": list(self.classes),
            "num_images": self.num_images,
            "image_size": list(self.image_size),
            "ignore_index": self.ignore_index,
            "confusion_matrix": self.clean.matrix.tolist(),
            "checkpoint": str(self.checkpoint),
            "data": str(self.data),
            "model": self.model,
            "device": self.device,
        }
        if self.robustness:
            out["robustness"] = self.robustness_rows()
            out["robustness_seed"] = self.seed
        return out

    def table(self) -> str:
        """Per-class IoU, mIoU and pixel accuracy; with perturbations, a second table of their mIoU and drop."""
        s = scores(self.clean)
        width = max(14, *(len(c) for c in self.classes))

        def pct(v: float | None) -> str:
            return "     n/a" if v is None else f"{100 * v:8.2f}"

        lines = [f"{'class':<{width}} {'IoU %':>8}", "-" * (width + 9)]
        lines += [f"{c:<{width}} {pct(v)}" for c, v in zip(self.classes, s["per_class_iou"], strict=True)]
        lines += [
            "-" * (width + 9),
            f"{'mIoU':<{width}} {pct(s['miou'])}",
            f"{'pixel accuracy':<{width}} {pct(s['pixel_accuracy'])}",
        ]
        if any(v is None for v in s["per_class_iou"]):
            lines.append("n/a: class absent from both the labels and the predictions (left out of the mIoU)")
        if self.robustness:
            rows = self.robustness_rows()
            name_w = max(len("perturbation"), *(len(r["perturbation"]) for r in rows))
            widths = [max(8, min(len(c), 12)) for c in self.classes]

            def row(name: str, miou: str, drop: str, ious: list[float | None]) -> str:
                cells = " ".join(pct(v).rjust(w) for v, w in zip(ious, widths, strict=True))
                return f"{name:<{name_w}} {miou:>8} {drop:>8} {cells}"

            head = f"{'perturbation':<{name_w}} {'mIoU %':>8} {'drop':>8} " + " ".join(
                c[:w].rjust(w) for c, w in zip(self.classes, widths, strict=True)
            )
            lines += ["", f"TiAug robustness (p = 1 per row, seed {self.seed}; IoU % per class)", head]
            lines.append("-" * len(head))
            lines.append(row("clean", pct(s["miou"]), "", s["per_class_iou"]))
            for r in rows:
                drop = "n/a" if r["drop"] is None else f"{100 * r['drop']:+.2f}"
                lines.append(row(r["perturbation"], pct(r["miou"]), drop, r["per_class_iou"]))
            lines.append("drop = clean mIoU - perturbed mIoU, in percentage points")
        return "\n".join(lines)


def evaluate_file(
    model: Predictor,
    data: str | Path,
    *,
    batch_size: int = 16,
    perturbations: Sequence[Perturbation] = (),
    seed: int = 0,
    progress: Callable[[int, int], None] | None = None,
) -> EvaluationResult:
    """Score ``model`` on the labelled thermal HDF5 file ``data``, clean and under each perturbation.

    The file must have masks and the checkpoint's class names (same order). Mask values must be class indices
    or the file's ``ignore_index`` attribute (the checkpoint's ignore index when the file has none). ``progress(images
    done, images)`` is called after each batch. Raises ``ThermalDataError`` / ``ValueError``
    naming the problem; the file is only read.
    """
    if batch_size < 1:
        raise ValueError(f"batch size must be >= 1, got {batch_size}")
    # torch and h5py load with the evaluation, not with `samcl-eval --help`
    from samcl.metrics import ConfusionMatrix
    from tiaug.io import open_thermal

    data = Path(data)
    with open_thermal(data, require_masks=True) as reader:
        if tuple(reader.classes) != tuple(model.classes):
            raise ValueError(
                f"{data}: the file's classes {list(reader.classes)} differ from the checkpoint's "
                f"{list(model.classes)} ({model.source}); class indices would not mean the same thing"
            )
        ignore_index = model.ignore_index if reader.ignore_index is None else int(reader.ignore_index)
        clean = ConfusionMatrix(model.num_classes, ignore_index=ignore_index)
        perturbed = [(p, ConfusionMatrix(model.num_classes, ignore_index=ignore_index)) for p in perturbations]
        for batch in reader.iter_batches(batch_size):
            clean.update(model.predict(batch.images), batch.masks)
            for p, matrix in perturbed:
                images, masks = p.apply(batch.images, batch.masks, batch.index.tolist(), seed, ignore_index)
                matrix.update(model.predict(images), masks)
            if progress is not None:
                progress(int(batch.index[-1]) + 1, reader.n)
        return EvaluationResult(
            checkpoint=model.source,
            data=data,
            classes=model.classes,
            num_images=reader.n,
            image_size=(reader.height, reader.width),
            ignore_index=ignore_index,
            clean=clean,
            robustness=perturbed,
            seed=int(seed) if perturbations else None,
            model={"name": model.spec["name"], "kwargs": model.spec.get("kwargs", {})},
            device=str(model.device),
        )
