import copy

import pytest
import torch
import torch.nn.functional as F

from samcl.losses.aux_net import AuxiliaryNetwork


def _maps(b=2, c=4, h=24, w=30, seed=0):
    g = torch.Generator().manual_seed(seed)
    labels = torch.randint(0, c + 1, (b, h, w), generator=g)  # c = ignored
    valid = (labels < c).float()
    y = torch.softmax(torch.randn(b, c, h, w, generator=g), 1) * valid[:, None]
    sigma = torch.stack([torch.roll(torch.arange(c), 1 + i % (c - 1)) for i in range(b)])
    sig_ext = torch.cat([sigma, torch.full((b, 1), c)], 1)
    neg_labels = torch.gather(sig_ext, 1, labels.reshape(b, -1)).reshape_as(labels)
    pos = F.one_hot(labels, c + 1)[..., :c].permute(0, 3, 1, 2).float()
    neg = F.one_hot(neg_labels, c + 1)[..., :c].permute(0, 3, 1, 2).float()
    return y, pos, neg, labels, sigma


def _randomise(net):
    g = torch.Generator().manual_seed(5)
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.5 + (1.0 if p.dim() == 1 else 0.0))


def test_scales_shapes_and_width():
    net = AuxiliaryNetwork(6, width=8)
    out = net(torch.rand(3, 6, 64, 80))
    assert [tuple(o.shape) for o in out] == [(3, 6, 64, 80), (3, 8, 32, 40), (3, 8, 16, 20), (3, 8, 16, 20)]
    assert AuxiliaryNetwork(6).width == 6
    assert len(AuxiliaryNetwork(6, num_scales=2)(torch.rand(1, 6, 16, 16))) == 2
    with pytest.raises(ValueError, match="num_scales"):
        AuxiliaryNetwork(6, num_scales=5)


@pytest.mark.parametrize("norm", ["instance", "group", "batch", "none"])
def test_batched_pass_equals_three_separate_passes(norm):
    y, pos, neg, _, _ = _maps()
    net = AuxiliaryNetwork(4, width=6, norm=norm)
    _randomise(net)
    twin = copy.deepcopy(net)
    batched = net.train().forward_triplet(y, pos, neg, batched=True)
    separate = twin.train().forward_triplet(y, pos, neg, batched=False)
    for k, (bt, st) in enumerate(zip(batched, separate, strict=True)):
        for a, b in zip(bt, st, strict=True):
            assert torch.allclose(a, b, atol=1e-5, rtol=1e-5), (norm, k)
    # batch norm: the running statistics are updated exactly as by three separate passes
    for a, b in zip(net.buffers(), twin.buffers(), strict=True):
        assert torch.allclose(a.float(), b.float(), atol=1e-6)


def test_plain_batch_norm_over_the_concatenated_batch_would_differ():
    """The check above can fail: statistics over the concatenated batch change the result."""
    y, pos, neg, _, _ = _maps()
    net = AuxiliaryNetwork(4, norm="batch").train()
    mixed = net(torch.cat([y, pos, neg]), num_chunks=1)[1][: y.shape[0]]
    alone = net(y)[1]
    assert not torch.allclose(mixed, alone, atol=1e-3)


def test_spectral_norm_batched_equals_separate_in_eval_mode():
    y, pos, neg, _, _ = _maps()
    net = AuxiliaryNetwork(4, spectral_norm=True)
    assert any("parametrizations" in n for n, _ in net.named_parameters())
    net.train()
    net(torch.cat([y, pos, neg]), num_chunks=3)  # a few power iterations
    net.eval()
    for bt, st in zip(net.forward_triplet(y, pos, neg), net.forward_triplet(y, pos, neg, batched=False), strict=True):
        for a, b in zip(bt, st, strict=True):
            assert torch.allclose(a, b, atol=1e-6)


@pytest.mark.parametrize("norm", ["instance", "group", "none", "batch"])
@pytest.mark.parametrize("width", [None, 8])
@pytest.mark.parametrize("spectral", [False, True])
def test_label_shortcut_equals_one_hot_maps(norm, width, spectral):
    """forward_triplet_labels (no full-resolution one-hot maps) == the network applied to the one-hot maps."""
    y, pos, neg, labels, sigma = _maps(b=3, c=5, h=29, w=34, seed=2)
    net = AuxiliaryNetwork(5, width=width, norm=norm, spectral_norm=spectral).double()
    if spectral:
        net.eval()  # the power iteration then leaves the weights alone
        if norm == "batch":
            pytest.skip("eval-mode batch norm uses running statistics: nothing to compare")
    else:
        _randomise(net)
    y = y.double().requires_grad_()
    want = net.forward_triplet(y, pos.double(), neg.double(), batched=False)
    got = net.forward_triplet_labels(y, labels, sigma)
    assert got[0][1] is None and got[0][2] is None
    for k in range(1, 4):
        for a, b in zip(got[k], want[k], strict=True):
            assert torch.allclose(a, b, rtol=1e-9, atol=1e-9), k
    # and the gradients agree, for the prediction and for the network's parameters
    loss_got = sum((s * (i + 1)).sum() for k in range(1, 4) for i, s in enumerate(got[k]))
    loss_want = sum((s * (i + 1)).sum() for k in range(1, 4) for i, s in enumerate(want[k]))
    params = [y, *net.parameters()]
    for a, b in zip(torch.autograd.grad(loss_got, params), torch.autograd.grad(loss_want, params), strict=True):
        assert torch.allclose(a, b, rtol=1e-7, atol=1e-8)
