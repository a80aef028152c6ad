"""samcl-train --strategy: configuration, refusals, and a bit-identical --resume with each strategy (in-process runs
of a few steps at tiny sizes)."""

from __future__ import annotations

import pytest
import torch

from samcl.artifacts.checkpoint import load_checkpoint
from samcl.losses.settings import STRATEGIES
from samcl.training.addons import ADDONS
from samcl.training.checkpoints import resume_payload
from samcl.training.config import resolve_config
from samcl.training.loop import Run
from tests.helpers.training import assert_same_state, run_state, run_torchrun
from tiaug.errors import UserError

#: Each strategy at a tiny size: its options, and a base loss the poster pairs it with.
TINY_OPTIONS = {
    "samcl": ("dice", {}),
    "contrastiveseg": ("rmi", {"start": 0.25, "memory_size": 8}),  # on from step 1: memory fills before the stop
    "segan": ("dice", {"width": 4}),
    "seggan": ("ce", {"generator_width": 4, "discriminator_width": 4, "pretrain": 0.5}),
    "none": ("bce", {}),
}


def _config(dataset, out, strategy, **changes):
    train, val = dataset
    loss, options = TINY_OPTIONS[strategy]
    flags = dict(
        data=str(train),
        val=str(val),
        out=str(out),
        model_kwargs={"base_width": 4},
        crop="64x80",
        workers=0,
        device="cpu",
        iters=6,
        batch_size=4,
        checkpoint_every=2,
        val_every=3,
        log_every=1,
        seed=3,
        loss=loss,
        strategy=strategy,
        strategy_kwargs={strategy: options} if options else None,
        threads=1,
        tiaug=False,
        scene=False,
    )
    return resolve_config(None, {**flags, **changes})


class Stop(Exception):
    """Raised by the progress callback: a run killed after a step."""


def test_every_strategy_is_an_addon():
    assert set(STRATEGIES) - {"none"} <= set(ADDONS)
    assert set(TINY_OPTIONS) == set(STRATEGIES)


@pytest.mark.slow
@pytest.mark.parametrize("strategy", sorted(STRATEGIES))
def test_resume_is_bit_identical_with_each_strategy(dataset, tmp_path, strategy):
    straight = Run(_config(dataset, tmp_path / "straight", strategy))
    straight.fit()

    def stop_at_2(done: int, total: int | None = None, **figures: float | None) -> None:
        if done == 2:
            raise Stop

    with pytest.raises(Stop):
        Run(_config(dataset, tmp_path / "killed", strategy)).fit(progress=stop_at_2)
    payload = resume_payload(tmp_path / "killed")
    assert payload["iteration"] == 2
    Run(resolve_config({**payload["config"], "out": str(tmp_path / "killed")}, {}), payload).fit()
    a, b = run_state(straight.out / "last.pt"), run_state(tmp_path / "killed" / "last.pt")
    assert_same_state(a, b)
    assert bool(a["addons"]) == (strategy != "none")  # the strategy's state is saved
    own = [
        load_checkpoint(d / "last.pt")["train_state"]["addon_optimizers"] for d in (straight.out, tmp_path / "killed")
    ]
    assert own[0].keys() == own[1].keys() == ({strategy} if strategy in ("segan", "seggan") else set())
    for name, state in own[0].items():
        for index, values in state["state"].items():
            for key, value in values.items():
                assert torch.equal(value, own[1][name]["state"][index][key]), (name, index, key)


def test_strategy_and_the_samcl_shorthand(dataset, tmp_path):
    out = tmp_path / "run"
    assert _config(dataset, out, "samcl").addon_names() == ["samcl"]
    assert _config(dataset, out, "none").samcl is False
    assert resolve_config(None, dict(data="a", val="b", out="c", samcl=False)).strategy == "none"
    assert resolve_config({"data": "a", "val": "b", "out": "c", "samcl": True}, {"strategy": "segan"}).samcl is False
    with pytest.raises(UserError, match="--samcl contradicts --strategy segan"):
        resolve_config(None, dict(data="a", val="b", out="c", samcl=True, strategy="segan"))
    assert resolve_config(None, dict(data="a", val="b", out="c", samcl=False, strategy="segan")).strategy == "segan"


def test_strategy_options_are_checked(dataset, tmp_path):
    out = tmp_path / "run"
    with pytest.raises(UserError, match=r"--segan-arg bogus: not an option; valid: \[.*'width'"):
        _config(dataset, out, "segan", strategy_kwargs={"segan": {"bogus": 1}})
    with pytest.raises(UserError, match="the run's strategy is none, not segan"):
        _config(dataset, out, "none", strategy_kwargs={"segan": {"width": 4}})
    with pytest.raises(UserError, match="--contrastiveseg-arg start: a fraction"):
        Run(_config(dataset, out, "contrastiveseg", strategy_kwargs={"contrastiveseg": {"start": 2}}))
    with pytest.raises(UserError, match="--segan-arg width=0"):
        Run(_config(dataset, out, "segan", strategy_kwargs={"segan": {"width": 0}}))


@pytest.mark.slow
@pytest.mark.parametrize("strategy", ["contrastiveseg", "segan"])
def test_torchrun_with_a_strategy(dataset, tmp_path, strategy):
    """Two processes: decoder features (ContrastiveSeg) and an own optimiser's step (SegAN's critic) under DDP."""

    train, val = dataset
    loss, options = TINY_OPTIONS[strategy]
    extra = [arg for key, value in options.items() for arg in (f"--{strategy}-arg", f"{key}={value}")]
    res = run_torchrun(
        train,
        val,
        tmp_path / "ddp",
        "--iters",
        "2",
        "--batch-size",
        "2",
        "--val-every",
        "2",
        "--loss",
        loss,
        "--strategy",
        strategy,
        *extra,
    )
    assert res.returncode == 0, res.stderr[-3000:]
    last = load_checkpoint(tmp_path / "ddp" / "last.pt")
    assert last["iteration"] == 2 and last["train_state"]["addons"][strategy]
