"""``samcl-train``: train a segmentation network on thermal HDF5 data with a base loss plus SAM-CL."""

from __future__ import annotations

from pathlib import Path

import click
import yaml

from samcl.checkpoint import INPUT_NORMS
from samcl.config import read_config_file, resolve_config
from samcl.losses.samcl_loss import DEFAULT_LAMBDA, DEFAULT_PRESET, SAMCL_PRESETS
from samcl.train import Run, resume_payload
from tiaug.cli._common import exit_cleanly_on_sigterm, progress_every_option, reported_errors, size_option
from tiaug.progress import Progress


def _model_args(ctx: click.Context, param: click.Parameter, values: tuple[str, ...]) -> dict | None:
    """KEY=VALUE pairs (values parsed as YAML scalars: 32 -> int, true -> bool)."""
    if not values:
        return None
    parsed = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"expected KEY=VALUE, got {item!r}", ctx=ctx, param=param)
        parsed[key.strip()] = yaml.safe_load(value)
    return parsed


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--data", "data", help="Training HDF5: images float32 (N, H, W) degrees Celsius + masks uint8.")
@click.option("--val", "val", help="Validation HDF5 (same classes).")
@click.option("--out", "out", help="Run directory for best.pt, last.pt, metrics.csv, summary.json, curves.png.")
@click.option(
    "--config",
    "config_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="YAML or JSON file giving any option (keys as in summary.json's config); flags override it.",
)
@click.option(
    "--resume",
    "resume",
    type=click.Path(path_type=Path),
    help="Continue the run in this directory from its last.pt (same configuration).",
)
@click.option("--model", help="Network: unet, attention_unet, or smp:<Arch>:<encoder> (zoo extra). [unet]")
@click.option(
    "--model-arg",
    "model_kwargs",
    multiple=True,
    callback=_model_args,
    help="Model argument KEY=VALUE, repeatable (e.g. base_width=32).",
)
@click.option("--loss", type=click.Choice(["ce", "dice", "rmi"]), help="Base loss. [rmi]")
@click.option("--samcl/--no-samcl", "samcl", default=None, help="Add lambda * SAM-CL to the base loss. [on]")
@click.option("--samcl-lambda", type=float, help=f"Weight lambda of the SAM-CL term. [{DEFAULT_LAMBDA}]")
@click.option(
    "--samcl-preset",
    type=click.Choice(sorted(SAMCL_PRESETS)),
    help=f"SAM-CL design choices: 'poster' (the poster's raw batch triplet, margin 1) or 'stable' (distances "
    f"normalised per scale, see the README). [{DEFAULT_PRESET}]",
)
@click.option(
    "--samcl-warmup",
    type=float,
    help="Fraction of the steps over which lambda ramps up linearly from 0 (e.g. 0.2). [0]",
)
@click.option(
    "--samcl-arg",
    "samcl_kwargs",
    multiple=True,
    callback=_model_args,
    help="SAMCLLoss argument KEY=VALUE, repeatable: margin, distance_norm (none|ratio), triplet (batch|image), "
    "aux_mode (joint|adversarial|frozen), aux_lr_scale, spectral_norm, seg_distance, feat_distance, ...",
)
@click.option(
    "--tiaug/--no-tiaug",
    "tiaug",
    default=None,
    help="TiAug occlusion + thermal noise on the fly (flips, rotation, scale, crop, blur always). [on]",
)
@click.option(
    "--scene/--no-scene",
    "scene",
    default=None,
    help="Scene-level augmentation on the fly: room temperature (skin following partially), camera drift, "
    "column/row stripes, each with p = 0.5. [off]",
)
@click.option(
    "--input-norm",
    type=click.Choice(INPUT_NORMS),
    help="Network input: 'dataset' (one mean/std of the training set: absolute temperatures) or 'image' (each "
    "frame's median and robust spread). Stored in the checkpoint; eval and predict apply the same. [dataset]",
)
@click.option("--crop", callback=size_option, help="Training crop HxW in pixels. [256x320]")
@click.option("--iters", type=int, help="Training steps. [10000]")
@click.option("--batch-size", type=int, help="Images per step and process. [16]")
@click.option("--lr", type=float, help="Base learning rate, SGD momentum 0.9, poly decay. [0.01]")
@click.option("--val-every", type=int, help="Validate every N steps. [500]")
@click.option("--checkpoint-every", type=int, help="Write last.pt every N steps. [500]")
@click.option("--log-every", type=int, help="Append a metrics.csv row every N steps. [10]")
@click.option("--seed", type=int, help="Seed of weights, sampling, augmentation and derangements. [0]")
@click.option("--device", help="cpu, cuda, cuda:N or auto. [auto]")
@click.option("--amp/--no-amp", "amp", default=None, help="bfloat16 autocast. [on for CUDA, off on the CPU]")
@click.option("--workers", type=int, help="DataLoader worker processes per training process. [2]")
@click.option(
    "--threads",
    type=int,
    help="CPU threads of each training process (torch.set_num_threads). Results depend on it (floating-point "
    "sums split over threads): fix it to compare runs across machines. [the cores / processes on this machine]",
)
@click.option(
    "--deterministic/--no-deterministic",
    "deterministic",
    default=None,
    help="Deterministic torch algorithms (a warning names any op without one) and no cuDNN autotuning. [on]",
)
@click.option(
    "--progress/--no-progress",
    default=True,
    show_default=True,
    help="Progress on stderr: a bar on a terminal, else (a log) a one-line record every 5% of the steps "
    "(step, loss, val mIoU, img/s, elapsed, ETA).",
)
@progress_every_option
def train(
    config_file: Path | None, resume: Path | None, progress: bool, progress_every: int | None, **flags: object
) -> None:
    """Train a thermal face segmentation network with SAM-CL.

    \b
    Data: HDF5 files with `images` float32 (N, H, W) in degrees Celsius and `masks` uint8 (N, H, W)
    (0 background, 1 skin, 2 mouth, 3 eyes, 4 eyebrows, 5 nose by default; attr `classes`).
    Make some with `tiaug synth train.h5 -n 500`.
    \b
    Recipe (the paper's): SGD momentum 0.9, weight decay 5e-4, lr 0.01 with poly decay, batch 16,
    256x320 crops, the paper's augmentation with TiAug, base loss + 0.5 * SAM-CL.
    Runs unchanged under `torchrun --nproc_per_node N` (DistributedDataParallel; rank 0 writes).
    \b
    Writes RUN_DIR/best.pt (best validation mIoU), last.pt (resume with --resume RUN_DIR),
    metrics.csv, summary.json and curves.png.
    """
    exit_cleanly_on_sigterm()
    with reported_errors():
        if resume is not None:
            payload = resume_payload(resume)
            given = {k: v for k, v in flags.items() if v is not None}
            allowed = {"iters", "device", "workers", "amp", "threads"}
            if config_file is not None or set(given) - allowed:
                raise click.UsageError(f"--resume continues a run as configured; only {sorted(allowed)} may change")
            config = resolve_config({**payload["config"], "out": str(resume)}, given)
            run = Run(config, resume_payload=payload)
        else:
            config = resolve_config(read_config_file(config_file) if config_file else None, dict(flags))
            run = Run(config)
        images_per_step = config.batch_size * run.world.size
        with Progress(config.iters, "train", unit="step", initial=run.step, enabled=progress and run.world.is_main,
                      rate=("img", images_per_step), every=progress_every) as bar:  # fmt: skip

            def show(step: int, stats: dict[str, float]) -> None:
                bar.update_to(step, loss=stats.get("loss"), val_mIoU=stats.get("val_miou"))

            summary = run.fit(progress=show)
    if run.world.is_main:
        click.echo(f"best val mIoU {summary['best_miou']:.4f} at step {summary['best_iteration']}; "
                   f"{summary['iterations']} steps in {summary['wall_time_s']:.0f} s; outputs in {config.out}",
                   err=True)  # fmt: skip


def train_main() -> None:
    """Console entry point of ``samcl-train``."""
    train(prog_name="samcl-train")


if __name__ == "__main__":
    train_main()
