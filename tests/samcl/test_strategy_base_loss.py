"""The strategy losses (SegAN, SegGAN, ContrastiveSeg) build their base loss from the one base-loss table."""

from __future__ import annotations

import pytest

from samcl.losses._strategy import base_loss_module
from samcl.losses.base_losses import BASE_LOSSES, BaseLoss


@pytest.mark.parametrize("name", list(BASE_LOSSES))
def test_a_base_loss_named_by_a_strategy_is_the_tables_module(name):
    module = base_loss_module(name, 6, 7)
    assert type(module) is BaseLoss.resolve(BASE_LOSSES[name].loss)
    assert module.ignore_index == 7


def test_an_unknown_base_loss_is_refused_by_name():
    with pytest.raises(ValueError, match="unknown base loss 'focal'"):
        base_loss_module("focal", 6, 255)
