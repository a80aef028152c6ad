"""SAM-CL's design choices as options of SAMCLLoss: normalised distances, per-image triplets, lambda warm-up,
relative lambda, how the auxiliary network learns, presets, and refused values."""

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from samcl.losses import SAMCL_PRESETS, SAMCLLoss, warmup_factor
from samcl.losses.samcl_loss import _RATIO_EPS

from .conftest import random_batch

C = 4
SIGMA = torch.tensor([[1, 2, 3, 0], [3, 0, 1, 2], [2, 3, 0, 1]])
VALUE_KEYS = ("loss", "samcl", "per_scale", "d_pos", "d_neg", "active")


def _loss(**kwargs) -> SAMCLLoss:
    """A seeded float64 SAMCLLoss without a base loss unless given (same seed: same auxiliary network)."""
    return SAMCLLoss(C, **{"base_loss": None, "seed": 0, **kwargs}).double()


def _inputs(b=2, h=24, w=28, seed=0, ignore_frac=0.1):
    logits, target = random_batch(b, C, h, w, ignore_frac=ignore_frac, seed=seed)
    return logits.double().requires_grad_(), target


def _grads(loss: SAMCLLoss, x: torch.Tensor, target: torch.Tensor, **kwargs):
    """(parts, gradient of parts['loss'] at the logits, gradients of the auxiliary network's parameters)."""
    parts = loss.parts(x, target, **kwargs)
    grads = torch.autograd.grad(parts["loss"], [x, *loss.aux.parameters()], allow_unused=True)
    return parts, grads[0], list(grads[1:])


def _assert_same_parts(a: dict, b: dict, rtol=1e-9, atol=1e-12) -> None:
    for key in VALUE_KEYS:
        assert torch.allclose(torch.as_tensor(a[key]), torch.as_tensor(b[key]), rtol=rtol, atol=atol), (key, a, b)


def _scale_aux_features(loss: SAMCLLoss, factor: float) -> None:
    """Multiply every block's last normalisation (affine weight and bias) by ``factor``: the output of each block
    is scaled by ``factor`` (ReLU is positively homogeneous; the next block's norm undoes it up to its eps)."""
    with torch.no_grad():
        for block in loss.aux.blocks:
            norm = (block.norm2 if hasattr(block, "norm2") else block.norm).norm
            norm.weight.mul_(factor)
            norm.bias.mul_(factor)


# -- distance_norm ----------------------------------------------------------------------------------------------
distances = st.lists(st.floats(-50.0, 50.0, allow_nan=False), min_size=8, max_size=8)


@settings(max_examples=60, deadline=None)
@given(pos=distances, neg=distances, margin=st.floats(0.0, 2.0), factor=st.floats(0.1, 100.0))
def test_ratio_hinges_bounded_scale_free_and_the_raw_formula(pos, neg, margin, factor):
    loss = SAMCLLoss(C, preset="stable", margin=margin, base_loss=None, seed=0)
    d_pos, d_neg = torch.tensor(pos, dtype=torch.float64), torch.tensor(neg, dtype=torch.float64)
    # 'batch' (4 scales) and 'image' (4 scales x 2 images) shapes
    for dp, dn, valid in (
        (d_pos[:4], d_neg[:4], torch.tensor(1.0)),
        (d_pos.view(4, 2), d_neg.view(4, 2), torch.ones(2)),
    ):
        per_scale = loss.triplet_terms(dp, dn, valid)["per_scale"]
        assert torch.all(per_scale >= 0) and torch.all(per_scale <= 1 + margin + 1e-12)
        hinge = torch.clamp((dp - dn) / (dp.abs() + dn.abs() + _RATIO_EPS) + margin, min=0)
        assert torch.allclose(per_scale, hinge if dp.dim() == 1 else hinge.mean(1), rtol=1e-12, atol=1e-12)
    # the same (non-negative) distances in other units, e.g. features scaled by sqrt(factor) under MSE: the same
    # hinges up to the epsilon of the ratio
    dp, dn = d_pos[:4].abs() + 0.05, d_neg[:4].abs() + 0.05
    one = torch.tensor(1.0)
    a = loss.triplet_terms(dp, dn, one)["per_scale"]
    assert torch.allclose(a, loss.triplet_terms(factor * dp, factor * dn, one)["per_scale"], rtol=0, atol=2e-4)


@pytest.mark.parametrize("feat", ["mse", "l1"])
def test_ratio_hinges_ignore_the_scale_of_the_auxiliary_features(feat):
    x, target = _inputs(seed=1)
    factor = 10.0
    results = {}
    for norm in ("ratio", "none"):
        plain, scaled = _loss(distance_norm=norm, feat_distance=feat), _loss(distance_norm=norm, feat_distance=feat)
        _scale_aux_features(scaled, factor)
        results[norm] = plain.parts(x, target, derangement=SIGMA[:2]), scaled.parts(x, target, derangement=SIGMA[:2])
    a, b = results["ratio"]
    # the scaled network really produced larger features: the raw feature distances grew by factor**p ...
    power = 2 if feat == "mse" else 1
    assert torch.allclose(b["d_pos"][1:], factor**power * a["d_pos"][1:], rtol=1e-2)
    assert torch.allclose(b["d_neg"][1:], factor**power * a["d_neg"][1:], rtol=1e-2)
    assert torch.allclose(b["d_pos"][0], a["d_pos"][0], rtol=1e-12)  # scale 0 is the map itself
    # ... the normalised hinges did not change, the raw ones did; every normalised hinge is in [0, 1 + margin]
    assert torch.allclose(b["per_scale"], a["per_scale"], rtol=1e-4, atol=1e-6)
    raw_a, raw_b = results["none"]
    assert not torch.allclose(raw_b["per_scale"][1:], raw_a["per_scale"][1:], rtol=1e-2)
    margin = SAMCL_PRESETS["stable"]["margin"]  # _loss's preset
    for parts in (a, b):
        assert torch.all(parts["per_scale"] >= 0) and torch.all(parts["per_scale"] <= 1 + margin)


# -- triplet 'image' -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("preset", sorted(SAMCL_PRESETS))
@pytest.mark.parametrize("d0", ["rmi", "dice", "ce"])
@pytest.mark.parametrize("feat", ["mse", "l1", "cosine"])
def test_per_image_hinge_equals_batch_hinge_for_one_image(preset, d0, feat):
    x, target = _inputs(b=1, seed=2)
    common = {"preset": preset, "seg_distance": d0, "feat_distance": feat, "base_loss": "ce"}
    batch, batch_gx, batch_ga = _grads(_loss(triplet="batch", **common), x, target, derangement=SIGMA[:1])
    image, image_gx, image_ga = _grads(_loss(triplet="image", **common), x, target, derangement=SIGMA[:1])
    _assert_same_parts(batch, image)
    assert torch.allclose(batch_gx, image_gx, rtol=1e-9, atol=1e-12)
    for a, b in zip(batch_ga, image_ga, strict=True):
        assert torch.allclose(a, b, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("distance_norm", ["none", "ratio"])
def test_per_image_triplets_on_a_batch_are_the_mean_of_single_image_calls(distance_norm):
    x, target = _inputs(b=3, seed=3)
    target[2] = 255  # an image without a valid pixel: left out of the mean
    loss = _loss(triplet="image", distance_norm=distance_norm, margin=0.5)
    whole, whole_gx, whole_ga = _grads(loss, x, target, derangement=SIGMA)
    singles = [_grads(loss, x[i : i + 1], target[i : i + 1], derangement=SIGMA[i : i + 1]) for i in range(2)]
    for key in ("samcl", "per_scale", "d_pos", "d_neg", "active"):
        want = sum(s[0][key] for s in singles) / 2
        assert torch.allclose(whole[key], want, rtol=1e-9, atol=1e-12), key
    assert torch.allclose(whole_gx[:2], torch.cat([s[1] for s in singles]) / 2, rtol=1e-9, atol=1e-12)
    assert torch.all(whole_gx[2] == 0)
    for k, g in enumerate(whole_ga):
        assert torch.allclose(g, (singles[0][2][k] + singles[1][2][k]) / 2, rtol=1e-9, atol=1e-12)
    # the batch triplet is a different quantity: one hinge over the pooled maps
    pooled = _loss(triplet="batch", distance_norm=distance_norm, margin=0.5).parts(x, target, derangement=SIGMA)
    assert not torch.allclose(pooled["d_pos"], whole["d_pos"])


# -- warm-up ---------------------------------------------------------------------------------------------------
def test_warmup_factor_is_exact_at_its_steps():
    assert warmup_factor(0, 10) == 0.0
    assert warmup_factor(5, 10) == 0.5
    assert warmup_factor(1, 4) == 0.25
    assert warmup_factor(10, 10) == 1.0 and warmup_factor(11, 10) == 1.0 and warmup_factor(10**6, 10) == 1.0
    assert warmup_factor(None, 10) == 1.0 and warmup_factor(0, 0) == 1.0 and warmup_factor(3, 0) == 1.0
    assert warmup_factor(-2, 10) == 0.0


@pytest.mark.parametrize("lam_mode", ["absolute", "relative"])
def test_warmup_ramps_lambda_over_its_steps(lam_mode):
    x, target = _inputs(seed=4)
    ramped = _loss(lam=0.4, warmup_steps=10, base_loss="dice", lam_mode=lam_mode)
    full = _loss(lam=0.4, base_loss="dice", lam_mode=lam_mode).parts(x, target, derangement=SIGMA[:2])
    for step, factor in ((5, 0.5), (10, 1.0), (25, 1.0), (None, 1.0)):
        parts = ramped.parts(x, target, step=step, derangement=SIGMA[:2])
        assert parts["lam"] == 0.4 * factor
        assert torch.equal(parts["samcl"], full["samcl"])
        assert torch.allclose(parts["samcl_loss"], 0.4 * factor * full["samcl"], rtol=1e-12)
        assert torch.allclose(parts["loss"], parts["base_loss"] + parts["samcl_loss"], rtol=1e-12)


def test_nothing_of_samcl_is_computed_while_the_warmup_factor_is_zero(monkeypatch):
    x, target = _inputs(seed=5)
    loss = _loss(warmup_steps=8, base_loss="ce")
    calls = []
    monkeypatch.setattr(loss, "distances", lambda *a, **k: calls.append(1) or SAMCLLoss.distances(loss, *a, **k))
    own, passed = loss.generator.get_state(), torch.Generator().manual_seed(9)
    passed_state, global_state = passed.get_state(), torch.get_rng_state()
    parts = loss.parts(x, target, step=0, generator=passed)
    assert calls == [] and parts["derangement"] is None and parts["lam"] == 0.0
    assert torch.equal(loss.generator.get_state(), own) and torch.equal(passed.get_state(), passed_state)
    assert torch.equal(torch.get_rng_state(), global_state)
    assert parts["loss"].item() == parts["base_loss"].item() and parts["samcl_loss"].item() == 0.0
    for key in ("per_scale", "d_pos", "d_neg", "active"):
        assert parts[key].shape == (4,) and torch.isnan(parts[key]).all(), key
    (g,) = torch.autograd.grad(parts["loss"], x)
    (g_base,) = torch.autograd.grad(loss.base(x, target), x)
    assert torch.equal(g, g_base)
    # from the next step on the term is computed and a derangement is drawn from the loss's generator
    parts = loss.parts(x, target, step=1)
    assert calls == [1] and parts["derangement"].shape == (2, C) and parts["lam"] == pytest.approx(loss.lam / 8)
    assert not torch.equal(loss.generator.get_state(), own)


# -- relative lambda -------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("lam", "base", "step"), [(0.05, "dice", None), (0.5, "ce", None), (2.0, "rmi", None), (0.5, "dice", 5)]
)
def test_relative_lambda_is_the_ratio_of_gradient_norms_at_the_logits(lam, base, step):
    x, target = _inputs(seed=6)
    relative = _loss(lam=lam, base_loss=base, lam_mode="relative", warmup_steps=10, margin=0.5)
    absolute = _loss(lam=lam, base_loss=base, lam_mode="absolute", warmup_steps=10, margin=0.5)
    parts = relative.parts(x, target, step=step, derangement=SIGMA[:2])
    assert parts["samcl"].item() > 0  # an active hinge: the SAM-CL term has a gradient
    g_base = torch.autograd.grad(parts["base_loss"], x, retain_graph=True)[0]
    g_samcl = torch.autograd.grad(parts["samcl_loss"], x, retain_graph=True)[0]
    assert (g_samcl.norm() / g_base.norm()).item() == pytest.approx(parts["lam"], rel=1e-6)  # float32 norms
    assert parts["lam"] == lam * warmup_factor(step, 10)
    g_total = torch.autograd.grad(parts["loss"], [x, *relative.aux.parameters()])
    assert torch.allclose(g_total[0], g_base + g_samcl, rtol=1e-9, atol=1e-14)
    # same values as lambda 'absolute'; the auxiliary network's gradients are those of lam * L_SAMCL
    ref, ref_gx, ref_ga = _grads(absolute, x, target, step=step, derangement=SIGMA[:2])
    _assert_same_parts(parts, ref)
    assert not torch.allclose(ref_gx, g_total[0])  # ... while the logits' gradient differs
    for a, b in zip(g_total[1:], ref_ga, strict=True):
        assert a.abs().sum() > 0 and torch.allclose(a, b, rtol=1e-9, atol=1e-14)


# -- the auxiliary network -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("mode", "scale", "factor"), [("adversarial", 1.0, -1.0), ("adversarial", 2.0, -2.0), ("joint", 0.5, 0.5)]
)
@pytest.mark.parametrize("spectral_norm", [False, True])
def test_auxiliary_gradients_reversed_or_scaled(mode, scale, factor, spectral_norm):
    x, target = _inputs(seed=7)
    common = {"base_loss": "ce", "preset": "poster", "spectral_norm": spectral_norm}
    joint, joint_gx, joint_ga = _grads(_loss(**common), x, target, derangement=SIGMA[:2])
    other, other_gx, other_ga = _grads(
        _loss(aux_mode=mode, aux_lr_scale=scale, **common), x, target, derangement=SIGMA[:2]
    )
    _assert_same_parts(joint, other, rtol=0, atol=0)
    assert torch.equal(joint_gx, other_gx)  # the segmentation network's gradient is unchanged
    assert len(joint_ga) > 0
    for a, b in zip(joint_ga, other_ga, strict=True):
        assert a.abs().sum() > 0 and torch.equal(b, factor * a)


def test_frozen_auxiliary_network_gets_no_gradient_and_keeps_its_weights():
    x, target = _inputs(seed=8)
    frozen, joint = _loss(aux_mode="frozen", base_loss="ce"), _loss(base_loss="ce")
    assert frozen.state_dict().keys() == joint.state_dict().keys()  # checkpoints of both modes look alike
    before = {k: v.clone() for k, v in frozen.state_dict().items()}
    assert before and all(torch.equal(v, joint.state_dict()[k]) for k, v in before.items())
    optimizer = torch.optim.SGD([x, *frozen.parameters()], lr=0.5, momentum=0.9, weight_decay=1e-2)
    for _ in range(2):
        optimizer.zero_grad()
        parts = frozen.parts(x, target, derangement=SIGMA[:2])
        parts["loss"].backward()
        assert x.grad.abs().sum() > 0
        assert all(p.grad is None and not p.requires_grad for p in frozen.aux.parameters())
        optimizer.step()
    assert all(torch.equal(v, frozen.state_dict()[k]) for k, v in before.items())
    assert parts["samcl"].item() > 0


# -- presets and refused values --------------------------------------------------------------------------------
POSTER = {
    "lam": 0.5,
    "margin": 1.0,
    "distance_norm": "none",
    "triplet": "batch",
    "warmup_steps": 0,
    "aux_mode": "joint",
    "lam_mode": "absolute",
}


def test_poster_preset_is_the_explicit_poster_formulation():
    x, target = _inputs(seed=9)
    preset, gx, ga = _grads(_loss(preset="poster", base_loss="ce"), x, target, derangement=SIGMA[:2])
    explicit, ex_gx, ex_ga = _grads(_loss(preset="stable", base_loss="ce", **POSTER), x, target, derangement=SIGMA[:2])
    _assert_same_parts(preset, explicit, rtol=0, atol=0)
    assert torch.equal(gx, ex_gx) and all(torch.equal(a, b) for a, b in zip(ga, ex_ga, strict=True))
    # the poster's formula: sum_k max(d_pos - d_neg + 1, 0) over the raw distances, lambda 0.5
    want = torch.clamp(preset["d_pos"] - preset["d_neg"] + 1.0, min=0)
    assert torch.allclose(preset["per_scale"], want, rtol=1e-12)
    assert torch.allclose(preset["loss"], preset["base_loss"] + 0.5 * want.sum(), rtol=1e-12)


def test_explicit_arguments_override_the_preset():
    loss = SAMCLLoss(C, preset="poster", margin=0.3, triplet="image", aux_mode="adversarial")
    assert (loss.margin, loss.triplet, loss.aux_mode) == (0.3, "image", "adversarial")
    assert (loss.distance_norm, loss.lam_mode, loss.warmup_steps) == ("none", "absolute", 0)  # the rest: poster's
    x, target = _inputs(seed=10)
    stable = _loss(preset="stable", base_loss="ce").parts(x, target, derangement=SIGMA[:2])
    poster_made_stable = _loss(preset="poster", base_loss="ce", **SAMCL_PRESETS["stable"])
    _assert_same_parts(stable, poster_made_stable.parts(x, target, derangement=SIGMA[:2]), rtol=0, atol=0)
    poster = _loss(preset="poster", base_loss="ce").parts(x, target, derangement=SIGMA[:2])
    assert not math.isclose(stable["loss"].item(), poster["loss"].item())  # the two presets do differ


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"preset": "fancy"}, "preset"),
        ({"distance_norm": "l2"}, "distance_norm"),
        ({"triplet": "pixel"}, "triplet"),
        ({"aux_mode": "gan"}, "aux_mode"),
        ({"lam_mode": "ratio"}, "lam_mode"),
        ({"margin": -0.1}, "margin"),
        ({"margin": math.inf}, "margin"),
        ({"margin": "wide"}, "margin"),
        ({"lam": -1.0}, "lam"),
        ({"lam": math.nan}, "lam"),
        ({"lam": math.inf}, "lam"),
        ({"warmup_steps": -1}, "warmup_steps"),
        ({"warmup_steps": 2.5}, "warmup_steps"),
        ({"aux_lr_scale": -1.0}, "aux_lr_scale"),
        ({"aux_lr_scale": math.nan}, "aux_lr_scale"),
    ],
)
def test_bad_values_are_refused_naming_the_option(kwargs, name):
    with pytest.raises(ValueError, match=rf"\b{name}\b") as info:
        SAMCLLoss(C, **kwargs)
    others = {"margin", "lam", "warmup_steps", "aux_lr_scale"} - {name}
    assert not any(f" {other} " in str(info.value) for other in others), str(info.value)
