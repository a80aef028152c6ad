"""BCE and ContrastiveSeg: hand-computed small cases, memory, state and gradient to the segmenter."""

import math

import pytest
import torch
import torch.nn.functional as F

from samcl.losses import BCELoss, RMILoss, build_loss
from samcl.losses.contrastive import ClassMemory, ContrastiveSegLoss, pixel_contrast, sample_anchors
from tests.helpers.tensors import random_batch


def test_bce_hand_case():
    """C=2, 1x3 image, labels [0, 1, 255], logits 0 everywhere except pixel 1 class 1 = ln 3 (sigmoid 3/4).

    Valid pixels 0, 1. Pixel 0: targets (1, 0), p = (1/2, 1/2): 2 ln 2. Pixel 1: targets (0, 1), p = (1/2, 3/4):
    ln 2 + ln(4/3). Sum / (2 + 1)."""
    logits = torch.zeros(1, 2, 1, 3)
    logits[0, 1, 0, 1] = math.log(3.0)
    logits[0, :, 0, 2] = 7.0  # ignored
    target = torch.tensor([[[0, 1, 255]]])
    want = (3 * math.log(2) + math.log(4 / 3)) / 3
    assert BCELoss()(logits, target).item() == pytest.approx(want, rel=1e-6)


def test_bce_matches_a_direct_computation_and_is_rmis_bce_term():
    logits, target = random_batch(2, 4, 12, 14, ignore_frac=0.2, seed=5)
    valid = target != 255
    y = F.one_hot(torch.where(valid, target, 0), 4).permute(0, 3, 1, 2).float()
    per_pixel = F.binary_cross_entropy_with_logits(logits, y, reduction="none").sum(1)
    want = (per_pixel * valid).sum() / (valid.sum() + 1)
    assert build_loss("bce", 4)(logits, target).item() == pytest.approx(want.item(), rel=1e-6)
    only_bce = RMILoss(bce_weight=1.0)(logits, target)
    assert only_bce.item() == pytest.approx(want.item(), rel=1e-6)


def test_bce_gradient_reaches_the_segmenter_and_skips_ignored_pixels():
    net = torch.nn.Conv2d(1, 3, 3, padding=1)
    images = torch.randn(2, 1, 8, 8, requires_grad=True)
    target = torch.randint(0, 3, (2, 8, 8))
    target[:, :4] = 255
    BCELoss()(net(images), target).backward()
    assert net.weight.grad.abs().sum() > 0
    assert images.grad[:, :, :3].abs().sum() == 0  # rows whose 3x3 neighbourhoods are all ignored get nothing
    assert images.grad[:, :, 5:].abs().sum() > 0


def test_pixel_contrast_two_class_toy():
    """Two anchors per class at unit vectors e0 (class 0) and e1 (class 1), temperature 1, no memory.

    Anchor 0: one positive (similarity 1), two negatives (similarity 0): -log(e / (e + 2)) = log(1 + 2 / e); the
    same for every anchor by symmetry."""
    e0, e1 = torch.tensor([1.0, 0.0]), torch.tensor([0.0, 1.0])
    anchors = torch.stack([e0, e0, e1, e1])
    labels = torch.tensor([0, 0, 1, 1])
    got = pixel_contrast(anchors, labels, anchors, labels, temperature=1.0)
    assert got.item() == pytest.approx(math.log(1 + 2 / math.e), rel=1e-6)
    # temperature 0.5 doubles the similarities; a memory key of class 1 at e0 is one more negative (similarity 2)
    keys = torch.cat([anchors, e0[None]])
    got = pixel_contrast(anchors[:2], labels[:2], keys, torch.cat([labels, torch.tensor([1])]), temperature=0.5)
    assert got.item() == pytest.approx(math.log(1 + (2 + math.exp(2)) / math.exp(2)), rel=1e-6)


def test_pixel_contrast_without_positives_or_negatives_is_zero():
    anchors = F.normalize(torch.randn(3, 4), dim=1)
    distinct, same = torch.tensor([0, 1, 2]), torch.zeros(3, dtype=torch.long)
    assert pixel_contrast(anchors, distinct, anchors, distinct, 0.1).item() == 0.0
    assert pixel_contrast(anchors, same, anchors, same, 0.1).item() == pytest.approx(0.0, abs=1e-7)


def test_hard_anchor_sampling_takes_half_hard_half_easy():
    """One image: class 0 on 6 pixels, 2 of them predicted wrongly (hard); class 1 on 2 pixels (not more than
    max_views = 2: no anchor). Two views of class 0: one hard, one easy."""
    emb = torch.arange(8.0).reshape(1, 1, 1, 8)  # the embedding of pixel k is k
    labels = torch.tensor([[[0, 0, 0, 0, 0, 0, 1, 1]]])
    pred = torch.tensor([[[1, 1, 0, 0, 0, 0, 1, 1]]])
    for seed in range(5):
        g = torch.Generator().manual_seed(seed)
        anchors, anchor_labels = sample_anchors(emb, labels, pred, 100, 2, -1, g)
        assert anchor_labels.tolist() == [0, 0]
        hard, easy = anchors.flatten().tolist()
        assert hard in (0.0, 1.0) and easy in (2.0, 3.0, 4.0, 5.0)
    # views per class: min(max_samples // pairs, max_views); max_samples 1 with one pair -> 1 view
    anchors, _ = sample_anchors(emb, labels, pred, 1, 2, -1, torch.Generator().manual_seed(0))
    assert anchors.shape == (1, 1)


def test_anchors_of_several_images_come_from_their_own_image_and_class():
    """Three images, three classes, 2-dimensional embeddings (image index, label): every anchor carries the
    embedding of a pixel of its own (image, class) pair, one per pair, and gradient reaches only those pixels."""
    g = torch.Generator().manual_seed(0)
    labels = torch.randint(0, 3, (3, 6, 5), generator=g)
    images = torch.arange(3.0)[:, None, None].expand(3, 6, 5)
    emb = torch.stack([images, labels.float()], dim=1).requires_grad_()
    anchors, anchor_labels = sample_anchors(emb, labels, labels, 1024, 1, -1, g)
    assert anchors[:, 1].tolist() == anchor_labels.float().tolist()
    pairs = sorted((int(i), int(c)) for i, c in anchors.detach().tolist())
    expected = sorted((i, int(c)) for i in range(3) for c in torch.unique(labels[i]) if (labels[i] == c).sum() > 1)
    assert pairs == expected
    anchors.sum().backward()
    assert emb.grad is not None and int((emb.grad[:, 0] != 0).sum()) == len(expected)


def test_class_memory_is_a_ring_buffer():
    memory = ClassMemory(num_classes=2, size=3, dim=1)
    memory.push(1, torch.tensor([[1.0], [2.0]]))
    keys, labels = memory.entries()
    assert keys.flatten().tolist() == [1.0, 2.0] and labels.tolist() == [1, 1]
    memory.push(1, torch.tensor([[3.0], [4.0]]))
    keys, _ = memory.entries()
    assert sorted(keys.flatten().tolist()) == [2.0, 3.0, 4.0]


class TinySegmenter(torch.nn.Module):
    """Features at half resolution (B, 4, H/2, W/2); logits upsampled to (B, C, H, W)."""

    def __init__(self, c=3):
        super().__init__()
        self.body = torch.nn.Conv2d(1, 4, 3, stride=2, padding=1)
        self.head = torch.nn.Conv2d(4, c, 1)

    def forward(self, x):
        features = self.body(x)
        return F.interpolate(self.head(features), scale_factor=2.0), features


def test_contrastive_seg_gradient_reaches_the_segmenter_and_start_step():
    torch.manual_seed(0)
    net = TinySegmenter()
    loss = ContrastiveSegLoss(3, feature_channels=4, base_loss=None, memory_size=0, seed=0)
    images, target = torch.randn(4, 1, 8, 8), torch.randint(0, 3, (4, 8, 8))
    logits, features = net(images)
    assert loss.parts(logits, target, features, step=0)["loss"].item() != 0.0
    loss(logits, target, features).backward()
    assert net.body.weight.grad.abs().sum() > 0
    assert all(p.grad is not None for p in loss.head.parameters())
    late = ContrastiveSegLoss(3, feature_channels=4, base_loss="dice", start_step=5, seed=0)
    parts = late.parts(logits, target, features, step=4)
    assert parts["strategy_loss"].item() == 0.0 and parts["loss"].item() == parts["base_loss"].item()
    assert late.parts(logits, target, features, step=5)["strategy_loss"].item() > 0


def test_memory_entries_come_from_the_pixels_their_labels_describe():
    """Features at half resolution, constant within each class's 2x2 block: each class's segment entry must be the
    embedding of that class's feature vector exactly (labels resized to the feature grid)."""
    target = torch.tensor([[0, 0, 1, 1], [0, 0, 1, 1], [2, 2, 0, 0], [2, 2, 0, 0]])[None]
    blocks = torch.tensor([[0, 1], [2, 0]])
    features = F.one_hot(blocks, 3).permute(2, 0, 1)[None].float() * 3.0
    loss = ContrastiveSegLoss(3, feature_channels=3, base_loss=None, proj_dim=5, memory_size=4, seed=1).eval()
    logits = torch.zeros(1, 3, 4, 4)
    loss(logits, target, features)
    loss.update_memory()
    keys, labels = loss.segments.entries()
    assert labels.tolist() == [0, 1, 2]
    with torch.no_grad():
        want = loss.head(torch.eye(3)[:, :, None, None] * 3.0)[:, :, 0, 0]
    torch.testing.assert_close(keys, want)
    pixel_keys, pixel_labels = loss.pixels.entries()
    assert pixel_labels.tolist() == [0, 0, 1, 2]  # class 0 covers two cells of the 2x2 grid
    torch.testing.assert_close(pixel_keys, want[pixel_labels])


def test_contrastive_seg_state_dict_resumes_identically():
    _, target = random_batch(2, 3, 8, 8, ignore_frac=0.1, seed=2)
    features, logits = torch.randn(2, 4, 8, 8), torch.randn(2, 3, 8, 8)
    first = ContrastiveSegLoss(3, feature_channels=4, memory_size=6, seed=3)
    for _ in range(3):
        first(logits, target, features)
        first.update_memory()
    second = ContrastiveSegLoss(3, feature_channels=4, memory_size=6, seed=99)
    second.load_state_dict(first.state_dict())
    assert first(logits, target, features).item() == second(logits, target, features).item()
    first.update_memory()
    second.update_memory()
    torch.testing.assert_close(first.pixels.entries()[0], second.pixels.entries()[0], rtol=0, atol=0)


def test_labels_on_the_feature_grid_of_a_padded_input():
    """64x80 labels, features of the input padded to 64x96 at stride 4 (16x24 cells): the centre pixel of each cell,
    and the padded cells ignored (-1)."""
    from samcl.losses.contrastive import on_grid

    labels = torch.arange(64 * 80).reshape(1, 64, 80)
    picked = on_grid(labels, (16, 24))
    assert torch.equal(picked[:, :, :20], labels[:, 2::4, 2::4])
    assert (picked[:, :, 20:] == -1).all()
    assert torch.equal(on_grid(labels, (64, 80)), labels)
