"""Shared helpers of the losses: target validation, valid-pixel masks, one-hot maps.

Conventions used by every loss in :mod:`samcl.losses`:

- ``logits``: float tensor (B, C, H, W), raw network outputs.
- ``target``: integer tensor (B, H, W), class indices in ``[0, C)`` or ``ignore_index``.
- Pixels whose target equals ``ignore_index`` contribute nothing to any loss.
- Losses are computed in float32 (float64 for the RMI log-determinant) even under autocast.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from tiaug.labels import IGNORE_INDEX

DEFAULT_IGNORE_INDEX = IGNORE_INDEX  # the label convention of tiaug.labels


class SegmentationLoss(nn.Module):
    """Base of every loss: ``forward(logits, target)`` returns the scalar loss; :meth:`parts` returns it with
    its components, so a training step treats every loss alike."""

    ignore_index: int | None = DEFAULT_IGNORE_INDEX
    validate: bool = True

    def __init__(self, ignore_index: int | None = DEFAULT_IGNORE_INDEX, validate: bool = True) -> None:
        """``ignore_index``: the label that counts nowhere; ``validate``: check the labels' range on every call."""
        super().__init__()
        self.ignore_index = ignore_index
        self.validate = validate

    def checked_target(self, logits: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Check shapes and labels; return ``(safe_target, valid)`` (see :func:`valid_and_safe_target`)."""
        check_logits_target(logits, target)
        return valid_and_safe_target(target, logits.shape[1], self.ignore_index, self.validate)

    def parts(self, logits: torch.Tensor, target: torch.Tensor, step: int | None = None) -> dict[str, torch.Tensor]:
        """``{"loss", "base_loss", "samcl_loss"}`` scalars (a plain loss is all base; ``step`` is unused)."""
        loss = self(logits, target)
        return {"loss": loss, "base_loss": loss, "samcl_loss": torch.zeros_like(loss)}


def check_logits_target(logits: torch.Tensor, target: torch.Tensor) -> None:
    """Raise ValueError unless logits is (B, C, H, W) float and target is a matching (B, H, W) integer map."""
    if logits.dim() != 4:
        raise ValueError(f"logits must have shape (B, C, H, W), got {tuple(logits.shape)}")
    if not torch.is_floating_point(logits):
        raise ValueError(f"logits must be a floating-point tensor, got {logits.dtype}")
    if target.dim() != 3:
        raise ValueError(f"target must have shape (B, H, W), got {tuple(target.shape)}")
    if torch.is_floating_point(target) or target.dtype == torch.bool:
        raise ValueError(f"target must hold integer class indices (int64), got {target.dtype}")
    b, _, h, w = logits.shape
    if tuple(target.shape) != (b, h, w):
        raise ValueError(
            f"target shape {tuple(target.shape)} does not match logits {tuple(logits.shape)}: expected {(b, h, w)}"
        )


def valid_and_safe_target(
    target: torch.Tensor, num_classes: int, ignore_index: int | None, validate_values: bool = True
) -> tuple[torch.Tensor, torch.Tensor]:
    """Return ``(safe_target, valid)``.

    ``safe_target`` is int64 (B, H, W) with ignored pixels set to class 0 (so it can be one-hot
    encoded); ``valid`` is a float32 (B, H, W) mask, 1 on pixels that count, 0 on ignored ones.
    With ``validate_values`` (default), labels outside ``[0, num_classes)`` that are not the
    ignore index raise ValueError on CPU; on a GPU the check is a device-side assertion
    (``torch._assert_async``), which fails the next synchronising call instead of stalling every step.
    """
    target = target.long()
    valid_bool = torch.ones_like(target, dtype=torch.bool) if ignore_index is None else target != ignore_index
    if validate_values:
        bad = valid_bool & ((target < 0) | (target >= num_classes))
        if target.device.type == "cpu":
            if bool(bad.any()):
                values = torch.unique(target[bad]).tolist()[:10]
                raise ValueError(
                    f"target holds labels {values} outside [0, {num_classes}) that are not the "
                    f"ignore_index ({ignore_index})"
                )
        else:
            # on an accelerator, a host-side check would synchronise every step: assert on the device
            torch._assert_async(
                ~bad.any(), f"target holds labels outside [0, {num_classes}) that are not the ignore_index"
            )
    safe = torch.where(valid_bool, target, torch.zeros_like(target))
    return safe, valid_bool.to(torch.float32)


def one_hot_map(safe_target: torch.Tensor, num_classes: int, valid: torch.Tensor | None = None) -> torch.Tensor:
    """One-hot encode (B, H, W) labels to a float32 (B, C, H, W) map; zero where ``valid`` is 0."""
    oh = F.one_hot(safe_target, num_classes).permute(0, 3, 1, 2).to(torch.float32)
    if valid is not None:
        oh = oh * valid.unsqueeze(1)
    return oh


def as_float(x: torch.Tensor) -> torch.Tensor:
    """``x`` in float32, or kept in float64 if it is float64 (losses never compute in half precision)."""
    return x if x.dtype == torch.float64 else x.float()


def labelled_mean(
    values: torch.Tensor, target: torch.Tensor | None, ignore_index: int | None = DEFAULT_IGNORE_INDEX
) -> torch.Tensor:
    """Mean of a per-pixel map (B, H, W) over the pixels ``target`` (B, H, W) does not label ``ignore_index``
    (every pixel without a target); 0 when none counts."""
    if target is None or ignore_index is None:
        return values.mean()
    valid = (target != ignore_index).to(values.dtype)
    return (values * valid).sum() / valid.sum().clamp_min(1.0)
