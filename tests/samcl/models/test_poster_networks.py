"""The poster's heavy networks by name (run with ``-m zoo`` in the zoo environment): settings, shapes, gradients."""

import pytest
import torch

from samcl.models import available_models, build_model

pytestmark = pytest.mark.zoo

POSTER = ["deeplabv3plus_resnet101", "deeplabv3plus_xception65", "hrnetv2_w48"]


@pytest.fixture(scope="module", params=POSTER)
def network(request):
    torch.manual_seed(0)
    return request.param, build_model(request.param, num_classes=6).train()


def test_poster_network_forward_backward_and_its_feature_head(network):
    name, model = network
    assert name in available_models()
    seen = {}
    hook = model.head.register_forward_hook(lambda module, inputs, output: seen.update(features=inputs[0]))
    try:
        out = model(torch.randn(2, 1, 64, 80))  # 80 is no multiple of 32: padded and cropped back
    finally:
        hook.remove()
    assert out.shape == (2, 6, 64, 80)
    assert seen["features"].dim() == 4 and seen["features"].shape[0] == 2
    out.square().mean().backward()
    grads = [p.grad for p in model.parameters()]
    assert all(g is not None for g in grads) and sum(float(g.abs().sum()) for g in grads) > 0


def test_poster_network_settings(network):
    """DeepLabV3+: output stride 8, a plain (not depthwise separable) ASPP with rates 12/24/36. HRNetV2: the four
    branches of the last stage (48/96/192/384 channels) concatenated into the head."""
    name, model = network
    if name.startswith("deeplabv3plus"):
        assert model.stride == 8
        convs = [m for m in model.net.decoder.aspp[0].modules() if isinstance(m, torch.nn.Conv2d)]  # the ASPP
        assert all(conv.groups == 1 for conv in convs)
        assert sorted({conv.dilation[0] for conv in convs if conv.kernel_size == (3, 3)}) == [12, 24, 36]
    else:
        assert model.backbone.feature_info.channels() == [48, 96, 192, 384]
        assert model.head.in_channels == 720
