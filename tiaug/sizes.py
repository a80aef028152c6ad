"""Image sizes given as text (``--size 256x320``, ``crop: 256x320``); dependency-free, so a command's start and
``--help`` do not load NumPy."""

from __future__ import annotations

import re

_SIZE = re.compile(r"^\s*(\d+)\s*[xX×,]\s*(\d+)\s*$")


def parse_size(text: str) -> tuple[int, int]:
    """``"256x320"`` -> (256, 320): height x width in pixels."""
    m = _SIZE.match(text)
    if not m or int(m.group(1)) < 1 or int(m.group(2)) < 1:
        raise ValueError(f"size must be HxW in pixels (height x width), e.g. 256x320; got {text!r}")
    return int(m.group(1)), int(m.group(2))
