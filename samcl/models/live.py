"""``live``: a segmentation network for camera-rate inference on an ordinary CPU (a laptop, a small board).

Why this shape. A narrow U-Net (:class:`~samcl.models.unet.UNet`, widths ``base_width * 2**i``, 8 to 128 channels
by default) trained with RepVGG-style branches. What was measured (benchmarks/README.md, section 6) decided each
part:

- **full resolution is kept**: the networks that down-sample first or predict at a lower resolution (a strided
  stem, depthwise-separable blocks, logits at 1/4, or at 1/2 with a full-resolution refinement: the earlier `live`s)
  need about 6 times fewer operations and half the time but were 11 mIoU points below ``unet`` w16 clean and 15 under
  the test conditions on 64x80 faces, where an eye is 2 to 3 pixels wide;
- **width 8, not 16**: on a CPU the time of a U-Net goes into its full-resolution maps, which halve with the width;
- **concatenated skips** (``concat_stages``, 4: every decoder stage): adding the up-sampled features to the skip
  instead (as LinkNet does; ``concat_stages=0``) halves each decoder stage's input and saves about a sixth of the
  network's time, but lost 0.5 mIoU points clean and 0.7 under the test conditions (3 seeds);
- **RepVGG training branches** (:class:`~samcl.models._blocks.RepConv`): each 3x3 convolution trains beside a 1x1
  one and an identity, which eval mode folds into the one 3x3 convolution: more accuracy for the same inference;
- PyTorch runs it in the channels-last layout (``prefers_channels_last``), faster on CPUs for these narrow maps;
  onnxruntime is the faster runtime still.

H and W must be multiples of 16.
"""

from __future__ import annotations

from ._blocks import RepDoubleConv
from .unet import UNet


class LiveNet(UNet):
    """(B, in_channels, H, W) -> (B, num_classes, H, W) logits, for H and W multiples of 16."""

    name = "live"
    stage_block = RepDoubleConv
    prefers_channels_last = True

    def __init__(self, num_classes: int, in_channels: int = 1, base_width: int = 8, concat_stages: int = 4):
        if base_width < 1:
            raise ValueError(f"base_width must be >= 1, got {base_width}")
        super().__init__(num_classes, in_channels, base_width=base_width, depth=4, concat_stages=concat_stages)
