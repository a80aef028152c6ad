import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from samcl.losses import SAMCLLoss, random_derangement, random_derangements


@settings(max_examples=150, deadline=None)
@given(n=st.integers(min_value=2, max_value=64), seed=st.integers(min_value=0, max_value=2**31 - 1))
def test_derangement_is_a_permutation_without_fixed_points(n, seed):
    g = torch.Generator().manual_seed(seed)
    sigma = random_derangement(n, g)
    assert sorted(sigma.tolist()) == list(range(n))
    assert all(int(sigma[i]) != i for i in range(n))


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(min_value=2, max_value=12),
    b=st.integers(min_value=1, max_value=5),
    seed=st.integers(0, 10**6),
)
def test_batched_derangements_and_swapped_labels_never_keep_a_class(n, b, seed):
    g = torch.Generator().manual_seed(seed)
    sig = random_derangements(b, n, g)
    assert sig.shape == (b, n)
    labels = torch.randint(0, n, (b, 5, 7), generator=g)
    swapped = torch.gather(sig, 1, labels.reshape(b, -1)).reshape_as(labels)
    assert not (swapped == labels).any()


@pytest.mark.parametrize("n", [0, 1])
def test_fewer_than_two_classes_are_refused(n):
    with pytest.raises(ValueError, match="at least 2 classes"):
        random_derangement(n)


def test_samcl_refuses_a_single_class():
    with pytest.raises(ValueError, match="at least 2 classes"):
        SAMCLLoss(1)


def test_seeded_generator_is_reproducible_and_covers_all_derangements():
    a = [random_derangement(4, torch.Generator().manual_seed(7)).tolist() for _ in range(3)]
    assert a[0] == a[1] == a[2]
    g = torch.Generator().manual_seed(0)
    seen = {tuple(random_derangement(4, g).tolist()) for _ in range(400)}
    assert len(seen) == 9  # the number of derangements of 4 elements (subfactorial !4)


def test_explicit_derangement_with_fixed_point_is_refused():
    loss = SAMCLLoss(3, base_loss=None, num_scales=1, seg_distance="ce")
    logits, target = torch.randn(1, 3, 8, 8), torch.randint(0, 3, (1, 8, 8))
    with pytest.raises(ValueError, match="no fixed point"):
        loss.parts(logits, target, derangement=torch.tensor([0, 2, 1]))
