"""Live frames from a UVC thermal camera (TOPDON TC001 / InfiRay P2-class) through OpenCV's ``VideoCapture``.

The camera shows up as a video device (``/dev/videoN`` on Linux: ``v4l2-ctl --list-devices``). With RGB
conversion switched off (``CAP_PROP_CONVERT_RGB = 0``) OpenCV hands over each UVC frame as it comes: 384 rows
of 256 two-byte pixels, a palette picture above the temperatures (uint16 little-endian, 1/64 K). Those become
degrees Celsius as for recorded TC001 frames (:func:`tiaug.io.readers.arrays.tc001_counts`). Not tested here
(no camera on the test machines); everything after ``VideoCapture.read`` is.
"""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Iterator

import numpy as np

from tiaug.io.errors import ThermalDataError
from tiaug.io.readers.arrays import CAMERA_NAMES, TC001_FRAME, tc001_to_celsius
from tiaug.io.readers.base import Frame, FrameSource


def uvc_frame_counts(frame: np.ndarray, size: tuple[int, int] = TC001_FRAME) -> np.ndarray:
    """An unconverted UVC frame from OpenCV ((H, W, 2) uint8 byte pairs or a flat byte buffer) as (H, W) uint16."""
    frame = np.asarray(frame)
    if frame.dtype != np.uint8 or frame.size != size[0] * size[1] * 2:
        raise ValueError(
            f"the camera sent a {frame.dtype} frame of shape {frame.shape}, not {size[1]}x{size[0]} two-byte "
            "pixels: is it a TC001 / InfiRay camera, and was RGB conversion switched off?"
        )
    return np.ascontiguousarray(frame).reshape(size[0], size[1], 2).view("<u2")[..., 0]


class CameraSource(FrameSource):
    """Frames of a UVC thermal camera until it stops or the caller does (``count`` is None)."""

    def __init__(self, device: int | str, size: tuple[int, int] = TC001_FRAME) -> None:
        super().__init__(f"camera {device}", "tc001", None, {"camera": CAMERA_NAMES["tc001"], "device": str(device)})
        self.device = device
        self.size = size
        self._capture = None

    def _open(self):
        import cv2

        backend = cv2.CAP_V4L2 if sys.platform.startswith("linux") else cv2.CAP_ANY
        capture = cv2.VideoCapture(self.device, backend)
        if not capture.isOpened():
            raise ThermalDataError(self.name, None, "cannot be opened (is it connected? v4l2-ctl --list-devices)")
        capture.set(cv2.CAP_PROP_CONVERT_RGB, 0)  # keep the temperature bytes as they are
        return capture

    def frames(self, start: int = 0, step: int = 1) -> Iterator[Frame]:
        if step < 1 or start < 0:
            raise ValueError(f"start must be >= 0 and step >= 1, got {start} and {step}")
        self._capture = capture = self._open()
        index = 0
        while True:
            ok, raw = capture.read()
            if not ok:
                return  # the camera stopped (unplugged, end of a file-backed stream)
            if index >= start and (index - start) % step == 0:
                stamp = dt.datetime.now(dt.UTC).isoformat()
                where = self.where(index)
                try:
                    counts = uvc_frame_counts(raw, self.size)
                except ValueError as e:
                    raise ThermalDataError(where, None, str(e)) from None
                yield Frame(tc001_to_celsius(counts, where), index, {**self.meta, "timestamp": stamp})
            index += 1

    def close(self) -> None:
        if self._capture is not None:
            self._capture.release()
            self._capture = None
