"""Notice, during training, a class the network has stopped finding (e.g. the mouth at 0 IoU).

A class counts as *lost* when it is present in the validation set's ground truth and its validation IoU was
below ``floor`` at each of the last ``patience`` validations, all taken past ``after`` (a share of the steps).
A run that lost a class is a failed run, not a data point: ``samcl-train`` prints one warning line naming it and
``summary.json`` records it (``lost_classes``: class name -> the step it was first noticed).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

#: Defaults of :class:`ClassWatch`: IoU below 1 % at the last 2 validations past 30 % of the steps.
LOST_FLOOR = 0.01
LOST_AFTER = 0.3
LOST_PATIENCE = 2


class ClassWatch:
    """Feed it every validation (:meth:`update`); it returns the classes newly found lost.

    ``classes``: the class names; ``iters``: the run's total steps. A validation before ``after * iters`` never
    counts; when the run ends with fewer than ``patience`` validations past that mark, the ones there are count.
    """

    def __init__(
        self,
        classes: Sequence[str],
        iters: int,
        floor: float = LOST_FLOOR,
        after: float = LOST_AFTER,
        patience: int = LOST_PATIENCE,
    ) -> None:
        self.classes = tuple(classes)
        self.iters = iters
        self.floor = floor
        self.after = after
        self.patience = patience
        self.history: list[np.ndarray] = []  # per validation past the mark: (C,) bool, "present and below floor"
        self.lost: dict[str, int] = {}

    def update(
        self, step: int, per_class_iou: Sequence[float] | np.ndarray, present: Sequence[bool] | np.ndarray
    ) -> list[str]:
        """Record the validation at ``step``: per-class IoU (C,) in [0, 1] (nan for a class absent from both
        prediction and ground truth) and whether each class occurs in the validation ground truth (C,)."""
        if step < self.after * self.iters:
            return []
        iou = np.nan_to_num(np.asarray(per_class_iou, dtype=np.float64), nan=1.0)
        self.history.append(np.asarray(present, dtype=bool) & (iou < self.floor))
        window = self.history[-self.patience :]
        last = step >= self.iters
        if len(window) < self.patience and not last:
            return []
        failing = np.logical_and.reduce(window)
        new = [name for name, bad in zip(self.classes, failing, strict=True) if bad and name not in self.lost]
        self.lost.update(dict.fromkeys(new, step))
        return new

    def state(self) -> dict[str, Any]:
        """What a checkpoint keeps, so a resumed run warns as the uninterrupted one would."""
        return {"history": [h.tolist() for h in self.history], "lost": dict(self.lost)}

    def load_state(self, state: dict[str, Any] | None) -> None:
        """Restore :meth:`state` (``None``: a checkpoint written before the watch existed; start afresh)."""
        if state:
            self.history = [np.asarray(h, dtype=bool) for h in state["history"]]
            self.lost = {str(k): int(v) for k, v in state["lost"].items()}

    def message(self, names: Sequence[str], step: int) -> str:
        """The one-line warning for classes found lost at ``step``."""
        which = ", ".join(names)
        return (
            f"Warning: step {step}: class(es) {which} present in the validation data but below "
            f"{100 * self.floor:g} % IoU at the last validations: the network has not learnt them "
            "(a failed run; try another --seed, a compound loss such as --loss dice_ce, or a lower --lr)"
        )
