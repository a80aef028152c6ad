"""The result every one-call TiAug function returns (see :mod:`tiaug.functional`)."""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np


class Augmented(NamedTuple):
    """An augmented image (same dtype and shape as the input), its mask (the input's when the function does not
    relabel, None without one) and the sampled parameters (JSON-serialisable)."""

    image: np.ndarray
    mask: np.ndarray | None
    params: dict[str, Any]
