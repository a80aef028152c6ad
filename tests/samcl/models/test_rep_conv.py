"""RepConv: in eval mode one 3x3 convolution equal to its three training branches, recomputed when a weight
changes; gradient reaches every branch in training."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from samcl.models._blocks import RepConv, fused_for_inference


def _randomised(cin: int, cout: int, seed: int) -> RepConv:
    """A RepConv whose BNs hold random statistics and affine parameters (as after training)."""
    torch.manual_seed(seed)
    block = RepConv(cin, cout)
    with torch.no_grad():
        for bn in (m for m in block.modules() if isinstance(m, torch.nn.BatchNorm2d)):
            bn.running_mean.normal_()
            bn.running_var.uniform_(0.5, 2.0)
            bn.weight.normal_()
            bn.bias.normal_()
    return block.eval()


def _branches(block: RepConv, x: torch.Tensor) -> torch.Tensor:
    y = block.bn3(block.conv3(x)) + block.bn1(block.conv1(x))
    if block.bn_identity is not None:
        y = y + block.bn_identity(x)
    return F.relu(y)


@pytest.mark.parametrize(("cin", "cout"), [(4, 4), (3, 5)])
def test_eval_mode_equals_the_sum_of_the_branches(cin, cout):
    block = _randomised(cin, cout, seed=cin)
    x = torch.randn(2, cin, 9, 7)
    with torch.no_grad():
        torch.testing.assert_close(block(x), _branches(block, x), atol=1e-5, rtol=1e-5)
    assert (block.bn_identity is not None) == (cin == cout)


def test_eval_mode_follows_a_changed_weight_and_the_fused_copy_equals_it():
    block = _randomised(4, 4, seed=0)
    x = torch.randn(1, 4, 8, 8)
    with torch.no_grad():
        before = block(x)
        block.conv1.weight.add_(1.0)  # in place, as an optimiser step
        after = block(x)
        fused = fused_for_inference(torch.nn.Sequential(block))
        torch.testing.assert_close(after, _branches(block, x), atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(fused(x), after, atol=1e-5, rtol=1e-5)
    assert not torch.allclose(before, after)
    assert block.fused_weight is None and fused[0].fused_weight is not None  # the model itself is not changed
    assert fused.state_dict().keys() == torch.nn.Sequential(block).state_dict().keys()  # saved as the branches
    assert fused_for_inference(fused) is fused  # folded already: not copied and folded again
    plain = torch.nn.Sequential(torch.nn.Conv2d(1, 1, 3))
    assert fused_for_inference(plain) is plain


def test_training_mode_sends_gradient_to_every_branch():
    block = RepConv(4, 4).train()
    block(torch.randn(2, 4, 8, 8)).square().sum().backward()
    for name, parameter in block.named_parameters():
        assert parameter.grad is not None and parameter.grad.abs().sum() > 0, name
