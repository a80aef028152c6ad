"""The ``live`` network: registered, any multiple-of-16 size, the same logits in channels-last, trainable, a
fraction of the operations of ``unet`` w16 at full resolution, its skips concatenated or added by stage."""

from __future__ import annotations

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from samcl.models import available_models, build_model


def _flops(model, x) -> int:
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model(x)
    return counter.get_total_flops()


def test_live_is_registered_and_maps_frames_to_logits():
    assert "live" in available_models()
    model = build_model("live", num_classes=6).eval()
    for shape in [(2, 1, 64, 48), (1, 1, 192, 256), (1, 1, 16, 160)]:
        assert model(torch.randn(*shape)).shape == (shape[0], 6, *shape[2:])
    with pytest.raises(ValueError, match="multiples of 16"):
        model(torch.randn(1, 1, 120, 160 + 8))
    with pytest.raises(ValueError, match="base_width must be >= 1"):
        build_model("live", num_classes=6, base_width=0)


def test_channels_last_gives_the_same_logits():
    torch.manual_seed(0)
    model = build_model("live", num_classes=6).eval()
    x = torch.randn(2, 1, 64, 80)
    with torch.no_grad():
        expected = model(x)
        got = model.to(memory_format=torch.channels_last)(x.contiguous(memory_format=torch.channels_last))
    torch.testing.assert_close(got, expected, atol=1e-4, rtol=1e-4)
    assert model.prefers_channels_last


def test_live_costs_a_fraction_of_unet_w16():
    x = torch.zeros(1, 1, 192, 256)
    live, unet = build_model("live", 6).eval(), build_model("unet", 6, base_width=16).eval()
    assert _flops(live, x) * 3.5 < _flops(unet, x)  # width 8 against 16: about a quarter


def _first_conv(stage: torch.nn.Module) -> torch.nn.Conv2d:
    return next(m for m in stage.modules() if isinstance(m, torch.nn.Conv2d))


@pytest.mark.parametrize("concat_stages", [0, 1, 4])
def test_decoder_stages_concatenate_or_add_their_skips(concat_stages):
    """The ``concat_stages`` finest decoder stages take the encoder features of their scale beside the up-sampled
    deeper ones (twice their width in channels); the others take the two added (their width)."""
    torch.manual_seed(0)
    live = build_model("live", 6, base_width=8, concat_stages=concat_stages).eval()
    widths = [8, 16, 32, 64]
    expected = [(2 if stage < concat_stages else 1) * w for stage, w in enumerate(widths)]
    assert [_first_conv(s).in_channels for s in live.dec] == expected
    assert [_first_conv(s).out_channels for s in live.dec] == widths
    seen: dict[str, torch.Tensor] = {}
    for stage in (0, 1):
        live.enc[stage].register_forward_hook(lambda m, i, o, k=stage: seen.update({f"skip{k}": o}))
        live.up[stage].register_forward_hook(lambda m, i, o, k=stage: seen.update({f"up{k}": o}))
        live.dec[stage].register_forward_pre_hook(lambda m, i, k=stage: seen.update({f"fused{k}": i[0]}))
    with torch.no_grad():
        live(torch.randn(1, 1, 32, 48))
    for stage in (0, 1):
        skip, up = seen[f"skip{stage}"], seen[f"up{stage}"]
        fused = torch.cat([skip, up], dim=1) if stage < concat_stages else skip + up
        torch.testing.assert_close(seen[f"fused{stage}"], fused)


def test_unet_concatenates_every_skip_and_refuses_a_stage_count_out_of_range():
    unet = build_model("unet", 6, base_width=8)
    assert [_first_conv(s).in_channels for s in unet.dec] == [16, 32, 64, 128]
    for bad in (-1, 5):
        with pytest.raises(ValueError, match="concat_stages must be between 0 and depth"):
            build_model("live", 6, concat_stages=bad)


def test_live_learns_a_fixed_batch():
    """A few steps of Adam on one batch of synthetic faces lower the cross-entropy well below its start."""
    from tiaug.synth import generate_faces

    faces = generate_faces(4, 64, 80, seed=3)
    x = torch.from_numpy((faces.images - 30.0) / 5.0).unsqueeze(1)
    y = torch.from_numpy(faces.masks).long()
    torch.manual_seed(0)
    model = build_model("live", num_classes=6, base_width=8)
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(30):
        optimiser.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        optimiser.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]


def test_live_trains_repvgg_branches_and_infers_with_them_folded(tmp_path):
    """Every 3x3 convolution of ``live`` is a RepConv; a loaded predictor runs them folded (the same masks as the
    model in eval mode), and its weights save again as a checkpoint that loads."""
    import samcl
    from samcl.models._blocks import RepConv

    torch.manual_seed(0)
    model = build_model("live", num_classes=6)
    blocks = [m for m in model.modules() if isinstance(m, RepConv)]
    assert len(blocks) == 2 * (len(model.enc) + len(model.dec))
    with torch.no_grad():  # training-like BN statistics, so that folding them matters
        for bn in (m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)):
            bn.running_mean.uniform_(-0.5, 0.5)
            bn.running_var.uniform_(0.5, 2.0)
    classes = ["background", "skin", "mouth", "eyes", "eyebrows", "nose"]
    norm = {"mean": 0.0, "std": 1.0}
    path = samcl.save_model(tmp_path / "live.pt", model, classes=classes, normalization=norm)
    predictor = samcl.load_predictor(path, device="cpu")
    loaded = [m for m in predictor.model.modules() if isinstance(m, RepConv)]
    assert all(m.fused_weight is not None for m in loaded)
    frames = torch.randn(2, 64, 80)
    with torch.no_grad():
        expected = model.eval()(frames[:, None]).argmax(1).numpy()
    assert (predictor.predict(frames.numpy()) == expected).mean() > 0.999
    again = samcl.save_model(tmp_path / "again.pt", predictor.model, classes=classes, normalization=norm)
    assert samcl.load_predictor(again, device="cpu").predict(frames.numpy()).shape == (2, 64, 80)
