"""HRNetV2-W48 for segmentation (Wang et al., "Deep High-Resolution Representation Learning", TPAMI 2020).

Backbone: timm's ``hrnet_w48`` with ``feature_location=''``: the four parallel branches of the last stage, 48, 96,
192 and 384 channels at strides 4, 8, 16, 32 (timm's default, ``'incre'``, hands over its classification
features instead). Head (HRNetV2): the branches upsampled (bilinear) to stride 4 and concatenated (720 channels),
3x3 conv-BN-ReLU, 1x1 conv to the classes, logits upsampled to the input size. Inputs are padded (edge replication)
to multiples of 32 and the logits cropped back, so any H, W that are multiples of 16 work. No weights are
downloaded; needs timm (the ``zoo`` extra).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ._blocks import SizeCheckedModel, padded_forward


def _import_timm():
    try:
        import timm
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "hrnetv2_* models need timm: install the 'zoo' extra, e.g. pip install 'tiaug-samcl[zoo]'"
        ) from exc
    return timm


class HRNetV2(SizeCheckedModel):
    """(B, in_channels, H, W) -> (B, num_classes, H, W) logits; H and W multiples of 16."""

    size_multiple = 16
    min_size = 32

    def __init__(self, num_classes: int, in_channels: int = 1, backbone: str = "hrnet_w48"):
        super().__init__()
        timm = _import_timm()
        try:
            self.backbone = timm.create_model(
                backbone,
                pretrained=False,
                features_only=True,
                feature_location="",
                out_indices=(1, 2, 3, 4),
                in_chans=in_channels,
            )
        except (RuntimeError, ValueError, TypeError) as exc:
            raise ValueError(f"timm cannot build HRNet backbone {backbone!r}: {exc}") from exc
        width = sum(self.backbone.feature_info.channels())
        self.fuse = nn.Sequential(
            nn.Conv2d(width, width, 3, padding=1, bias=False), nn.BatchNorm2d(width), nn.ReLU(inplace=True)
        )
        self.head = nn.Conv2d(width, num_classes, 1)
        self.name = f"hrnetv2_{backbone.removeprefix('hrnet_')}"
        self.num_classes = num_classes
        self.in_channels = in_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self._check(x)
        return padded_forward(self.segment, x, 32)

    def segment(self, x: torch.Tensor) -> torch.Tensor:
        """Logits of an input whose H and W are multiples of 32."""
        branches = self.backbone(x)
        size = branches[0].shape[-2:]
        joined = torch.cat(
            [branches[0], *(F.interpolate(b, size=size, mode="bilinear", align_corners=False) for b in branches[1:])],
            dim=1,
        )
        logits = self.head(self.fuse(joined))
        return F.interpolate(logits, size=x.shape[-2:], mode="bilinear", align_corners=False)
