"""``samcl-train``: train a segmentation network on thermal HDF5 data with a base loss plus SAM-CL."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from tiaug.cli._common import exit_cleanly_on_sigterm, reported_errors, size_option


def _yaml_scalar(text: str) -> object:
    """A YAML scalar ("32" -> 32, "true" -> True, "a" -> "a")."""
    import yaml

    return yaml.safe_load(text)


def _model_args(ctx: click.Context, param: click.Parameter, values: tuple[str, ...]) -> dict | None:
    """KEY=VALUE pairs (values parsed as YAML scalars: 32 -> int, true -> bool)."""
    if not values:
        return None
    parsed = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"expected KEY=VALUE, got {item!r}", ctx=ctx, param=param)
        parsed[key.strip()] = _yaml_scalar(value)
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
@click.option("--samcl-lambda", type=float, help="Weight lambda of the SAM-CL term. [0.5]")
@click.option(
    "--tiaug/--no-tiaug",
    "tiaug",
    default=None,
    help="TiAug occlusion + thermal noise on the fly (flips, rotation, scale, crop, blur always). [on]",
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
@click.option("--progress/--no-progress", default=True, show_default=True, help="Progress bar on stderr.")
def train(config_file: Path | None, resume: Path | None, progress: bool, **flags: object) -> None:
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
    # torch loads here, not when the command starts (`samcl-train --help` stays quick)
    from tqdm import tqdm

    from samcl.config import read_config_file, resolve_config
    from samcl.train import Run, resume_payload

    with reported_errors():
        if resume is not None:
            payload = resume_payload(resume)
            given = {k: v for k, v in flags.items() if v is not None}
            allowed = {"iters", "device", "workers", "amp"}
            if config_file is not None or set(given) - allowed:
                raise click.UsageError(f"--resume continues a run as configured; only {sorted(allowed)} may change")
            config = resolve_config({**payload["config"], "out": str(resume)}, given)
            run = Run(config, resume_payload=payload)
        else:
            config = resolve_config(read_config_file(config_file) if config_file else None, dict(flags))
            run = Run(config)
        bar = tqdm(total=config.iters, initial=run.step, desc="train", unit="step", file=sys.stderr,
                   dynamic_ncols=True, disable=None if progress and run.world.is_main else True)  # fmt: skip

        def show(step: int, stats: dict[str, float]) -> None:
            bar.update(step - bar.n)
            if stats:
                bar.set_postfix(loss=f"{stats['loss']:.3f}", miou=f"{stats.get('val_miou', float('nan')):.3f}",
                                img_s=f"{stats['images_per_s']:.1f}", refresh=False)  # fmt: skip

        summary = run.fit(progress=show)
        bar.close()
    if run.world.is_main:
        click.echo(f"best val mIoU {summary['best_miou']:.4f} at step {summary['best_iteration']}; "
                   f"{summary['iterations']} steps in {summary['wall_time_s']:.0f} s; outputs in {config.out}",
                   err=True)  # fmt: skip


def train_main() -> None:
    """Console entry point of ``samcl-train``."""
    train(prog_name="samcl-train")


if __name__ == "__main__":
    train_main()
