"""SAM-CL in samcl-train: the logged diagnostics (lambda, per-scale distances and active hinges, gradient norms at the
logits), the training curves, --samcl-* options, exact resume with a lambda warm-up, and the input normalisation
stored in checkpoints and applied by samcl-eval / samcl-predict."""

from __future__ import annotations

import csv
import json
import math

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from samcl.artifacts.checkpoint import load_checkpoint, model_from_checkpoint, normalization_of, save_checkpoint
from samcl.artifacts.normalization import Normalization
from samcl.cli.eval_cmd import eval_main
from samcl.cli.predict_cmd import predict_main
from samcl.cli.train_cmd import train
from samcl.inference.predictor import load_inference_model
from samcl.losses import DiceLoss, SAMCLLoss
from samcl.models import build_model
from samcl.training.addons import SAMCLAddon, build_addons
from samcl.training.config import TrainConfig
from samcl.training.metrics_log import IntervalStats, MetricsLog, StepColumns
from samcl.training.plots import plot_training_curves, training_curves_figure
from samcl.training.step import TrainStep
from tests.helpers.training import flags, run_train, straight_and_resumed
from tiaug.io import open_thermal, write_thermal_h5
from tiaug.synth import generate_faces

CLASSES = ("background", "skin", "mouth", "eyes", "eyebrows", "nose")


def _scale_columns(num_scales: int) -> list[str]:
    return [f"{key}_s{k}" for key in ("d_pos", "d_neg", "active") for k in range(num_scales)]


SCALE_COLUMNS = _scale_columns(4)


def _batch(n=2, seed=0):
    faces = generate_faces(n, 32, 48, seed=seed)
    images = torch.from_numpy((faces.images - 30.0) / 5.0).unsqueeze(1)
    return images, torch.from_numpy(faces.masks).long()


def _samcl(**loss_kwargs) -> SAMCLAddon:
    return SAMCLAddon(SAMCLLoss(len(CLASSES), base_loss=None, seed=0, **loss_kwargs))


def _step_module(**loss_kwargs) -> TrainStep:
    torch.manual_seed(0)
    model = build_model("unet", len(CLASSES), base_width=4)
    return TrainStep(model, DiceLoss(), [_samcl(**loss_kwargs)])


def _per_scale(outputs: dict, key: str) -> torch.Tensor:
    return torch.stack([outputs[f"{key}_s{k}"] for k in range(4)])


# -- the diagnostics of one step, their means over an interval, metrics.csv and curves.png ----------------------
def test_train_step_reports_lambda_distances_active_hinges_and_gradient_norms():
    images, masks = _batch()
    step = _step_module(warmup_steps=4, lam=0.5)  # preset 'stable': lambda relative to the base loss's gradient
    warm = step(images, masks, step=0, diagnostics=True)
    assert float(warm["lam"]) == 0.0
    assert all(torch.isnan(_per_scale(warm, key)).all() for key in ("d_pos", "d_neg", "active"))
    assert float(warm["grad_samcl_loss"]) == 0.0 and float(warm["grad_base_loss"]) > 0
    half = step(images, masks, step=2, diagnostics=True)
    assert float(half["lam"]) == 0.25
    assert all(torch.isfinite(_per_scale(half, key)).all() for key in ("d_pos", "d_neg", "active"))
    total = float(half["base_loss"].detach() + half["samcl_loss"].detach())
    assert float(half["loss"].detach()) == pytest.approx(total, rel=1e-6)
    assert float(half["grad_samcl_loss"]) > 0  # an untrained network: the hinges are active
    assert float(half["grad_samcl_loss"]) / float(half["grad_base_loss"]) == pytest.approx(0.25, rel=1e-5)
    # the base gradient norm is what it claims: recomputed on its own
    logits = step.model(images)
    (g_base,) = torch.autograd.grad(DiceLoss()(logits, masks), logits)
    assert float(half["grad_base_loss"]) == pytest.approx(g_base.norm().item(), rel=1e-5)
    plain = step(images, masks, step=2)  # not a log step: no gradient norms (no extra backward passes)
    assert "grad_base_loss" not in plain and "grad_samcl_loss" not in plain

    columns = StepColumns.of(step.addons)
    stats = IntervalStats(columns)
    for outputs in (warm, half):
        stats.add(outputs)
    summary = stats.summary(images_per_step=2)
    assert summary["lam"] == pytest.approx(0.125)  # mean over the interval's steps
    for key in ("d_pos", "d_neg", "active"):  # means over the steps where the term was computed
        for k in range(4):
            assert summary[f"{key}_s{k}"] == pytest.approx(float(half[f"{key}_s{k}"]), rel=1e-6)
    assert summary["grad_samcl_loss"] == float(half["grad_samcl_loss"])  # the log step's own
    only_warm = IntervalStats(columns)
    only_warm.add(warm)
    assert all(math.isnan(only_warm.summary(2)[column]) for column in SCALE_COLUMNS)


def _write_metrics(path, num_scales: int, warmup_rows: int = 2, rows: int = 8) -> None:
    """A metrics.csv as samcl-train writes it: ``warmup_rows`` rows at lambda 0, then SAM-CL rows."""
    columns = StepColumns.of([_samcl(num_scales=num_scales)] if num_scales else [])
    log = MetricsLog(path, CLASSES, columns)
    for i in range(1, rows + 1):
        computed = i > warmup_rows and num_scales > 0
        row = {
            "iteration": 10 * i,
            "loss": 1.0 / i,
            "base_loss": 0.8 / i,
            "samcl_loss": 0.2 / i if computed else 0.0,
            "lam": 0.5 if computed else 0.0,
            "grad_base_loss": 0.1 / i,
            "grad_samcl_loss": 0.05 / i if computed else 0.0,
            "lr": 0.01,
            "images_per_s": 10.0,
        }
        for k in range(num_scales):
            row.update(
                {
                    f"d_pos_s{k}": 0.5 / i if computed else math.nan,
                    f"d_neg_s{k}": 1.0 if computed else math.nan,
                    f"active_s{k}": 0.5 if computed else math.nan,
                }
            )
        if i % 4 == 0:
            row.update({"val_miou": 0.1 * i, "val_pixel_accuracy": 0.9})
        log.write(row)


@pytest.mark.parametrize("num_scales", [0, 4])
def test_metrics_csv_columns_and_training_curves(tmp_path, num_scales):
    metrics = tmp_path / "metrics.csv"
    _write_metrics(metrics, num_scales)
    with metrics.open() as handle:
        reader = csv.DictReader(handle)
        rows, columns = list(reader), reader.fieldnames
    samcl_columns = {"samcl_loss", "lam", "grad_samcl_loss"}
    assert "grad_base_loss" in columns and (samcl_columns <= set(columns)) == bool(num_scales)
    assert [c for c in columns if c[:-1].endswith("_s")] == _scale_columns(num_scales)
    if num_scales:
        assert rows[0]["d_pos_s0"] == "nan" and float(rows[-1]["d_pos_s3"]) == pytest.approx(0.5 / 8)
    png = tmp_path / "curves.png"
    plot_training_curves(metrics, png)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    fig = training_curves_figure(columns, rows)
    titles = {ax.get_title(): ax for ax in fig.axes}
    if not num_scales:  # a run without SAM-CL keeps the two panels
        assert sorted(titles) == ["Training loss", "Validation mIoU"] and len(fig.axes) == 2
        return
    assert len(titles) == 6
    distances = next(ax for title, ax in titles.items() if "distances" in title)
    gradients = titles["Gradient norms at the logits"]
    active = titles["Active SAM-CL hinges"]
    assert distances.get_yscale() == "log" and gradients.get_yscale() == "log" and active.get_yscale() == "linear"
    assert len(distances.get_lines()) == 2 * num_scales and len(active.get_lines()) == num_scales
    assert len(gradients.get_lines()) == 2
    # NaN rows (warm-up) and zero gradients stay off the log axes instead of breaking them
    samcl_grad = gradients.get_lines()[1].get_ydata()
    assert np.isnan(samcl_grad[:2]).all() and np.isfinite(samcl_grad[2:]).all()


# -- options ----------------------------------------------------------------------------------------------------
def _config(**options) -> TrainConfig:
    return TrainConfig(data="train.h5", val="val.h5", out="run", **options)


def test_preset_arguments_and_warmup_reach_the_loss():
    config = _config(samcl_preset="poster", samcl_warmup=0.25, iters=40, samcl_kwargs={"margin": 0.3}).validate()
    (addon,) = build_addons(config, len(CLASSES))
    loss = addon.criterion
    assert loss.base is None  # the loop's base loss is given to it
    assert (loss.preset, loss.margin, loss.distance_norm, loss.warmup_steps) == ("poster", 0.3, "none", 10)
    assert _config(samcl=False, samcl_kwargs={"bogus": 1}).validate().addon_names() == []  # unused without SAM-CL


@pytest.mark.parametrize(
    ("samcl_kwargs", "words"),
    [
        ({"bogus": 1}, ["--samcl-arg bogus", "not a SAM-CL option"]),
        ({"num_classes": 3}, ["--samcl-arg num_classes", "classes of --data"]),
        ({"base_loss": "ce"}, ["--samcl-arg base_loss", "--loss"]),
        ({"margin": -1}, ["margin", ">= 0"]),
        ({"margin": "wide"}, ["margin", "'wide'"]),
        ({"aux_mode": "gan"}, ["aux_mode", "joint"]),
        ({"warmup_steps": 1.5}, ["warmup_steps", "integer"]),
    ],
)
def test_bad_samcl_arguments_refused_before_training(samcl_kwargs, words, tmp_path):
    with pytest.raises(ValueError) as info:
        _config(samcl_kwargs=samcl_kwargs).validate()
    for word in words:
        assert word in str(info.value), (word, str(info.value))
    # the command: a one-line error naming the option, no traceback; the (missing) data files are never opened
    key, value = next(iter(samcl_kwargs.items()))
    res = CliRunner().invoke(
        train,
        [
            "--data",
            "nope.h5",
            "--val",
            "nope.h5",
            "--out",
            str(tmp_path / "run"),
            "--no-progress",
            "--samcl-arg",
            f"{key}={value}",
        ],
    )
    assert res.exit_code == 1 and words[0] in res.output and "nope.h5" not in res.output, res.output
    assert isinstance(res.exception, SystemExit) and not (tmp_path / "run").exists()


# -- real runs --------------------------------------------------------------------------------------------------
def test_warmup_run_killed_and_resumed_is_bit_identical_and_logs_samcl(dataset, tmp_path):
    train_h5, val_h5 = dataset
    args = (
        "--iters",
        "8",
        "--batch-size",
        "4",
        "--checkpoint-every",
        "2",
        "--val-every",
        "12",
        "--log-every",
        "1",
        "--seed",
        "5",
        "--samcl",
        "--samcl-warmup",
        "0.5",
    )
    straight, killed, _ = straight_and_resumed(train_h5, val_h5, tmp_path, args, kill_at=2)
    rows = list(csv.DictReader((straight / "metrics.csv").open()))
    assert [int(r["iteration"]) for r in rows] == list(range(1, 9))
    lam = load_checkpoint(straight / "last.pt")["config"]["samcl_lambda"]
    for row in rows:  # one step per row: the step before the row's iteration
        step = int(row["iteration"]) - 1
        assert float(row["lam"]) == pytest.approx(lam * min(1.0, step / 4), rel=1e-7, abs=0)  # logged as float32
        scales = [float(row[c]) for c in SCALE_COLUMNS]
        grad_base, grad_samcl = float(row["grad_base_loss"]), float(row["grad_samcl_loss"])
        assert math.isfinite(grad_base) and grad_base > 0
        if step == 0:  # lambda 0: the term is not computed
            assert all(math.isnan(v) for v in scales) and grad_samcl == 0.0
            continue
        assert all(math.isfinite(v) for v in scales), row
        assert all(0.0 <= float(row[f"active_s{k}"]) <= 1.0 for k in range(4))
        if grad_samcl > 0:  # preset 'stable': the SAM-CL gradient at the logits is lambda x the base loss's
            assert grad_samcl / grad_base == pytest.approx(float(row["lam"]), rel=1e-4)
    # the resumed run logged the same values as the uninterrupted one
    resumed = list(csv.DictReader((killed / "metrics.csv").open()))
    for column in ("loss", "base_loss", "samcl_loss", "lam", "grad_base_loss", "grad_samcl_loss", *SCALE_COLUMNS):
        assert [r[column] for r in resumed] == [r[column] for r in rows], column
    assert (straight / "curves.png").stat().st_size > 0


def _shifted_copy(source, path, offset: float):
    with open_thermal(source) as reader:
        batch = reader.read_batch(0, reader.n)
    write_thermal_h5(path, batch.images + np.float32(offset), batch.masks)
    return batch


def _eval(checkpoint, data, out):
    res = CliRunner().invoke(
        eval_main, ["--checkpoint", str(checkpoint), "--data", str(data), "--json", str(out), "--no-progress"]
    )
    assert res.exit_code == 0, res.output
    return json.loads(out.read_text())


def _predicted_masks(checkpoint, data, out) -> np.ndarray:
    res = CliRunner().invoke(
        predict_main,
        ["--checkpoint", str(checkpoint), str(data), "--out", str(out), "--h5", "--no-overlays", "--no-progress"],
    )
    assert res.exit_code == 0, res.output
    with open_thermal(out / f"{data.stem}_masks.h5") as reader:
        return reader.read_batch(0, reader.n).masks


def _trained_state(payload: dict, data, normalization: Normalization, steps: int = 40) -> dict:
    """The checkpoint's network trained further in-process (Adam, cross-entropy, the file's first 16 images as one
    batch) on inputs normalised by ``normalization``: about 10 s, enough to find background and skin."""
    model = model_from_checkpoint(payload).train()
    with open_thermal(data) as reader:
        batch = reader.read_batch(0, 16)
    x = normalization(torch.from_numpy(batch.images)).unsqueeze(1)
    y = torch.from_numpy(batch.masks).long()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(steps):
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        optimizer.step()
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def test_image_normalisation_is_stored_and_applied_by_eval_and_predict(dataset, tmp_path):
    train_h5, val_h5 = dataset
    run = tmp_path / "run"
    options = flags(iters=2, batch_size=4, val_every=2, loss="ce", samcl=False, input_norm="image", threads=2)
    res = run_train(train_h5, val_h5, run, *options)
    assert res.returncode == 0, res.stderr
    payload = load_checkpoint(run / "best.pt")
    assert payload["normalization"]["mode"] == "image" and payload["config"]["input_norm"] == "image"
    assert json.loads((run / "summary.json").read_text())["normalization"]["mode"] == "image"
    assert normalization_of(payload).mode == "image"
    # two steps of SGD find nothing but the background: train the same network further with the stored
    # normalisation, so that the predictions have something to lose
    trained = tmp_path / "trained.pt"
    save_checkpoint(trained, {**payload, "model_state": _trained_state(payload, train_h5, normalization_of(payload))})
    warm = tmp_path / "val_plus5.h5"
    _shifted_copy(val_h5, warm, 5.0)
    # each frame centred on its own median: 5 C warmer changes (almost) nothing
    plain, shifted = _eval(trained, val_h5, tmp_path / "a.json"), _eval(trained, warm, tmp_path / "b.json")
    assert plain["miou"] > 0.25, plain["per_class_iou"]
    assert shifted["miou"] == pytest.approx(plain["miou"], abs=2e-3)
    masks, masks_warm = (
        _predicted_masks(trained, val_h5, tmp_path / "p"),
        _predicted_masks(trained, warm, tmp_path / "q"),
    )
    assert len(np.unique(masks)) >= 2 and np.mean(masks == masks_warm) > 0.999  # not all background
    # the same weights read with the dataset mean/std do see the shift: the commands used the stored mode
    as_dataset = tmp_path / "dataset.pt"
    save_checkpoint(
        as_dataset, {**load_checkpoint(trained), "normalization": {**payload["normalization"], "mode": "dataset"}}
    )
    changed = _predicted_masks(as_dataset, val_h5, tmp_path / "r") != _predicted_masks(as_dataset, warm, tmp_path / "s")
    assert np.mean(changed) > 0.01


def test_checkpoint_without_a_mode_is_dataset_normalised(tmp_path):
    torch.manual_seed(0)
    model = build_model("unet", len(CLASSES), base_width=4)
    payload = {
        "model": {"name": "unet", "kwargs": {"base_width": 4}, "num_classes": len(CLASSES), "in_channels": 1},
        "classes": list(CLASSES),
        "ignore_index": 255,
        "normalization": {"mean": 30.0, "std": 4.0},
        "model_state": model.state_dict(),
    }
    save_checkpoint(tmp_path / "old.pt", payload)
    loaded = load_inference_model(tmp_path / "old.pt", device="cpu")
    assert loaded.normalization.mode == "dataset"
    images = generate_faces(2, 32, 48, seed=3).images
    with torch.no_grad():
        want = model.eval()(torch.from_numpy((images - 30.0) / 4.0).unsqueeze(1)).argmax(1).numpy()
    np.testing.assert_array_equal(loaded.predict(images), want)
