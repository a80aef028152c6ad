"""The training loop of ``samcl-train``: SGD with poly decay, optional bfloat16 autocast, DDP, exact resume.

The loop trains the segmenter on its base loss; every learning strategy (SAM-CL among them) is a training add-on
(:mod:`samcl.training.addons`). Before training, :mod:`samcl.training.preflight` checks the run folder, the data
and the network. Outputs in the run directory (written by the main process only):

- ``last.pt`` every ``checkpoint_every`` steps and at the end (everything needed to resume) and ``best.pt``
  whenever the validation mIoU improves (:mod:`samcl.training.checkpoints`),
- ``metrics.csv``: losses, gradient norms at the logits, the add-ons' metrics, learning rate, images/s and at
  validation steps mIoU, pixel accuracy and per-class IoU (:mod:`samcl.training.metrics_log`),
- ``summary.json``: the resolved configuration, best mIoU and its step, wall time, device, library versions,
- ``curves.png``: the training curves (:mod:`samcl.training.plots`).
"""

from __future__ import annotations

import functools
import json
import math
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader

from samcl.artifacts.checkpoint import normalization_of, save_checkpoint
from samcl.device import autocast
from samcl.inference.predictor import evaluate_batches
from samcl.losses import build_loss
from samcl.metrics import ConfusionMatrix, all_reduce_confusion_matrix
from samcl.training.addons import Batch, StepContext, build_addons
from samcl.training.checkpoints import RunProgress, TrainingState, progress_of, run_payload
from samcl.training.class_watch import LOST_AFTER, ClassWatch
from samcl.training.config import PREFETCH_BATCHES, TrainConfig
from samcl.training.data import StepSampler, TrainingSet, aug_schedule, iter_rows, training_pipeline
from samcl.training.distributed import broadcast_buffers, finish_world, init_world
from samcl.training.metrics_log import IntervalStats, MetricsLog, StepColumns
from samcl.training.preflight import build_checked_model, check_data, with_data_ignore_index, with_fitted_crop
from samcl.training.reproducibility import environment, reproducible
from samcl.training.step import OUTPUT_KEY, TrainStep
from tiaug.io import atomic_output
from tiaug.progress import ProgressCallback


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


class Run:
    """One training run (fresh or resumed); call :meth:`fit`. ``notice(message)`` receives one-line notes about
    choices made for the data (e.g. the crop fitted to small frames) and warnings (a class the network has lost,
    :mod:`samcl.training.class_watch`)."""

    def __init__(
        self,
        config: TrainConfig,
        resume_payload: dict[str, Any] | None = None,
        notice: Callable[[str], None] | None = None,
    ) -> None:
        self.world, self.device = init_world(config.device)
        self.threads = config.threads or default_threads()
        torch.set_num_threads(self.threads)
        self.amp = config.amp if config.amp is not None else self.device.type == "cuda"
        self.out = Path(config.out)
        data = check_data(config, normalization_of(resume_payload) if resume_payload is not None else None)
        config = with_data_ignore_index(config, data)
        torch.manual_seed(config.seed)  # identical initial weights in every process
        model = build_checked_model(config, len(data.classes))
        data.check_sizes(model, config.model)
        config = self.config = with_fitted_crop(config, data, model, notice if self.world.is_main else None)
        self.classes, self.n_train, self.n_val = data.classes, data.n_train, data.n_val
        self.addons = build_addons(config, len(self.classes))
        base_loss = build_loss(config.loss, len(self.classes), ignore_index=config.ignore_index)
        context = StepContext(0, config.iters, self.device, self.amp, self.world, model, config.seed)
        self.step_module = TrainStep(model, base_loss, self.addons, context).to(self.device)
        if self.device.type == "cuda":
            # torch's stubs omit Module.to's memory_format argument
            self.step_module = self.step_module.to(memory_format=torch.channels_last)  # type: ignore[call-overload]
        self.addon_optimizers = {a.name: opt for a in self.addons if (opt := a.make_optimizer()) is not None}
        own = {id(p) for opt in self.addon_optimizers.values() for group in opt.param_groups for p in group["params"]}
        # an add-on that leaves parameters out of some steps' losses (a warm-up at weight 0, a critic trained by
        # its own optimiser) makes DDP look for unused parameters (a graph traversal per step)
        skips = any(addon.skips_parameters for addon in self.addons) or bool(own)
        device_ids = [self.device] if self.device.type == "cuda" else None
        self.trainable = (
            DistributedDataParallel(self.step_module, device_ids=device_ids, find_unused_parameters=skips)
            if self.world.distributed
            else self.step_module
        )
        trained = [p for p in self.step_module.parameters() if id(p) not in own]
        self.optimizer = torch.optim.SGD(
            trained, lr=config.lr, momentum=config.momentum, weight_decay=config.weight_decay
        )
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer, poly_schedule(config.iters, config.poly_power)
        )
        self.training = TrainingState(self.optimizer, self.scheduler, self.addons, self.addon_optimizers)
        self.progress = RunProgress()
        self.notice = notice if self.world.is_main else None
        # counted from the end of the augmentation warm-up, after which the small classes take a while to return
        self.watch = ClassWatch(
            self.classes, config.iters, after=min(LOST_AFTER + config.aug_warmup + config.aug_ramp, 1.0)
        )
        self.normalization = data.normalization  # the resumed run's, or measured on the training data
        for addon in self.addons:
            addon.bind_inputs(self.normalization)
        if resume_payload is not None:
            model.load_state_dict(resume_payload["model_state"])
            self.training.load_state_dict(resume_payload["train_state"])
            self.progress = progress_of(resume_payload)
            self.watch.load_state(resume_payload.get("class_watch"))

    @property
    def step(self) -> int:
        """Steps done."""
        return self.progress.step

    def save(self, name: str, with_state: bool) -> None:
        if self.world.is_main:
            payload = run_payload(
                self.config,
                self.step_module.model,
                self.classes,
                self.normalization,
                self.progress,
                self.training if with_state else None,
            )
            payload["class_watch"] = self.watch.state()
            save_checkpoint(self.out / name, payload)

    def validate(self) -> ConfusionMatrix:
        """Each process scores its share of the validation rows; the confusion matrices are summed.

        Batch-norm running statistics were updated locally by every process's last forward pass: they are
        first taken from process 0 (whose weights are saved), so every process scores the same network.
        """
        broadcast_buffers(self.step_module.model, self.world)
        rows = list(range(self.world.rank, self.n_val, self.world.size))
        matrix = evaluate_batches(
            self.step_module.model,
            iter_rows(self.config.val, rows, self.config.val_batch_size),
            self.normalization,
            len(self.classes),
            self.config.ignore_index,
            self.device,
            self.amp,
        )
        return all_reduce_confusion_matrix(matrix)

    def loader(self) -> DataLoader:
        own = (addon.training_data(self.normalization, self.n_train, self.step, self.world) for addon in self.addons)
        dataset, sampler = next((data for data in own if data is not None), (None, None))
        if dataset is None:
            views = max((addon.views_per_image for addon in self.addons), default=1)
            pipeline = functools.partial(training_pipeline, self.config)
            dataset = TrainingSet(self.config.data, self.normalization, pipeline, views=views)
            sampler = StepSampler(
                self.n_train,
                self.config.batch_size,
                self.config.seed,
                self.step,
                self.config.iters,
                self.world.rank,
                self.world.size,
                aug_schedule(self.config),
            )
        return DataLoader(
            dataset,
            batch_sampler=sampler,
            num_workers=self.config.workers,
            pin_memory=self.device.type == "cuda",
            persistent_workers=False,
            prefetch_factor=PREFETCH_BATCHES if self.config.workers else None,
        )

    def batch(self, images: torch.Tensor, masks: torch.Tensor, extras: dict[str, torch.Tensor] | None = None) -> Batch:
        """A loader batch on the device: (B, 1, H, W) images and (B, H, W) masks, or with several views per image
        (B, V, 1, H, W) and (B, V, H, W), view 0 in ``images``/``masks``; ``extras`` from an add-on's own data."""
        images = images.to(self.device, non_blocking=True)
        masks = masks.to(self.device, non_blocking=True)
        extras = {key: value.to(self.device, non_blocking=True) for key, value in (extras or {}).items()}
        if self.device.type == "cuda" and images.dim() == 4:
            images = images.contiguous(memory_format=torch.channels_last)
        if images.dim() == 5:
            return Batch(images[:, 0], masks[:, 0], views=images, view_masks=masks, extras=extras)
        return Batch(images, masks, extras=extras)

    def fit(self, progress: ProgressCallback | None = None) -> dict[str, Any]:
        """Train to ``config.iters``; ``progress(steps done, config.iters, loss=..., val_mIoU=...)`` is called after
        every step (main process; the figures are the last logged ones).

        Runs with ``self.threads`` intra-op threads and, with ``config.deterministic``, deterministic
        algorithms (:func:`samcl.training.reproducibility.reproducible`; the settings are restored afterwards).
        """
        with reproducible(self.threads, self.config.deterministic) as settings:
            return self._fit(progress, settings)

    def _fit(self, progress: ProgressCallback | None, settings: dict[str, Any]) -> dict[str, Any]:
        config = self.config
        self.out.mkdir(parents=True, exist_ok=True)
        columns = StepColumns.of(self.addons)
        log = MetricsLog(self.out / "metrics.csv", self.classes, columns, self.step) if self.world.is_main else None
        started = time.perf_counter()
        interval = IntervalStats(columns)
        images_per_step = config.batch_size * self.world.size
        stats: dict[str, float] = {}
        self.trainable.train()
        for images, masks, *extras in self.loader():
            last = self.step + 1 == config.iters
            validate_now = (self.step + 1) % config.val_every == 0 or last
            log_now = (self.step + 1) % config.log_every == 0 or validate_now
            context = self.step_module.context_at(self.step, log_now)
            batch = self.batch(images, masks, *extras)
            with torch.no_grad():
                for addon in self.addons:
                    batch = addon.prepare_batch(batch, context)
            with autocast(self.device, self.amp):
                losses = self.trainable(batch.images, batch.masks, self.step, log_now and self.world.is_main)
            output = losses.pop(OUTPUT_KEY)
            self.optimizer.zero_grad(set_to_none=True)
            losses["loss"].backward()
            self.optimizer.step()
            self.scheduler.step()
            output = output.detached()
            for addon in self.addons:
                losses.update(addon.after_step(output, context, self.addon_optimizers.get(addon.name)))
            self.progress.step += 1
            interval.add(losses)
            if log_now:
                stats = self._log_stats(interval, images_per_step)
                row: dict[str, Any] = {"iteration": self.step, **stats}
                if validate_now:
                    row.update(self._validation_row())
                    stats["val_miou"] = row["val_miou"]
                if log is not None:
                    log.write(row)
                interval = IntervalStats(columns)
            if self.step % config.checkpoint_every == 0 or last:
                self.save("last.pt", with_state=True)
            if progress is not None and self.world.is_main:
                progress(self.step, config.iters, loss=stats.get("loss"), val_mIoU=stats.get("val_miou"))
        summary = self._summary(time.perf_counter() - started)
        summary["environment"]["torch_settings"] = settings
        if self.world.is_main:
            with atomic_output(self.out / "summary.json", overwrite=True) as tmp:
                tmp.write_text(json.dumps(summary, indent=2))
            from samcl.training.plots import plot_training_curves

            plot_training_curves(self.out / "metrics.csv", self.out / "curves.png")
        finish_world(self.world)
        return summary

    def _log_stats(self, interval: IntervalStats, images_per_step: int) -> dict[str, float]:
        stats = interval.summary(images_per_step)
        stats["lr"] = self.optimizer.param_groups[0]["lr"]
        if not all(math.isfinite(stats[key]) for key in interval.columns.losses):
            raise FloatingPointError(f"step {self.step}: the loss is not finite ({stats}); lower the learning rate")
        return stats

    def _validation_row(self) -> dict[str, Any]:
        matrix = self.validate()
        miou = matrix.miou()
        if miou > self.progress.best_miou:
            self.progress.best_miou, self.progress.best_step = miou, self.step
            self.save("best.pt", with_state=False)
        per_class = matrix.per_class_iou()
        lost = self.watch.update(self.step, per_class.tolist(), matrix.matrix.sum(axis=1) > 0)
        if lost and self.notice is not None:
            self.notice(self.watch.message(lost, self.step))
        return {
            "val_miou": miou,
            "val_pixel_accuracy": matrix.pixel_accuracy(),
            **{f"iou_{name}": value for name, value in zip(self.classes, per_class, strict=True)},
        }

    def _summary(self, wall: float) -> dict[str, Any]:
        return {
            "config": self.config.as_dict(),
            "best_miou": self.progress.best_miou,
            "best_iteration": self.progress.best_step,
            "lost_classes": dict(self.watch.lost),
            "iterations": self.step,
            "wall_time_s": wall,
            "classes": list(self.classes),
            "normalization": self.normalization.as_dict(),
            "amp": bool(self.amp),
            "threads": self.threads,
            "environment": environment(self.device, self.world),
        }
