"""The training add-on protocol: a toy add-on that uses every hook (features, its own parameters trained with the
segmenter, an own optimiser, a batch chosen among several views, a generator in its extra state) trains, logs its
metrics and resumes bit for bit; the crop fits small frames."""

from __future__ import annotations

import csv
import math

import pytest
import torch
from torch import nn

from samcl.artifacts.checkpoint import load_checkpoint
from samcl.artifacts.normalization import Normalization
from samcl.models import build_model
from samcl.training import addons as addon_registry
from samcl.training.addons import Batch, SegmenterOutput, StepContext, TrainingAddon
from samcl.training.checkpoints import resume_payload
from samcl.training.config import TrainConfig
from samcl.training.loop import Run
from samcl.training.preflight import DataCheck, with_fitted_crop

WIDTH = 4  # the toy network's base width: its decoder feature map has WIDTH channels
NORMALIZATION = Normalization(30.0, 5.0)


class Probe(TrainingAddon):
    """Picks, per image, the view whose mean logit is highest (plus a little noise from its generator); adds a
    small penalty on a projection of the decoder features; trains a one-weight critic with its own optimiser."""

    name = "probe"
    uses_features = True
    views_per_image = 2

    def __init__(self, seed: int) -> None:
        super().__init__()
        self.project = nn.Conv2d(WIDTH, 2, 1)
        self.critic = nn.Linear(1, 1)
        self.generator = torch.Generator().manual_seed(seed)
        self.feature_shapes: list[tuple[int, ...]] = []
        self.picked: list[torch.Tensor] = []

    @property
    def metric_names(self) -> tuple[str, ...]:
        return ("probe_z", "probe_critic")

    def prepare_batch(self, batch: Batch, context: StepContext) -> Batch:
        assert batch.views is not None and batch.view_masks is not None and not torch.is_grad_enabled()
        b, v = batch.views.shape[:2]
        with context.autocast():
            logits = context.segmenter(batch.views.flatten(0, 1))
        score = logits.float().mean((1, 2, 3)).view(b, v) + 1e-3 * torch.rand(b, v, generator=self.generator)
        pick = score.argmax(1)
        self.picked.append(pick)
        rows = torch.arange(b)
        return batch.replace(images=batch.views[rows, pick], masks=batch.view_masks[rows, pick])

    def loss(self, out: SegmenterOutput, context: StepContext) -> dict[str, torch.Tensor]:
        assert out.features is not None
        self.feature_shapes.append(tuple(out.features.shape))
        z = self.project(out.features).float().pow(2).mean()
        noise = torch.rand((), generator=self.generator)
        return {"loss": 0.01 * z * (1 + noise), "probe_z": z.detach()}

    def make_optimizer(self) -> torch.optim.Optimizer:
        return torch.optim.Adam(self.critic.parameters(), lr=0.01)

    def after_step(self, out: SegmenterOutput, context: StepContext, optimizer: torch.optim.Optimizer | None):
        assert optimizer is not None and not out.logits.requires_grad
        optimizer.zero_grad(set_to_none=True)
        loss = (self.critic(out.base_loss.float().view(1, 1)) - 1.0).pow(2).sum()
        loss.backward()
        context.all_reduce_gradients(self.critic.parameters())
        optimizer.step()
        return {"probe_critic": loss.detach()}

    def get_extra_state(self) -> dict:
        return {"generator": self.generator.get_state()}

    def set_extra_state(self, state: dict) -> None:
        self.generator.set_state(state["generator"])


class Stop(Exception):
    pass


@pytest.fixture
def probe(monkeypatch):
    """samcl-train with the Probe add-on instead of SAM-CL."""
    made: list[Probe] = []

    def factory(config: TrainConfig, num_classes: int) -> Probe:
        made.append(Probe(config.seed))
        return made[-1]

    monkeypatch.setitem(addon_registry.ADDONS, "probe", factory)
    monkeypatch.setattr(TrainConfig, "addon_names", lambda self: ["probe"])
    return made


def _config(dataset, out, **options) -> TrainConfig:
    train, val = dataset
    settings = {
        "iters": 6,
        "batch_size": 2,
        "checkpoint_every": 2,
        "val_every": 3,
        "log_every": 1,
        "seed": 4,
        "workers": 0,
        "device": "cpu",
        "threads": 1,
        "model_kwargs": {"base_width": WIDTH},
        **options,
    }
    return TrainConfig(data=str(train), val=str(val), out=str(out), **settings).validate()


def _state(path) -> dict[str, torch.Tensor]:
    payload = load_checkpoint(path)
    state = payload["train_state"]
    tensors = {f"model.{k}": v for k, v in payload["model_state"].items()}
    tensors.update({f"probe.{k}": v for k, v in state["addons"]["probe"].items() if torch.is_tensor(v)})
    tensors["probe.generator"] = state["addons"]["probe"]["_extra_state"]["generator"]
    for group in ("optimizer", "addon_optimizers"):
        optimizers = {"main": state[group]} if group == "optimizer" else state[group]
        for name, opt in optimizers.items():
            for index, values in opt["state"].items():
                tensors.update({f"{group}.{name}.{index}.{k}": v for k, v in values.items() if torch.is_tensor(v)})
    return tensors


def test_an_addon_using_every_hook_trains_logs_and_resumes_bit_identically(dataset, tmp_path, probe):
    straight = Run(_config(dataset, tmp_path / "straight"))
    critic_before = straight.addons[0].critic.weight.detach().clone()
    straight.fit()
    toy = probe[0]
    # the decoder features reached the add-on; the crop is the data's own 64x80 frames (no crop configured)
    assert toy.feature_shapes and set(toy.feature_shapes) == {(2, WIDTH, 64, 80)}
    best = load_checkpoint(tmp_path / "straight" / "best.pt")
    assert straight.config.crop == (64, 80) and best["input_size"] == [64, 80]
    assert torch.cat(toy.picked).unique().numel() == 2  # both views were trained on
    # the critic is trained by its own optimiser only; the projection with the segmenter
    main_params = {id(p) for group in straight.optimizer.param_groups for p in group["params"]}
    assert not main_params & {id(p) for p in toy.critic.parameters()}
    assert {id(p) for p in toy.project.parameters()} <= main_params
    assert not torch.equal(toy.critic.weight, critic_before)
    rows = list(csv.DictReader((tmp_path / "straight" / "metrics.csv").open()))
    logged = [float(r[c]) for r in rows for c in ("probe_loss", "probe_z", "probe_critic")]
    assert len(rows) == 6 and all(math.isfinite(v) and v > 0 for v in logged)
    assert {float(r["grad_probe_loss"]) for r in rows} == {0.0}  # a term on the features sends none to the logits

    def stop_at_two(done: int, total: int | None = None, **figures: float | None) -> None:
        assert total == 6 and "loss" in figures
        if done == 2:
            raise Stop

    killed = tmp_path / "killed"
    with pytest.raises(Stop):
        Run(_config(dataset, killed)).fit(progress=stop_at_two)
    Run(_config(dataset, killed), resume_payload=resume_payload(killed)).fit()
    a, b = _state(tmp_path / "straight" / "last.pt"), _state(killed / "last.pt")
    assert a.keys() == b.keys() and any(k.startswith("addon_optimizers.probe") for k in a)
    assert [k for k in a if not torch.equal(a[k], b[k])] == []


def test_the_crop_fits_frames_smaller_than_the_default():
    model = build_model("unet", 6, base_width=WIDTH)
    config = TrainConfig(data="t.h5", val="v.h5", out="run")
    notes: list[str] = []

    def fitted(height: int, width: int) -> tuple[int, int] | None:
        data = DataCheck(("a", "b"), 4, NORMALIZATION, sizes={"data": ("t.h5", height, width)})
        return with_fitted_crop(config, data, model, notes.append).crop

    assert fitted(64, 80) == (64, 80) and not notes  # the data's own size: nothing to say
    assert fitted(1000, 1000) == (256, 320) and not notes  # large frames: the default crop
    assert fitted(72, 90) == (64, 80)  # rounded down to the network's multiple of 16, and said so
    assert len(notes) == 1 and "72x90" in notes[0] and "64x80" in notes[0] and "16" in notes[0]
    explicit = TrainConfig(data="t.h5", val="v.h5", out="run", crop=(32, 48))
    data = DataCheck(("a",), 1, NORMALIZATION, sizes={"data": ("t.h5", 64, 80)})
    assert with_fitted_crop(explicit, data, model).crop == (32, 48)
