"""segmentation-models-pytorch models (run with ``-m zoo`` in an environment with smp and torchvision)."""

import pytest
import torch

from samcl.losses import SAMCLLoss
from samcl.models import build_model

pytestmark = pytest.mark.zoo

ZOO = ["smp:Unet:resnet18", "smp:DeepLabV3Plus:resnet18", "smp:Unet:tu-hrnet_w18_small"]


@pytest.mark.parametrize("name", ZOO)
def test_zoo_model_forward_backward_with_samcl(name):
    torch.manual_seed(0)
    model = build_model(name, num_classes=6).train()
    x = torch.randn(2, 1, 64, 80)
    out = model(x)
    assert out.shape == (2, 6, 64, 80)
    target = torch.randint(0, 6, (2, 64, 80))
    SAMCLLoss(6, seed=0)(out, target).backward()
    grads = [p.grad for p in model.parameters() if p.requires_grad]
    assert grads and all(g is not None for g in grads)
    assert sum(float(g.abs().sum()) for g in grads) > 0


def test_zoo_errors_are_clear():
    with pytest.raises(ValueError, match="architecture"):
        build_model("smp:NoSuchNet:resnet18", 3)
    with pytest.raises(ValueError, match="encoder"):
        build_model("smp:Unet:no_such_encoder", 3)
    with pytest.raises(ValueError, match="pretrained"):
        build_model("smp:Unet:resnet18", 3, encoder_weights="imagenet")
