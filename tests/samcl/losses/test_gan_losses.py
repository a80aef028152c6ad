"""SegAN and SegGAN: the critic's sign and clamp, the reconstruction term by hand, own steps, state, gradients."""

import copy
import math

import pytest
import torch
import torch.nn.functional as F

from samcl.losses.segan import SegANCritic, SegANLoss, masked_images
from samcl.losses.seggan import SegGANLoss, gan_loss

SMALL_CRITIC = dict(width=4, scale_weights=(1.0, 1.0, 2.0))  # two layers: 16x16 inputs suffice


def batch(seed=0, c=3, size=16):
    g = torch.Generator().manual_seed(seed)
    images = torch.randn(2, 1, size, size, generator=g)
    target = torch.randint(0, c, (2, size, size), generator=g)
    logits = torch.randn(2, c, size, size, generator=g, requires_grad=True)
    return images, target, logits


def test_masked_images_multiply_the_image_by_each_class_map():
    images = torch.tensor([[[[2.0, 3.0]]]])  # (1, 1, 1, 2)
    maps = torch.tensor([[[[1.0, 0.0]], [[0.0, 1.0]]]])  # (1, 2, 1, 2)
    assert masked_images(images, maps).tolist() == [[[[2.0, 0.0]], [[0.0, 3.0]]]]


def test_critic_output_weights_the_input_and_each_layer():
    critic = SegANCritic(2, width=3, scale_weights=(5.0, 1.0, 2.0))
    x = torch.randn(1, 2, 8, 8)
    out = critic(x)
    first = critic.blocks[0](x)
    second = critic.blocks[1](first)
    want = torch.cat([5 * x.flatten(1), first.flatten(1), 2 * second.flatten(1)], 1)
    torch.testing.assert_close(out, want)


def test_critic_step_maximises_the_l1_and_clamps_its_weights():
    images, target, logits = batch()
    loss = SegANLoss(3, lr=1e-3, seed=0, **SMALL_CRITIC)
    assert all(p.abs().max() <= 0.05 for p in loss.critic.parameters())  # clamped from the start
    before = loss.multiscale_l1(logits, target, images).item()
    optimizer = loss.make_optimizer()
    for _ in range(3):
        loss.critic_step(logits, target, images, optimizer)
    after = loss.multiscale_l1(logits, target, images).item()
    assert after > before
    big = SegANLoss(3, lr=10.0, seed=0, **SMALL_CRITIC)
    big.critic_step(logits, target, images, big.make_optimizer())
    values = torch.cat([p.detach().flatten() for p in big.critic.parameters()])
    assert values.abs().max().item() == pytest.approx(0.05)  # an lr of 10 pushes weights to the bound


def test_segan_segmenter_gradient_lowers_the_l1_and_reaches_the_network():
    images, target, _ = batch(1)
    net = torch.nn.Conv2d(1, 3, 3, padding=1)
    loss = SegANLoss(3, base_loss=None, seed=0, **SMALL_CRITIC)
    logits = net(images)
    value = loss(logits, target, images)
    value.backward()
    assert net.weight.grad.abs().sum() > 0
    with torch.no_grad():
        for p in net.parameters():
            p -= 0.5 * p.grad / p.grad.norm()
        assert loss.multiscale_l1(net(images), target, images).item() < value.item()


def test_segan_critic_step_resumes_from_state_dicts():
    images, target, logits = batch(2)
    loss = SegANLoss(3, seed=0, **SMALL_CRITIC)
    optimizer = loss.make_optimizer()
    start = copy.deepcopy(loss.critic.state_dict())
    loss.critic_step(logits, target, images, optimizer)
    assert any(not torch.equal(start[k], v) for k, v in loss.critic.state_dict().items())
    twin = SegANLoss(3, seed=5, **SMALL_CRITIC)
    twin.load_state_dict(copy.deepcopy(loss.state_dict()))
    twin_optimizer = twin.make_optimizer()
    twin_optimizer.load_state_dict(copy.deepcopy(optimizer.state_dict()))
    loss.critic_step(logits, target, images, optimizer)
    twin.critic_step(logits, target, images, twin_optimizer)
    for key, value in loss.state_dict().items():
        if isinstance(value, torch.Tensor):
            assert torch.equal(value, twin.state_dict()[key]), key


class HalfOfClassOne(torch.nn.Module):
    """A stand-in generator: image = 2 x the class-1 map."""

    def forward(self, maps):
        return 2.0 * maps[:, 1:2]


def test_seggan_reconstruction_term_by_hand():
    """C=2, one 1x2 image x = (1, 0); logits give class-1 probabilities (1/2, 1/4) -> G(Y) = (1, 1/2);
    L1 = mean(|1 - 1|, |1/2 - 0|) = 1/4, times the reconstruction weight 3."""
    loss = SegGANLoss(2, base_loss=None, reconstruction_weight=3.0, adversarial_weight=0.0, seed=0)
    loss.gen = HalfOfClassOne()
    logits = torch.tensor([[[[0.0, math.log(3.0)]], [[0.0, 0.0]]]])  # softmax class 1: 1/2, 1/4
    images = torch.tensor([[[[1.0, 0.0]]]])
    target = torch.tensor([[[1, 0]]])
    assert loss.parts(logits, target, images)["strategy_loss"].item() == pytest.approx(0.75, rel=1e-6)
    images, target, logits = batch(4, c=2, size=32)
    full = SegGANLoss(2, base_loss=None, reconstruction_weight=3.0, adversarial_weight=0.5, seed=0)
    full.gen = HalfOfClassOne()
    probs = F.softmax(logits, 1)
    l1 = (2 * probs[:, 1:2] - images).abs().mean().item()
    want = 3 * l1 + 0.5 * gan_loss(full.disc(probs, 2 * probs[:, 1:2]), True).item()
    assert full.parts(logits, target, images)["strategy_loss"].item() == pytest.approx(want, rel=1e-5)


def test_seggan_pretrains_the_generator_then_freezes_it():
    images, target, logits = batch(3, size=32)
    loss = SegGANLoss(3, generator_width=4, discriminator_width=4, pretrain_steps=1, seed=0)
    optimizer = loss.make_optimizer()
    parts = loss.parts(logits, target, images, step=0)
    assert parts["strategy_loss"].item() == 0.0
    gen0, disc0 = copy.deepcopy(loss.gen.state_dict()), copy.deepcopy(loss.disc.state_dict())
    assert set(loss.own_steps(logits, target, images, optimizer, step=0)) == {"generator", "discriminator"}
    assert not torch.equal(gen0["head.weight"], loss.gen.state_dict()["head.weight"])
    assert not torch.equal(disc0["out.weight"], loss.disc.state_dict()["out.weight"])
    net = torch.nn.Conv2d(1, 3, 3, padding=1)
    parts = loss.parts(net(images), target, images, step=1)
    assert parts["strategy_loss"].item() > 0
    parts["strategy_loss"].backward()
    assert net.weight.grad.abs().sum() > 0  # the SegGAN terms reach the segmenter
    gen1, disc1 = copy.deepcopy(loss.gen.state_dict()), copy.deepcopy(loss.disc.state_dict())
    assert set(loss.own_steps(logits, target, images, optimizer, step=1)) == {"discriminator"}
    assert torch.equal(gen1["head.weight"], loss.gen.state_dict()["head.weight"])  # frozen after pre-training
    assert not torch.equal(disc1["out.weight"], loss.disc.state_dict()["out.weight"])


def test_seggan_generator_step_moves_only_the_generator():
    """G's GAN term sends gradients into D too: its step must leave D as it was (one optimiser serves both)."""
    images, target, _ = batch(5, size=32)
    loss = SegGANLoss(3, generator_width=4, discriminator_width=4, seed=0)
    truth = F.one_hot(target, 3).permute(0, 3, 1, 2).float()
    disc0 = copy.deepcopy(dict(loss.disc.named_parameters()))
    gen0 = copy.deepcopy(loss.gen.head.weight)
    loss.generator_step(truth, images, loss.make_optimizer())
    assert all(torch.equal(disc0[k], v) for k, v in loss.disc.named_parameters())  # (BN statistics may move)
    assert not torch.equal(gen0, loss.gen.head.weight)
