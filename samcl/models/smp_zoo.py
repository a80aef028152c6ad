"""segmentation-models-pytorch models by name: ``smp:<Arch>:<encoder>``, e.g. ``smp:DeepLabV3Plus:resnet101``.

Built lazily (segmentation-models-pytorch is imported only when such a name is asked for; install
the ``zoo`` extra), always with ``encoder_weights=None`` (nothing is downloaded) and one input
channel. smp encoders need H and W divisible by their output stride (32 for most); the wrapper
pads the input by edge replication up to that multiple and crops the logits back, so the models
take any H, W that are multiples of 16 (the registry's contract), and indeed any size >= 32.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import torch

from ._blocks import SizeCheckedModel, padded_forward

#: Examples of ``smp:<Arch>:<encoder>`` names.
SMP_EXAMPLES = ("smp:DeepLabV3Plus:resnet101", "smp:Unet:tu-hrnet_w48")

#: DeepLabV3+ as the poster's reference code runs it: output stride 8, ASPP rates 12/24/36, plain (not depthwise
#: separable) ASPP convolutions (smp's default is separable).
POSTER_DEEPLAB = {"encoder_output_stride": 8, "decoder_atrous_rates": (12, 24, 36), "decoder_aspp_separable": False}


def _import_smp():
    try:
        import segmentation_models_pytorch as smp
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "smp:* models need segmentation-models-pytorch (and timm, torchvision): install the 'zoo' "
            "extra, e.g. pip install 'tiaug-samcl[zoo]'"
        ) from exc
    return smp


def smp_architectures() -> list[str]:
    """Architecture class names segmentation-models-pytorch offers (needs it installed)."""
    smp = _import_smp()
    mapping = getattr(smp, "MODEL_ARCHITECTURES_MAPPING", None)
    if mapping:
        return sorted(cls.__name__ for cls in mapping.values())
    names = []
    for attr in dir(smp):
        obj = getattr(smp, attr)
        if isinstance(obj, type) and issubclass(obj, torch.nn.Module):
            try:
                if "encoder_name" in inspect.signature(obj).parameters:
                    names.append(attr)
            except (TypeError, ValueError):
                continue
    return sorted(names)


class SMPModel(SizeCheckedModel):
    """A segmentation-models-pytorch model with pad-to-stride / crop; (B, 1, H, W) -> (B, C, H, W)."""

    size_multiple = 16
    min_size = 32

    def __init__(self, arch: str, encoder: str, num_classes: int, in_channels: int = 1, **kwargs):
        super().__init__()
        smp = _import_smp()
        archs = smp_architectures()
        match = {a.lower(): a for a in archs}.get(arch.lower())
        if match is None:
            raise ValueError(f"unknown segmentation-models-pytorch architecture {arch!r}; choose one of {archs}")
        kwargs.setdefault("encoder_weights", None)
        if kwargs["encoder_weights"] is not None:
            raise ValueError("pretrained encoder weights are not supported here (nothing may be downloaded)")
        try:
            self.net = getattr(smp, match)(encoder_name=encoder, in_channels=in_channels, classes=num_classes, **kwargs)
        except (KeyError, ValueError, RuntimeError) as exc:
            raise ValueError(
                f"segmentation-models-pytorch cannot build {match} with encoder {encoder!r}: {exc}"
            ) from exc
        self.name = f"smp:{match}:{encoder}"
        self.num_classes = num_classes
        self.in_channels = in_channels
        self.stride = int(getattr(self.net.encoder, "output_stride", 32) or 32)

    @property
    def head(self) -> torch.nn.Module:
        """The layer that maps the decoder feature map to logits (training add-ons take its input as the
        segmenter's features; they cover the input padded to a multiple of ``stride``)."""
        return self.net.segmentation_head

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self._check(x)
        return padded_forward(self.net, x, self.stride)


def poster_deeplab(encoder: str) -> Callable[..., SMPModel]:
    """A registry builder of DeepLabV3+ with ``encoder`` and :data:`POSTER_DEEPLAB`'s settings."""

    def build(num_classes: int, in_channels: int = 1, **kwargs: Any) -> SMPModel:
        return SMPModel("DeepLabV3Plus", encoder, num_classes, in_channels, **{**POSTER_DEEPLAB, **kwargs})

    return build


def poster_hrnet(num_classes: int, in_channels: int = 1, **kwargs: Any) -> torch.nn.Module:
    """HRNetV2-W48 (:class:`~samcl.models.hrnet.HRNetV2`)."""
    from .hrnet import HRNetV2

    return HRNetV2(num_classes, in_channels, **kwargs)


#: The poster's heavy networks by name (the ``zoo`` extra; Xception-65 is the reference's aligned Xception).
ZOO_MODELS: dict[str, Callable[..., torch.nn.Module]] = {
    "deeplabv3plus_resnet101": poster_deeplab("resnet101"),
    "deeplabv3plus_xception65": poster_deeplab("tu-xception65"),
    "hrnetv2_w48": poster_hrnet,
}
