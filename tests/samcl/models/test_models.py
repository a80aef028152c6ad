import importlib.util

import pytest
import torch

from samcl.models import AttentionUNet, available_models, build_model, check_input_size, has_base_width
from samcl.models.smp_zoo import ZOO_MODELS

BUILTIN = [n for n in available_models() if not n.startswith("smp:") and n not in ZOO_MODELS]  # zoo: -m zoo


def test_registry_lists_builtins_and_smp_pattern():
    assert {"unet", "attention_unet"} <= set(BUILTIN)
    assert "smp:<Arch>:<encoder>" in available_models()


@pytest.mark.parametrize("name", BUILTIN)
def test_every_builtin_model_runs_forward_and_backward(name):
    torch.manual_seed(0)
    model = build_model(name, num_classes=6, base_width=4).train()
    x = torch.randn(2, 1, 64, 80, requires_grad=True)
    out = model(x)
    assert out.shape == (2, 6, 64, 80)
    out.square().mean().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    assert all(p.grad is not None for p in model.parameters())
    assert model.size_multiple == 16 and model.min_size == 16


@pytest.mark.parametrize("name", BUILTIN)
def test_sizes_that_are_not_multiples_of_16_are_refused(name):
    model = build_model(name, num_classes=3, base_width=2)
    with pytest.raises(ValueError, match="multiples of 16"):
        model(torch.randn(1, 1, 64, 72))
    with pytest.raises(ValueError, match="input channel"):
        model(torch.randn(1, 3, 64, 64))
    with pytest.raises(ValueError, match="at least 16x16"):
        check_input_size(model, 8, 64)


def test_unknown_name_lists_valid_names():
    with pytest.raises(ValueError, match="valid names") as info:
        build_model("segnet", 3)
    assert "unet" in str(info.value) and "attention_unet" in str(info.value)
    with pytest.raises(ValueError, match="smp:<Arch>:<encoder>"):
        build_model("smp:Unet", 3)


def test_only_the_networks_written_here_take_a_base_width():
    assert all(has_base_width(name) for name in BUILTIN)
    assert not any(has_base_width(name) for name in ZOO_MODELS)
    assert not has_base_width("smp:Unet:resnet18") and not has_base_width("segnet")
    assert has_base_width(" UNet ")


def test_attention_gate_weights_the_skip_connection():
    model = AttentionUNet(num_classes=2, base_width=2).eval()
    model(torch.randn(1, 1, 32, 48))
    att = [g.last_attention for g in model.gates]
    assert [tuple(a.shape[-2:]) for a in att] == [(32, 48), (16, 24), (8, 12), (4, 6)]
    assert all(bool(((a >= 0) & (a <= 1)).all()) for a in att)


@pytest.mark.skipif(importlib.util.find_spec("segmentation_models_pytorch") is not None, reason="smp installed")
def test_smp_names_without_smp_installed_say_what_to_install():
    with pytest.raises(ImportError, match="zoo"):
        build_model("smp:Unet:resnet18", 3)
