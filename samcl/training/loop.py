"""The training loop of ``samcl-train``: SGD with poly decay, optional bfloat16 autocast, DDP, exact resume.

Outputs in the run directory (written by the main process only):

- ``last.pt`` every ``checkpoint_every`` steps and at the end (everything needed to resume),
- ``best.pt`` whenever the validation mIoU improves,
- ``metrics.csv``: step, losses, lambda, the gradient norms at the logits (``grad_base_loss``,
  ``grad_samcl_loss``), per scale K SAM-CL's ``d_pos_sK``, ``d_neg_sK`` and ``active_sK`` (see
  :class:`IntervalStats`), learning rate, images/s, and at validation steps val mIoU, pixel accuracy and
  per-class IoU,
- ``summary.json``: the resolved configuration, best mIoU and its step, wall time, device, library versions,
- ``curves.png``: training loss and validation mIoU; with SAM-CL also its per-scale distances, active hinges,
  the gradient norms at the logits and lambda (:mod:`samcl.training.plots`).
"""

from __future__ import annotations

import csv
import dataclasses
import functools
import json
import math
import os
import platform
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader

from samcl.device import autocast
from samcl.inference.checkpoint import load_checkpoint, normalization_of, save_checkpoint
from samcl.inference.normalization import Normalization
from samcl.inference.predictor import evaluate_batches
from samcl.losses import build_loss
from samcl.metrics import ConfusionMatrix, all_reduce_confusion_matrix
from samcl.models import build_model, check_input_size
from samcl.training.class_watch import ClassWatch
from samcl.training.config import TrainConfig
from samcl.training.data import StepSampler, TrainingSet, iter_rows, reader_normalization, training_pipeline
from samcl.training.distributed import World, broadcast_buffers, finish_world, init_world
from samcl.training.reproducibility import cpu_name, reproducible
from tiaug.errors import UserError, one_line
from tiaug.io import atomic_output, open_thermal
from tiaug.io.atomic import check_not_an_input

LOSS_KEYS = ("loss", "base_loss", "samcl_loss")
SCALE_KEYS = ("d_pos", "d_neg", "active")  # per-scale SAM-CL values, (num_scales,)
GRAD_KEYS = ("grad_base_loss", "grad_samcl_loss")


class TrainStep(nn.Module):
    """Network and loss in one module, so DDP also averages the auxiliary network's gradients.

    forward(images (B, 1, H, W), masks (B, H, W) int64, step, diagnostics) -> {"loss", "base_loss", "samcl_loss"}
    scalars, plus the loss's per-scale SAM-CL values and, with ``diagnostics``, the gradient norms that reach
    the logits from the base loss and from the SAM-CL term (two extra partial backward passes: log steps only).
    """

    def __init__(self, model: nn.Module, criterion: nn.Module) -> None:
        super().__init__()
        self.model = model
        self.criterion = criterion

    def forward(self, images: torch.Tensor, masks: torch.Tensor, step: int | None = None,
                diagnostics: bool = False) -> dict[str, torch.Tensor]:  # fmt: skip
        logits = self.model(images)
        parts = self.criterion.parts(logits, masks, step=step)
        out = {key: parts[key] for key in (*LOSS_KEYS, *SCALE_KEYS) if key in parts}
        out["lam"] = torch.as_tensor(float(parts.get("lam", 0.0)))
        if diagnostics:
            for key in ("base_loss", "samcl_loss"):
                needs = parts[key].requires_grad and bool(parts[key].detach() != 0)
                grad = torch.autograd.grad(parts[key], logits, retain_graph=True)[0] if needs else None
                out[f"grad_{key}"] = torch.zeros(()) if grad is None else grad.detach().float().norm()
        return out


def default_threads() -> int:
    """CPU threads for one training process: ``OMP_NUM_THREADS`` when set (as torch itself honours it), else the
    machine's cores shared among the processes on it (torchrun's LOCAL_WORLD_SIZE), so that two or more
    processes do not oversubscribe the cores."""
    if os.environ.get("OMP_NUM_THREADS", "").strip().isdigit() and int(os.environ["OMP_NUM_THREADS"]) > 0:
        return int(os.environ["OMP_NUM_THREADS"])
    return max(1, (os.cpu_count() or 1) // int(os.environ.get("LOCAL_WORLD_SIZE", "1")))


def poly_schedule(total: int, power: float) -> Callable[[int], float]:
    """lr factor at step t: (1 - t / total) ** power."""
    return lambda step: max(0.0, 1.0 - step / total) ** power


@dataclass
class DataCheck:
    """What :func:`check_data` learnt about the two files: classes, row counts, image sizes, normalisation."""

    classes: tuple[str, ...]
    n_train: int
    n_val: int
    sizes: dict[str, tuple[str, int, int]]  # option -> (path, height, width)
    normalization: Normalization | None
    ignore_index: int | None = None  # the files' ignore_index attribute, if they have one

    def check_sizes(self, model: nn.Module, model_name: str) -> None:
        """Refuse images smaller than the network's minimum size."""
        minimum = int(getattr(model, "min_size", 1))
        for option, (path, height, width) in self.sizes.items():
            if min(height, width) < minimum:
                raise ValueError(
                    f"{option} {path}: images of {height}x{width} px are smaller than the "
                    f"{model_name} network's minimum size of {minimum}x{minimum} px"
                )


RUN_FILES = ("best.pt", "last.pt", "metrics.csv", "summary.json", "curves.png")


def check_run_dir(out: str | Path, *, overwrite: bool = False, inputs: Iterable[str | Path] = ()) -> list[Path]:
    """Refuse to start a run in ``out`` when it is a file or holds an earlier run (unless ``overwrite``), or when
    a run file would be one of ``inputs``. Returns the earlier run's files, for the caller to delete once the new
    run has checked its data (so a refused start leaves the earlier run as it was)."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {out}: is a file; --out names the folder of the run's outputs")
    for name in RUN_FILES:
        check_not_an_input(out / name, inputs)
    earlier = [out / name for name in RUN_FILES if (out / name).exists()]
    if earlier and not overwrite:
        raise UserError(
            f"--out {out}: holds an earlier run ({', '.join(p.name for p in earlier)}); continue it with --resume "
            f"{out}, write to a new folder, or pass --overwrite to replace it"
        )
    return earlier


def build_checked_model(config: TrainConfig, num_classes: int) -> nn.Module:
    """``config``'s network, refused with a message naming --model/--model-arg when it cannot be built or cannot
    run (e.g. an unknown or ill-typed argument, base_width=0), or when the crop does not suit it."""
    try:
        model = build_model(config.model, num_classes, **config.model_kwargs)
        side = int(getattr(model, "min_size", 1))
        with torch.no_grad():
            model.eval()(torch.zeros(1, 1, side, side))  # a forward pass on the smallest input
        model.train()
    except (TypeError, ValueError, RuntimeError, ArithmeticError, AttributeError, KeyError) as e:
        given = ", ".join(f"{k}={v!r}" for k, v in config.model_kwargs.items()) or "no --model-arg"
        raise UserError(
            f"--model {config.model} ({given}): the network cannot be built or run ({one_line(e)})"
        ) from None
    try:
        check_input_size(model, *config.crop)
    except ValueError as e:
        raise UserError(f"--crop {config.crop[0]}x{config.crop[1]}: {e}") from None
    return model


def check_data(config: TrainConfig, normalization: bool = True) -> DataCheck:
    """Validate both files fully before training, each opened once: masks present, every pixel finite and every
    label a class (streamed), same classes; with ``normalization``, also the training file's mean and std."""
    found: DataCheck | None = None
    for option, path in (("--data", config.data), ("--val", config.val)):
        with open_thermal(path, require_masks=True) as reader:
            if found is None:
                norm = reader_normalization(reader, mode=config.input_norm) if normalization else None
                found = DataCheck(reader.classes, reader.n, 0, {}, norm)
            elif reader.classes != found.classes:
                raise ValueError(f"--val {path} has classes {list(reader.classes)}, --data has {list(found.classes)}")
            else:
                found.n_val = reader.n
            if reader.ignore_index is not None:
                if found.ignore_index not in (None, reader.ignore_index):
                    raise UserError(
                        f"--val {path} marks ignored pixels with {reader.ignore_index}, --data with "
                        f"{found.ignore_index} (attribute ignore_index); the files must agree"
                    )
                found.ignore_index = reader.ignore_index
            found.sizes[option] = (path, reader.height, reader.width)
            reader.validate_all()
    return found


def with_data_ignore_index(config: TrainConfig, data: DataCheck) -> TrainConfig:
    """The configuration with the data's ignore index (attribute ``ignore_index``, e.g. written by ``tiaug augment
    --mask-policy ignore``): losses and scores must skip the label the files use. A configured ignore index that
    differs from the files' is refused."""
    if data.ignore_index is None or data.ignore_index == config.ignore_index:
        return config
    if config.ignore_index != TrainConfig.default("ignore_index"):
        raise UserError(
            f"{config.data}: the data marks ignored pixels with {data.ignore_index} (attribute ignore_index) but "
            f"the configuration says ignore_index: {config.ignore_index}; remove it from --config"
        )
    return dataclasses.replace(config, ignore_index=data.ignore_index)


def _environment(device: torch.device, world: World) -> dict[str, Any]:
    import albumentations
    import cv2

    info = {
        "device": str(device),
        "device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else cpu_name(),
        "world_size": world.size,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "numpy": np.__version__,
        "albumentations": albumentations.__version__,
        "opencv": cv2.__version__,
    }
    return info


class Run:
    """One training run (fresh or resumed); call :meth:`fit`."""

    def __init__(self, config: TrainConfig, resume_payload: dict[str, Any] | None = None) -> None:
        self.config = config
        self.world, self.device = init_world(config.device)
        self.threads = config.threads or default_threads()
        torch.set_num_threads(self.threads)
        self.amp = config.amp if config.amp is not None else self.device.type == "cuda"
        self.out = Path(config.out)
        data = check_data(config, normalization=resume_payload is None)
        config = self.config = with_data_ignore_index(config, data)
        torch.manual_seed(config.seed)  # identical initial weights in every process
        model = build_checked_model(config, len(data.classes))
        data.check_sizes(model, config.model)
        self.classes, self.n_train, self.n_val = data.classes, data.n_train, data.n_val
        criterion = build_loss(f"{config.loss}+samcl" if config.samcl else config.loss, len(self.classes),
                               ignore_index=config.ignore_index, **config.loss_kwargs())  # fmt: skip
        self.step_module = TrainStep(model, criterion).to(self.device)
        if self.device.type == "cuda":
            self.step_module = self.step_module.to(memory_format=torch.channels_last)
        # a loss that skips its SAM-CL term on some steps (lambda 0 during a warm-up) leaves the auxiliary network
        # out of those steps' graphs: DDP must then look for unused parameters (a graph traversal per step)
        skips = getattr(criterion, "warmup_steps", 0) > 0 or getattr(criterion, "lam", None) == 0
        device_ids = [self.device] if self.device.type == "cuda" else None
        self.trainable = (
            DistributedDataParallel(self.step_module, device_ids=device_ids, find_unused_parameters=skips)
            if self.world.distributed
            else self.step_module
        )
        self.optimizer = torch.optim.SGD(self.step_module.parameters(), lr=config.lr, momentum=config.momentum,
                                         weight_decay=config.weight_decay)  # fmt: skip
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer, poly_schedule(config.iters, config.poly_power)
        )
        self.step = 0
        self.best_miou, self.best_step = -1.0, -1
        self.watch = ClassWatch(self.classes, config.iters)
        self.notice: Callable[[str], None] = print
        self.normalization = data.normalization  # None on resume: restored below
        if resume_payload is not None:
            self._restore(resume_payload)

    # -- checkpoints ---------------------------------------------------------------------------------------
    def _payload(self, with_state: bool) -> dict[str, Any]:
        model = self.step_module.model
        payload = {
            "model": {"name": self.config.model, "kwargs": dict(self.config.model_kwargs),
                      "num_classes": len(self.classes), "in_channels": 1},
            "classes": list(self.classes),
            "ignore_index": self.config.ignore_index,
            "normalization": self.normalization.as_dict(),
            "input_size": list(self.config.crop),
            "model_state": model.state_dict(),
            "iteration": self.step,
            "best_miou": self.best_miou,
            "best_iteration": self.best_step,
            "config": self.config.as_dict(),
        }  # fmt: skip
        if with_state:
            criterion = self.step_module.criterion
            payload["train_state"] = {
                "criterion": criterion.state_dict(),
                "criterion_generator": criterion.generator.get_state() if hasattr(criterion, "generator") else None,
                "optimizer": self.optimizer.state_dict(),
                "scheduler": self.scheduler.state_dict(),
                "scaler": None,  # bfloat16 autocast needs no loss scaling; kept for the format's stability
                "class_watch": self.watch.state(),
                "torch_rng": torch.get_rng_state(),
                "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None,
            }
        return payload

    def _restore(self, payload: dict[str, Any]) -> None:
        state = payload["train_state"]
        self.step_module.model.load_state_dict(payload["model_state"])
        self.step_module.criterion.load_state_dict(state["criterion"])
        if state["criterion_generator"] is not None:
            self.step_module.criterion.generator.set_state(state["criterion_generator"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.watch.load_state(state.get("class_watch"))
        torch.set_rng_state(state["torch_rng"])
        if state["cuda_rng"] is not None and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state["cuda_rng"])
        self.normalization = normalization_of(payload)
        self.step = int(payload["iteration"])
        self.best_miou, self.best_step = float(payload["best_miou"]), int(payload["best_iteration"])

    def save(self, name: str, with_state: bool) -> None:
        if self.world.is_main:
            save_checkpoint(self.out / name, self._payload(with_state))

    # -- validation ----------------------------------------------------------------------------------------
    def validate(self) -> ConfusionMatrix:
        """Each process scores its share of the validation rows; the confusion matrices are summed.

        Batch-norm running statistics were updated locally by every process's last forward pass: they are
        first taken from process 0 (whose weights are saved), so every process scores the same network.
        """
        broadcast_buffers(self.step_module.model, self.world)
        rows = list(range(self.world.rank, self.n_val, self.world.size))
        matrix = evaluate_batches(
            self.step_module.model, iter_rows(self.config.val, rows, self.config.val_batch_size),
            self.normalization, len(self.classes), self.config.ignore_index, self.device, self.amp,
        )  # fmt: skip
        return all_reduce_confusion_matrix(matrix)

    # -- the loop ------------------------------------------------------------------------------------------
    def loader(self) -> DataLoader:
        dataset = TrainingSet(self.config.data, self.normalization, functools.partial(training_pipeline, self.config))
        sampler = StepSampler(self.n_train, self.config.batch_size, self.config.seed, self.step, self.config.iters,
                              self.world.rank, self.world.size)  # fmt: skip
        return DataLoader(dataset, batch_sampler=sampler, num_workers=self.config.workers,
                          pin_memory=self.device.type == "cuda", persistent_workers=False,
                          prefetch_factor=4 if self.config.workers else None)  # fmt: skip

    def fit(
        self,
        progress: Callable[[int, dict[str, float]], None] | None = None,
        notice: Callable[[str], None] | None = None,
    ) -> dict[str, Any]:
        """Train to ``config.iters``; ``progress(step, stats)`` is called after every step (main process), and
        ``notice(line)`` with each warning (a class the network has lost; default: print).

        Runs with ``self.threads`` intra-op threads and, with ``config.deterministic``, deterministic
        algorithms (:func:`samcl.training.reproducibility.reproducible`; the settings are restored afterwards).
        """
        if notice is not None:
            self.notice = notice
        with reproducible(self.threads, self.config.deterministic) as settings:
            return self._fit(progress, settings)

    def _fit(
        self, progress: Callable[[int, dict[str, float]], None] | None, settings: dict[str, Any]
    ) -> dict[str, Any]:
        config = self.config
        self.out.mkdir(parents=True, exist_ok=True)
        num_scales = getattr(self.step_module.criterion, "num_scales", 0)
        log = MetricsLog(self.out / "metrics.csv", self.classes, self.step, num_scales) if self.world.is_main else None
        started = time.perf_counter()
        interval = IntervalStats()
        images_per_step = config.batch_size * self.world.size
        stats: dict[str, float] = {}
        self.trainable.train()
        for images, masks in self.loader():
            images = images.to(self.device, non_blocking=True)
            masks = masks.to(self.device, non_blocking=True)
            if self.device.type == "cuda":
                images = images.contiguous(memory_format=torch.channels_last)
            last = self.step + 1 == config.iters
            validate_now = (self.step + 1) % config.val_every == 0 or last
            log_now = (self.step + 1) % config.log_every == 0 or validate_now
            with autocast(self.device, self.amp):
                losses = self.trainable(images, masks, self.step, log_now and self.world.is_main)
            self.optimizer.zero_grad(set_to_none=True)
            losses["loss"].backward()
            self.optimizer.step()
            self.scheduler.step()
            self.step += 1
            interval.add(losses)
            if log_now:
                stats = interval.summary(images_per_step)
                stats["lr"] = self.optimizer.param_groups[0]["lr"]
                if not all(math.isfinite(stats[key]) for key in LOSS_KEYS):
                    raise FloatingPointError(f"step {self.step}: the loss is not finite ({stats}); lower --lr")
                row: dict[str, Any] = {"iteration": self.step, **stats}
                if validate_now:
                    row.update(self._validation_row())
                    stats["val_miou"] = row["val_miou"]
                if log is not None:
                    log.write(row)
                interval = IntervalStats()
            if self.step % config.checkpoint_every == 0 or last:
                self.save("last.pt", with_state=True)
            if progress is not None and self.world.is_main:
                progress(self.step, stats)
        wall = time.perf_counter() - started
        summary = self._summary(wall)
        summary["environment"]["torch_settings"] = settings
        if self.world.is_main:
            with atomic_output(self.out / "summary.json", overwrite=True) as tmp:
                tmp.write_text(json.dumps(summary, indent=2))
            from samcl.training.plots import plot_training_curves

            plot_training_curves(self.out / "metrics.csv", self.out / "curves.png")
        finish_world(self.world)
        return summary

    def _validation_row(self) -> dict[str, Any]:
        matrix = self.validate()
        miou = matrix.miou()
        if miou > self.best_miou:
            self.best_miou, self.best_step = miou, self.step
            self.save("best.pt", with_state=False)
        per_class = matrix.per_class_iou()
        lost = self.watch.update(self.step, per_class, matrix.matrix.sum(axis=1) > 0)
        if lost and self.world.is_main:
            self.notice(self.watch.message(lost, self.step))
        return {"val_miou": miou, "val_pixel_accuracy": matrix.pixel_accuracy(),
                **{f"iou_{name}": value for name, value in zip(self.classes, per_class, strict=True)}}  # fmt: skip

    def _summary(self, wall: float) -> dict[str, Any]:
        return {
            "config": self.config.as_dict(),
            "best_miou": self.best_miou,
            "best_iteration": self.best_step,
            "lost_classes": dict(self.watch.lost),
            "iterations": self.step,
            "wall_time_s": wall,
            "classes": list(self.classes),
            "normalization": self.normalization.as_dict(),
            "amp": bool(self.amp),
            "threads": self.threads,
            "environment": _environment(self.device, self.world),
        }


class IntervalStats:
    """Means of the training step outputs over one logging interval, and its images/s.

    Losses are averaged over the steps; the per-scale SAM-CL values (``d_pos``, ``d_neg``, ``active``:
    the fraction of hinges above 0) over the steps where the term was computed (NaN during a warm-up at
    lambda 0), one column per scale (``d_pos_s0`` ...); the gradient norms are the log step's own.
    """

    def __init__(self) -> None:
        self.steps = 0
        self.started = time.perf_counter()
        self.sums: dict[str, float] = dict.fromkeys((*LOSS_KEYS, "lam"), 0.0)
        self.scales: dict[str, list[np.ndarray]] = {key: [] for key in SCALE_KEYS}
        self.last: dict[str, float] = {}

    def add(self, outputs: dict[str, torch.Tensor]) -> None:
        self.steps += 1
        for key in self.sums:
            self.sums[key] += float(outputs[key].detach())
        for key in SCALE_KEYS:
            if key in outputs:
                self.scales[key].append(outputs[key].detach().float().cpu().numpy())
        self.last = {key: float(outputs[key]) for key in GRAD_KEYS if key in outputs}

    def summary(self, images_per_step: int) -> dict[str, float]:
        elapsed = time.perf_counter() - self.started
        out = {key: total / max(self.steps, 1) for key, total in self.sums.items()}
        out["images_per_s"] = self.steps * images_per_step / max(elapsed, 1e-9)
        for key, values in self.scales.items():
            if values:
                stacked = np.stack(values)
                with np.errstate(all="ignore"):
                    means = [float(np.nanmean(c)) if np.isfinite(c).any() else float("nan") for c in stacked.T]
                out.update({f"{key}_s{k}": v for k, v in enumerate(means)})
        return {**out, **self.last}


class MetricsLog:
    """``metrics.csv``, appended row by row; on resume, rows after the resumed step are dropped."""

    def __init__(self, path: Path, classes: tuple[str, ...], keep_until: int = 0, num_scales: int = 0) -> None:
        self.path = path
        scale_columns = [f"{key}_s{k}" for key in SCALE_KEYS for k in range(num_scales)]
        self.columns = ["iteration", *LOSS_KEYS, "lam", *GRAD_KEYS, *scale_columns, "lr", "images_per_s",
                        "val_miou", "val_pixel_accuracy", *(f"iou_{name}" for name in classes)]  # fmt: skip
        kept = []
        if keep_until > 0 and path.exists():
            with path.open() as handle:
                kept = [row for row in csv.DictReader(handle) if int(row["iteration"]) <= keep_until]
        with path.open("w", newline="") as handle:
            writer = csv.DictWriter(handle, self.columns)
            writer.writeheader()
            writer.writerows(kept)

    def write(self, row: dict[str, Any]) -> None:
        with self.path.open("a", newline="") as handle:
            csv.DictWriter(handle, self.columns, extrasaction="ignore").writerow(row)


def resume_payload(run_dir: str | Path) -> dict[str, Any]:
    """``RUN_DIR/last.pt`` with its training state; a clear error when there is nothing to resume."""
    path = Path(run_dir) / "last.pt"
    if not Path(run_dir).is_dir():
        raise ValueError(f"--resume {run_dir}: no such run directory")
    if not path.exists():
        raise ValueError(f"--resume {run_dir}: no last.pt in it (nothing to resume; start a new run with --out)")
    payload = load_checkpoint(path)
    if "train_state" not in payload:
        raise ValueError(f"--resume {path}: the checkpoint holds no training state (is it a best.pt copy?)")
    return payload
