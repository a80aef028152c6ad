"""``samcl-train``: train a segmentation network on thermal HDF5 data with a base loss plus SAM-CL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
import yaml

from samcl.artifacts.input_norms import INPUT_NORMS
from samcl.losses.base_losses import BASE_LOSS_NAMES
from samcl.losses.settings import SAMCL_PRESETS, STRATEGIES
from samcl.training.bandit_settings import shown_defaults
from samcl.training.config import DEFAULT_CROP, FLAGS, TrainConfig, read_config_file, resolve_config
from tiaug.cli.common import (
    SEED,
    FiniteFloat,
    command,
    progress_every_option,
    progress_flag,
    size_option,
)
from tiaug.errors import UserError
from tiaug.progress import Progress


def _shown(value: object) -> str:
    """A TrainConfig default as ``--help`` shows it: 256x320, on/off, plain values."""
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, tuple):
        return "x".join(str(v) for v in value)
    return f"{value:g}" if isinstance(value, float) else str(value)


def _help() -> str:
    """The command's help; the recipe paragraph is written from TrainConfig's defaults."""
    d = TrainConfig.default
    lam = d("samcl_lambda") if d("samcl_lambda") is not None else SAMCL_PRESETS[d("samcl_preset")]["lam"]
    loss = f"{d('loss')} loss" + (f" + {_shown(lam)} * SAM-CL ({d('samcl_preset')} preset)" if d("samcl") else "")
    scene = " and the scene steps" if d("scene") else ""
    warmup = (
        f" after a warm-up ({_shown(100 * d('aug_warmup'))} % of the steps without them, then a ramp over "
        f"{_shown(100 * d('aug_ramp'))} %)"
        if d("aug_warmup") or d("aug_ramp")
        else ""
    )
    recipe = (
        f"Recipe (the defaults: the paper's optimiser and sizes, the rest chosen by the robustness benchmark, see "
        f"docs/results.md): SGD momentum {_shown(d('momentum'))}, weight decay {_shown(d('weight_decay'))}, lr "
        f"{_shown(d('lr'))} with poly decay, batch {d('batch_size')}, {_shown(DEFAULT_CROP)} crops, the paper's "
        f"augmentation with TiAug{scene}{warmup}, {d('input_norm')} input normalisation, {loss}."
    )
    return f"""Train a thermal face segmentation network with SAM-CL.

\b
Data: HDF5 files with `images` float32 (N, H, W) in degrees Celsius and `masks` uint8 (N, H, W)
(0 background, 1 skin, 2 mouth, 3 eyes, 4 eyebrows, 5 nose by default; attr `classes`).
Make some with `tiaug synth train.h5 -n 500`.

{recipe}
Runs unchanged under `torchrun --nproc_per_node N` (DistributedDataParallel; rank 0 writes).

\b
Writes RUN_DIR/best.pt (best validation mIoU), last.pt (resume with --resume RUN_DIR),
metrics.csv, summary.json and curves.png.
"""


def option(*decls: str, help: str, shown: str | None = None, **kwargs: Any):
    """``click.option`` whose help ends with TrainConfig's default of the option, ``[default: value]``.

    Every option defaults to None so that ``--config`` values are not overridden by defaults; ``resolve_config``
    fills in TrainConfig's defaults, the one place they are written.
    """
    name = next((d for d in decls if not d.startswith("-")), None)
    name = name or decls[0].split("/")[0].lstrip("-").replace("-", "_")
    default = shown if shown is not None else _shown(TrainConfig.default(name))
    FLAGS[name] = decls[0].split("/")[0]
    return click.option(*decls, help=f"{help}  [default: {default}]", **kwargs)


FLAGS.update(data="--data", val="--val", out="--out", model_kwargs="--model-arg", resume="--resume")  # no default


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


#: Strategies with options of their own (SAM-CL's are the --samcl-* flags): --<name>-arg KEY=VALUE.
STRATEGY_ARGS = [name for name in STRATEGIES if name not in ("samcl", "none")]
FLAGS.update(strategy_kwargs="--<strategy>-arg")


def strategy_arg_options(function):
    """``--<name>-arg KEY=VALUE`` (repeatable) for each strategy of :data:`STRATEGY_ARGS`."""
    for name in reversed(STRATEGY_ARGS):
        function = click.option(
            f"--{name}-arg",
            f"{name}_arg",
            multiple=True,
            callback=_model_args,
            help=f"Option KEY=VALUE of --strategy {name}, repeatable: its loss's arguments (samcl.losses), step "
            "counts as fractions of --iters (a wrong key lists the valid ones).",
        )(function)
    return function


def strategy_kwargs(flags: dict[str, object]) -> dict[str, dict] | None:
    """The ``--<name>-arg`` options taken out of ``flags``, as TrainConfig's ``strategy_kwargs`` (None: none)."""
    given: dict[str, Any] = {name: flags.pop(f"{name}_arg") for name in STRATEGY_ARGS}
    return {name: options for name, options in given.items() if options} or None


@command(
    help=_help(),
    examples=(
        "samcl-train --data train.h5 --val val.h5 --out runs/unet",
        "samcl-train --data train.h5 --val val.h5 --out runs/plain --no-samcl --no-tiaug --no-scene",
        "samcl-train --data train.h5 --val val.h5 --out runs/small --crop 64x80 --model-arg base_width=16 --threads 1",
        "samcl-train --resume runs/unet",
        "torchrun --nproc_per_node 4 -m samcl.cli.train_cmd --data train.h5 --val val.h5 --out runs/ddp",
    ),
)
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
@option("--model", help="Network: unet, attention_unet, live (camera-rate CPU), or smp:<Arch>:<encoder> (zoo extra).")
@click.option(
    "--model-arg",
    "model_kwargs",
    multiple=True,
    callback=_model_args,
    help="Model argument KEY=VALUE, repeatable (e.g. base_width=32).",
)
@option("--loss", type=click.Choice(BASE_LOSS_NAMES), help="Base loss.")
@option(
    "--strategy",
    type=click.Choice(list(STRATEGIES)),
    help="Learning strategy, added to the base loss: " + "; ".join(f"{k}: {v}" for k, v in STRATEGIES.items()) + ".",
)
@strategy_arg_options
@option(
    "--samcl/--no-samcl",
    "samcl",
    default=None,
    help="Shorthands: --samcl is --strategy samcl, --no-samcl any other strategy (none unless --strategy says).",
)
@option(
    "--samcl-lambda",
    type=FiniteFloat(min=0),
    help="Weight lambda of the SAM-CL term (with the stable preset: SAM-CL's gradient at the logits relative to "
    "the base loss's).",
    shown="the preset's: " + ", ".join(f"{name} {values['lam']:g}" for name, values in sorted(SAMCL_PRESETS.items())),
)
@option(
    "--samcl-preset",
    type=click.Choice(sorted(SAMCL_PRESETS)),
    help="SAM-CL design choices: 'poster' (the poster's raw batch triplet, margin 1) or 'stable' (distances "
    "normalised per scale, see docs/training.md).",
)
@option("--samcl-warmup", type=FiniteFloat(0, 1), help="Fraction of the steps over which lambda ramps up from 0.")
@option(
    "--samcl-arg",
    "samcl_kwargs",
    multiple=True,
    callback=_model_args,
    help="SAMCLLoss argument KEY=VALUE, repeatable: margin, distance_norm (none|ratio), triplet (batch|image), "
    "lam_mode (absolute|relative), aux_mode (joint|adversarial|frozen), aux_lr_scale, spectral_norm, ...",
    shown="the preset's",
)
@option(
    "--tiaug/--no-tiaug",
    "tiaug",
    default=None,
    help="TiAug occlusion + thermal noise on the fly (flips, rotation, scale, crop, blur always).",
)
@option(
    "--scene/--no-scene",
    "scene",
    default=None,
    help="Scene-level augmentation on the fly: room temperature (skin following partially), camera drift, "
    "column/row stripes, each with p = 0.5.",
)
@option(
    "--aug-warmup",
    type=FiniteFloat(0, 1),
    help="Fraction of the steps, the first ones, trained without TiAug and the scene steps (flips, rotation, "
    "scale, crop and blur only), so that the network finds the small classes (mouth, eyes) before the "
    "augmentation makes them hard.",
)
@option(
    "--aug-ramp",
    type=FiniteFloat(0, 1),
    help="Fraction of the steps after the warm-up over which the share of samples with TiAug and the scene steps "
    "grows linearly from none to all (0: all at once).",
)
@option(
    "--adversarial-k",
    type=int,
    help="Self-adversarial TiAug: K photometric draws (TiAug + scene) per image, scored by one no-grad forward "
    "pass of the current network; the hardest is trained on. 0: random TiAug.",
)
@option(
    "--adversarial-temperature",
    type=FiniteFloat(min=0),
    help="0: train on the hardest of the K draws; > 0: draw one with probabilities softmax(loss / T).",
)
@option(
    "--adversarial-scale",
    type=FiniteFloat(0, 1, min_open=True),
    help="Score the K draws at this fraction of their size (a scoring pass costs about its square).",
)
@option(
    "--bandit/--no-bandit",
    "bandit",
    default=None,
    help="Draw TiAug's discrete choices (occluder configuration, temperature relation, size bin, room bin, drift "
    "direction) with weights that follow the loss each choice produces; weights in metrics.csv and curves.png.",
)
@option(
    "--bandit-arg",
    "bandit_kwargs",
    multiple=True,
    callback=_model_args,
    help="Bandit setting KEY=VALUE, repeatable: temperature, floor, decay, lag.",
    shown=shown_defaults(),
)
@option(
    "--consistency",
    type=FiniteFloat(min=0),
    help="Weight of a Jensen-Shannon consistency term between a clean and the augmented (or attacked) view of "
    "each image (AugMix's); both views are trained on. 0: off.",
)
@option(
    "--teacher",
    help="Checkpoint (best.pt or its run folder) of a trained network whose predictions the run also learns "
    "(knowledge distillation: a small network such as live learning from unet). Off by default.",
    shown="none",
)
@option(
    "--distill-weight",
    type=FiniteFloat(min=0),
    help="With --teacher: weight of the per-pixel KL divergence from the teacher's predictions.",
)
@option(
    "--distill-temperature",
    type=FiniteFloat(min=0, min_open=True),
    help="With --teacher: softmax temperature of both predictions in that divergence.",
)
@option(
    "--input-norm",
    type=click.Choice(INPUT_NORMS),
    help="Network input: 'dataset' (one mean/std of the training set: absolute temperatures) or 'image' (each "
    "frame's median and robust spread). Stored in the checkpoint; eval and predict apply the same.",
)
@option(
    "--crop",
    callback=size_option,
    help="Training crop HxW in pixels.",
    shown=f"the training frames' size, at most {_shown(DEFAULT_CROP)}",
)
@option("--iters", type=int, help="Training steps.")
@option("--batch-size", type=int, help="Images per step and process.")
@option("--lr", type=FiniteFloat(min=0, min_open=True), help="Base learning rate, SGD momentum 0.9, poly decay.")
@option("--val-every", type=int, help="Validate every N steps.")
@option("--checkpoint-every", type=int, help="Write last.pt every N steps.")
@option("--log-every", type=int, help="Append a metrics.csv row every N steps.")
@option("--seed", type=SEED, help="Seed of weights, sampling, augmentation and derangements.")
@option("--device", help="cpu, cuda, cuda:N or auto.")
@option("--amp/--no-amp", "amp", default=None, help="bfloat16 autocast.", shown="on for CUDA, off on the CPU")
@option("--workers", type=int, help="DataLoader worker processes per training process.")
@click.option("--overwrite", is_flag=True, help="Replace an earlier run in RUN_DIR (refused otherwise).")
@option(
    "--threads",
    type=int,
    help="CPU threads of each training process (torch.set_num_threads). Results depend on it (floating-point "
    "sums split over threads): fix it to compare runs across machines.",
    shown="the cores / processes on this machine",
)
@option(
    "--deterministic/--no-deterministic",
    "deterministic",
    default=None,
    help="Deterministic torch algorithms (a warning names any op without one) and no cuDNN autotuning.",
)
@progress_flag
@progress_every_option
def train(
    config_file: Path | None,
    resume: Path | None,
    overwrite: bool,
    progress: bool,
    progress_every: int | None,
    **flags: object,
) -> None:
    """``samcl-train`` (help text: ``_help()``)."""
    # torch loads when the command runs, not for --help
    from samcl.training.preflight import SettingError

    flags["strategy_kwargs"] = strategy_kwargs(flags)
    try:
        config, run = _start(config_file, resume, overwrite, flags)
    except SettingError as e:  # the library names the setting in words; the command line adds its flag
        flag = FLAGS.get(e.setting)
        raise UserError(f"{e} ({flag})" if flag else str(e)) from None
    images_per_step = config.batch_size * run.world.size
    with Progress(
        config.iters,
        "train",
        unit="step",
        enabled=progress and run.world.is_main,
        initial=run.step,
        leave=True,
        rate=("img", images_per_step),
        every=progress_every,
    ) as bar:
        summary = run.fit(progress=bar.to)
    if run.world.is_main:
        click.echo(
            f"best val mIoU {summary['best_miou']:.4f} at step {summary['best_iteration']}; "
            f"{summary['iterations']} steps in {summary['wall_time_s']:.0f} s; outputs in {config.out}",
            err=True,
        )


def _say(message: str) -> None:
    """A run's notes and warnings, one line each on stderr."""
    click.echo(message, err=True)


def _start(config_file: Path | None, resume: Path | None, overwrite: bool, flags: dict[str, object]) -> tuple:
    """The resolved configuration and its :class:`~samcl.training.loop.Run`, fresh or resumed."""
    from samcl.training.checkpoints import resume_payload
    from samcl.training.loop import Run
    from samcl.training.preflight import check_run_dir

    if resume is not None:
        payload = resume_payload(resume)
        given = {k: v for k, v in flags.items() if v is not None}
        allowed = {"iters", "device", "workers", "amp", "threads"}
        if config_file is not None or set(given) - allowed:
            raise click.UsageError(f"--resume continues a run as configured; only {sorted(allowed)} may change")
        run = Run(resolve_config({**payload["config"], "out": str(resume)}, given), payload, notice=_say)
        return run.config, run
    config = resolve_config(read_config_file(config_file) if config_file else None, dict(flags))
    inputs: list[str | Path] = [config.data, config.val, *([config_file] if config_file else [])]
    earlier = check_run_dir(config.out, overwrite=overwrite, inputs=inputs)
    run = Run(config, notice=_say)
    if run.world.is_main:  # the data checked out: the earlier run goes
        for path in earlier:
            path.unlink(missing_ok=True)
    return run.config, run


def train_main() -> None:
    """Console entry point of ``samcl-train``."""
    train(prog_name="samcl-train")


if __name__ == "__main__":
    train_main()
