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
    hook = model.head.register_forward_hook(lambda module, inputs, output: seen.setdefault("features", inputs[0]))
    try:
        out = model(torch.randn(2, 1, 64, 80))  # 80 is no multiple of 32: padded and cropped back
    finally:
        hook.remove()
    assert out.shape == (2, 6, 64, 80)
    assert seen["features"].dim() == 4 and seen["features"].shape[0] == 2
    out.square().mean().backward()
    grads = [p.grad for p in model.parameters()]
    assert all(g is not None for g in grads) and sum(float(g.abs().sum()) for g in grads) > 0


@pytest.mark.parametrize("name", POSTER[:2])
def test_deeplab_runs_at_output_stride_8_with_a_plain_aspp(name):
    model = build_model(name, num_classes=6)
    assert model.stride == 8
    convs = [m for m in model.net.decoder.aspp.modules() if isinstance(m, torch.nn.Conv2d)]
    assert all(conv.groups == 1 for conv in convs)  # not depthwise separable
    assert sorted({conv.dilation[0] for conv in convs if conv.kernel_size == (3, 3)}) == [12, 24, 36]


def test_hrnet_hands_over_the_four_hrnetv2_branches():
    model = build_model("hrnetv2_w48", num_classes=6)
    assert model.backbone.feature_info.channels() == [48, 96, 192, 384]
    assert model.head.in_channels == 720
