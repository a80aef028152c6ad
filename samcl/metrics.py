"""Dataset-wide segmentation metrics from a confusion matrix, mergeable across processes.

``ConfusionMatrix(num_classes, ignore_index=255)`` accumulates ``matrix[t, p]`` = number of pixels of
true class ``t`` predicted as ``p`` (int64), over every ``update`` call. From it:

- ``per_class_iou()``: ``IoU_c = TP_c / (TP_c + FP_c + FN_c)`` over the whole dataset. A class that
  appears in neither predictions nor targets (denominator 0) has IoU **nan**.
- ``miou()``: the mean of ``per_class_iou`` over all classes, ignoring the nan ones (``nanmean``):
  a class absent from both predictions and ground truth is excluded, while a class present in
  either counts, with IoU 0 if it is never predicted correctly. nan if nothing was counted.
- ``pixel_accuracy()``: trace / total.

Pixels whose target equals ``ignore_index`` are skipped; any other target or prediction outside
``[0, num_classes)`` raises ValueError. Accumulators merge with ``merge`` / ``+``, serialise with
``state()`` / ``from_state()``, and :func:`all_reduce_confusion_matrix` sums them over
``torch.distributed`` processes when a process group is initialised.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from tiaug.labels import IGNORE_INDEX


def _to_numpy_labels(x: Any) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    return np.asarray(x)


class ConfusionMatrix:
    """Accumulates a (num_classes, num_classes) int64 confusion matrix ``[true, predicted]``."""

    def __init__(self, num_classes: int, ignore_index: int | None = IGNORE_INDEX):
        if num_classes < 1:
            raise ValueError(f"num_classes must be >= 1, got {num_classes}")
        self.num_classes = int(num_classes)
        self.ignore_index = ignore_index
        self.matrix = np.zeros((self.num_classes, self.num_classes), dtype=np.int64)

    # -- accumulation -----------------------------------------------------------------------------
    def update(self, pred: Any, target: Any) -> ConfusionMatrix:
        """Add a batch. ``target``: integer labels of any shape; ``pred``: labels of the same shape,
        or scores/logits with one extra class axis at position 1 ((B, C, H, W) for (B, H, W)
        targets), which are arg-maxed. torch tensors (any device) or numpy arrays."""
        if isinstance(pred, torch.Tensor) and isinstance(target, torch.Tensor):
            self.matrix += self._batch_matrix_torch(pred, target)
            return self
        p, t = _to_numpy_labels(pred), _to_numpy_labels(target)
        if p.ndim == t.ndim + 1:
            if p.shape[1] != self.num_classes:
                raise ValueError(f"scores have {p.shape[1]} classes, expected {self.num_classes}")
            p = p.argmax(axis=1)
        if p.shape != t.shape:
            raise ValueError(f"prediction shape {p.shape} does not match target shape {t.shape}")
        if np.issubdtype(t.dtype, np.floating) or np.issubdtype(p.dtype, np.floating):
            raise ValueError("labels must be integers (got floating-point labels)")
        t = t.astype(np.int64).ravel()
        p = p.astype(np.int64).ravel()
        keep = np.ones_like(t, dtype=bool) if self.ignore_index is None else t != self.ignore_index
        t, p = t[keep], p[keep]
        self._check_range(t, p)
        n = self.num_classes
        self.matrix += np.bincount(t * n + p, minlength=n * n).reshape(n, n)
        return self

    def _batch_matrix_torch(self, pred: torch.Tensor, target: torch.Tensor) -> np.ndarray:
        n = self.num_classes
        if pred.dim() == target.dim() + 1:
            if pred.shape[1] != n:
                raise ValueError(f"scores have {pred.shape[1]} classes, expected {n}")
            pred = pred.argmax(dim=1)
        if pred.shape != target.shape:
            raise ValueError(f"prediction shape {tuple(pred.shape)} does not match target shape {tuple(target.shape)}")
        if torch.is_floating_point(target) or torch.is_floating_point(pred):
            raise ValueError("labels must be integers (got floating-point labels)")
        t = target.reshape(-1).long()
        p = pred.reshape(-1).long().to(t.device)
        if self.ignore_index is not None:
            keep = t != self.ignore_index
            t, p = t[keep], p[keep]
        self._check_range(t, p)
        return torch.bincount(t * n + p, minlength=n * n).reshape(n, n).cpu().numpy().astype(np.int64)

    def _check_range(self, t, p) -> None:
        n = self.num_classes
        for name, arr in (("target", t), ("prediction", p)):
            if len(arr) and (int(arr.min()) < 0 or int(arr.max()) >= n):
                raise ValueError(
                    f"{name} holds labels outside [0, {n}) (min {int(arr.min())}, max {int(arr.max())}) "
                    f"that are not the ignore_index ({self.ignore_index})"
                )

    def reset(self) -> None:
        self.matrix[:] = 0

    # -- merging ----------------------------------------------------------------------------------
    def _check_compatible(self, other: ConfusionMatrix) -> None:
        if other.num_classes != self.num_classes or other.ignore_index != self.ignore_index:
            raise ValueError(
                f"cannot merge confusion matrices with different settings: "
                f"({self.num_classes}, {self.ignore_index}) vs ({other.num_classes}, {other.ignore_index})"
            )

    def merge(self, other: ConfusionMatrix) -> ConfusionMatrix:
        """Add ``other``'s counts into this one (in place); returns self."""
        self._check_compatible(other)
        self.matrix += other.matrix
        return self

    def __add__(self, other: ConfusionMatrix) -> ConfusionMatrix:
        out = ConfusionMatrix(self.num_classes, self.ignore_index)
        out.matrix = self.matrix.copy()
        return out.merge(other)

    def state(self) -> dict[str, Any]:
        """A JSON-serialisable snapshot."""
        return {
            "num_classes": self.num_classes,
            "ignore_index": self.ignore_index,
            "matrix": self.matrix.tolist(),
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> ConfusionMatrix:
        out = cls(state["num_classes"], state["ignore_index"])
        m = np.asarray(state["matrix"], dtype=np.int64)
        if m.shape != out.matrix.shape:
            raise ValueError(f"state matrix has shape {m.shape}, expected {out.matrix.shape}")
        out.matrix = m.copy()
        return out

    # -- metrics ----------------------------------------------------------------------------------
    @property
    def total(self) -> int:
        return int(self.matrix.sum())

    def per_class_iou(self) -> np.ndarray:
        """(num_classes,) float64 dataset-wide IoU; nan for a class absent from predictions and targets."""
        m = self.matrix.astype(np.float64)
        tp = np.diag(m)
        denom = m.sum(0) + m.sum(1) - tp
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(denom > 0, tp / np.where(denom > 0, denom, 1), np.nan)

    def miou(self) -> float:
        """Mean IoU over classes, nan classes (absent everywhere) excluded; nan if nothing counted."""
        iou = self.per_class_iou()
        if np.all(np.isnan(iou)):
            return float("nan")
        return float(np.nanmean(iou))

    def pixel_accuracy(self) -> float:
        """Correct pixels / counted pixels (nan if none counted)."""
        total = self.matrix.sum()
        return float(np.trace(self.matrix) / total) if total else float("nan")

    def summary(self) -> dict[str, Any]:
        """``{'miou', 'per_class_iou' (list, None for nan), 'pixel_accuracy', 'pixels'}``."""
        per = [None if np.isnan(v) else float(v) for v in self.per_class_iou()]
        return {
            "miou": self.miou(),
            "per_class_iou": per,
            "pixel_accuracy": self.pixel_accuracy(),
            "pixels": self.total,
        }


def all_reduce_confusion_matrix(cm: ConfusionMatrix, device: torch.device | str | None = None) -> ConfusionMatrix:
    """Sum ``cm`` over all ``torch.distributed`` processes in place (a no-op when not initialised).

    ``device``: where the reduction tensor lives (default: the current CUDA device for the NCCL
    backend, CPU otherwise). Returns ``cm``.
    """
    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized()):
        return cm
    if device is None:
        device = torch.device("cuda", torch.cuda.current_device()) if dist.get_backend() == "nccl" else "cpu"
    t = torch.as_tensor(cm.matrix, dtype=torch.int64, device=device)
    dist.all_reduce(t, op=dist.ReduceOp.SUM)
    cm.matrix = t.cpu().numpy().astype(np.int64)
    return cm
