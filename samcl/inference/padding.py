"""The networks' size rule and the padding that meets it.

Every registry network takes (B, C, H, W) with H and W multiples of its ``size_multiple`` (16) and at least its
``min_size``. Frames of any other size (a Lepton's 160x120, a TC001's 256x192 are fine, 120x160 is not) are
padded at the bottom and right, by reflection (by edge replication when the padding is not smaller than the
frame), and the network's output is cropped back to the frame::

    padded = pad_frames(frames, multiple=16)            # (..., H', W'), numpy or torch
    logits = model(padded[:, None])[..., :h, :w]        # or crop_frames(logits, h, w)
"""

from __future__ import annotations

import math

import numpy as np

DEFAULT_MULTIPLE = 16  # the registry networks' size_multiple and min_size


def padded_size(height: int, width: int, multiple: int = DEFAULT_MULTIPLE, min_size: int = 1) -> tuple[int, int]:
    """Smallest (H', W') >= (height, width) whose sides are multiples of ``multiple`` and at least ``min_size``."""
    return (
        max(min_size, math.ceil(height / multiple) * multiple),
        max(min_size, math.ceil(width / multiple) * multiple),
    )


def size_rule(model: object) -> tuple[int, int]:
    """(``size_multiple``, ``min_size``) of a network (1, 1 for a module without them)."""
    return int(getattr(model, "size_multiple", 1)), int(getattr(model, "min_size", 1))


def pad_frames(frames, multiple: int = DEFAULT_MULTIPLE, min_size: int = 1):
    """``frames`` (..., H, W) (numpy array or torch tensor) padded at the bottom and right to :func:`padded_size`.

    Reflection where the padding is smaller than the frame, else edge replication. Returned unchanged (not a
    copy) when the size already fits.
    """
    height, width = frames.shape[-2:]
    target_h, target_w = padded_size(height, width, multiple, min_size)
    pad_h, pad_w = target_h - height, target_w - width
    if not (pad_h or pad_w):
        return frames
    reflect = pad_h < height and pad_w < width
    if isinstance(frames, np.ndarray):
        pad = [(0, 0)] * (frames.ndim - 2) + [(0, pad_h), (0, pad_w)]
        return np.pad(frames, pad, mode="reflect" if reflect else "edge")
    import torch.nn.functional as F  # torch only for tensors

    lead = frames.shape[:-2]
    flat = frames.reshape(-1, 1, height, width)
    flat = F.pad(flat, (0, pad_w, 0, pad_h), mode="reflect" if reflect else "replicate")
    return flat.reshape(*lead, target_h, target_w)


def crop_frames(array, height: int, width: int):
    """The top-left (height, width) of the last two axes: a padded network output back at the frame's size."""
    return array[..., :height, :width]
