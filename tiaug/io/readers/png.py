"""Single-channel PNG frames (8- or 16-bit integers, e.g. a lab's 16-bit centi-kelvin exports): one frame per
file, decoded only after its header's size is checked against :data:`~.formats.MAX_FRAME`. Integer pixels need
``scale``/``offset`` (or ``--format lepton``/``tc001``) like any integer array."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from tiaug.io.errors import ThermalDataError
from tiaug.io.readers.formats import MAX_FRAME, pixel_limit

GREY_MODES = ("L", "I", "I;16", "I;16B", "I;16L")


class PngFrames:
    """The one frame of a grey PNG as a sequence of length 1 (the container interface of :mod:`.arrays`)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        with self._opened() as png:
            width, height = png.size
            mode = png.mode
        if not (0 < height <= MAX_FRAME[0] and 0 < width <= MAX_FRAME[1]):
            raise ThermalDataError(path, None, f"PNG of {width}x{height} pixels; frames are at most {MAX_FRAME}")
        if mode not in GREY_MODES:
            raise ThermalDataError(
                path, None, f"is a {mode} PNG; thermal frames are single-channel (grey) integer images"
            )
        self.shape = (1, height, width)

    def _opened(self) -> Any:
        """The PNG opened (header only) by PIL under the pixel limit."""
        from PIL import Image

        try:
            with pixel_limit():
                return Image.open(self.path, formats=["PNG"])
        except (OSError, ValueError, SyntaxError, Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
            raise ThermalDataError(self.path, None, f"not a readable PNG ({e})") from None

    def __len__(self) -> int:
        return 1

    def __getitem__(self, index: int) -> np.ndarray:
        if index != 0:
            raise IndexError(f"{self.path} holds one frame, asked for frame {index}")
        with self._opened() as png, pixel_limit():
            try:
                return np.asarray(png)
            except (OSError, ValueError, SyntaxError) as e:
                raise ThermalDataError(self.path, None, f"PNG cannot be decoded ({e})") from None
