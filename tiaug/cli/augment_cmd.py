"""``tiaug augment``: augmented copies of an HDF5 thermal dataset, traceable row by row."""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from tiaug.augment import augment_file
from tiaug.cli.common import (
    SEED,
    FiniteFloat,
    command,
    h5_output_options,
    path_argument,
    progress_every_option,
    progress_flag,
)
from tiaug.functional.occluded import MASK_POLICIES
from tiaug.functional.occlusion import RELATIONS
from tiaug.pipeline_files import load_pipeline
from tiaug.presets import tiaug_pipeline
from tiaug.progress import Progress
from tiaug.safety import check_pipeline, unsafe_transforms
from tiaug.transforms import ThermalNoise, TiAugOcclusion


def _pair(kind: type) -> click.ParamType:
    """A 'LOW,HIGH' option value."""

    class Pair(click.ParamType):
        name = f"{kind.__name__.upper()},{kind.__name__.upper()}"

        def convert(self, value, param, ctx):
            if isinstance(value, tuple):
                return value
            try:
                low, high = (kind(part) for part in str(value).split(","))
            except ValueError:
                self.fail(f"expected two numbers LOW,HIGH, got {value!r}", param, ctx)
            if not (math.isfinite(low) and math.isfinite(high)):
                self.fail(f"expected two finite numbers LOW,HIGH, got {value!r}", param, ctx)
            return low, high

    return Pair()


def _weights(ctx: click.Context, param: click.Parameter, value: str | None) -> dict[str, float] | None:
    """'single=1,dual=2' -> {'single': 1.0, 'dual': 2.0}."""
    if value is None:
        return None
    weights = {}
    for item in value.split(","):
        name, _, weight = item.partition("=")
        try:
            weights[name.strip()] = float(weight) if weight else 1.0
        except ValueError:
            raise click.BadParameter(f"expected NAME=WEIGHT pairs, got {item!r}", ctx=ctx, param=param) from None
    return weights


#: augment_file's defaults (seed, copies, workers, batch size, compression): the options show and use them.
DEFAULTS = {name: p.default for name, p in inspect.signature(augment_file).parameters.items()}
#: The flags of the default pipeline, by the transform that takes them (its __init__ arguments).
PIPELINE_FLAGS: dict[type, dict[str, Any]] = {TiAugOcclusion: {}, ThermalNoise: {}}


def default_option(decl: str, *aliases: str, **kwargs: Any) -> Callable:
    """An option whose default (shown in ``--help``) is augment_file's argument of the same name."""
    return click.option(
        decl, *aliases, default=DEFAULTS[decl.lstrip("-").replace("-", "_")], show_default=True, **kwargs
    )


def pipeline_option(decl: str, **kwargs: Any) -> Callable:
    """An option of the default pipeline: an argument of TiAugOcclusion or ThermalNoise, default from its signature."""
    name = decl.lstrip("-").replace("-", "_")
    owner = next(t for t in PIPELINE_FLAGS if name in inspect.signature(t).parameters)
    default = inspect.signature(owner).parameters[name].default
    PIPELINE_FLAGS[owner][name] = default
    shown = ",".join(map(str, default)) if isinstance(default, tuple) else default
    shown = "all 1" if default is None else shown
    return click.option(decl, help=f"{kwargs.pop('help')}  [default: {shown}]", **kwargs)


@command(
    "augment",
    examples=(
        "tiaug augment faces.h5 faces_tiaug.h5 --copies 2 --seed 0 --workers 2",
        "tiaug augment faces.h5 scene.h5 --scene --keep-original",
        "tiaug augment faces.h5 strokes.h5 --vertices-range 2,2 --mask-policy ignore",
        "tiaug augment faces.h5 custom.h5 --config pipeline.yaml",
    ),
)
@path_argument("in_path", "IN.h5")
@path_argument("out_path", "OUT.h5")
@default_option("--copies", "-k", type=click.IntRange(min=0), help="Augmented rows written per input row.")
@click.option("--keep-original", is_flag=True, help="Also write each input row unchanged, before its copies.")
@default_option("--seed", type=SEED, help="Seed; the same seed gives byte-identical images whatever --workers is.")
@default_option("--workers", "-j", type=click.IntRange(min=1), help="Worker processes.")
@click.option(
    "--config",
    "config",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="An Albumentations pipeline saved with A.save (JSON, or YAML by extension) to use instead of "
    "the default occlusion + thermal noise. TiAug transforms may appear in it; other transforms must be known to "
    "keep degrees Celsius (flips, crops, resampling with reflected borders: see tiaug.safety) or sit inside "
    "TemperatureSafe.",
)
@click.option(
    "--trusted-input",
    is_flag=True,
    help="IN.h5 may keep its data in other files (HDF5 external storage, external links, virtual datasets), "
    "refused otherwise: only for files you made yourself.",
)
@click.option(
    "--allow-unsafe",
    is_flag=True,
    help="Accept --config transforms not known to keep degrees Celsius (with a warning). Every output row is "
    "still checked against what the pipeline can produce.",
)
@pipeline_option("--size-range", type=_pair(float), help="Occluded fraction of the face area.")
@pipeline_option("--vertices-range", type=_pair(int), help="Polygon vertices (2 = thick stroke).")
@pipeline_option("--irregularity-range", type=_pair(float), help="Angular irregularity, fraction of 2*pi/n.")
@pipeline_option("--spikiness-range", type=_pair(float), help="Radius spikiness, fraction of the mean radius.")
@pipeline_option(
    "--configurations",
    callback=_weights,
    help="Weights of the configurations, e.g. single=1,dual=1,connected=1 (missing ones weigh 0).",
)
@pipeline_option(
    "--temperature-relation",
    type=click.Choice(RELATIONS),
    help="Occluder temperature vs the face median (poster: single any, dual lower, connected either).",
)
@pipeline_option("--mask-policy", type=click.Choice(MASK_POLICIES), help="Labels under occluders (keep: the paper's).")
@pipeline_option("--ignore-index", type=click.IntRange(0, 255), help="Label of the 'ignore' mask policy.")
@pipeline_option("--min-netd", type=FiniteFloat(min=0), help="Smallest sensor noise std, degrees Celsius.")
@pipeline_option("--max-netd", type=FiniteFloat(min=0), help="Largest sensor noise std, degrees Celsius.")
@default_option(
    "--batch-size", type=click.IntRange(min=1), help="Input rows per batch (memory stays one batch per worker)."
)
@click.option(
    "--scene/--no-scene",
    default=False,
    show_default=True,
    help="Also change the scene: every copy gets a new room temperature (0-50 C, the skin following "
    "partially), and camera offset/gain drift and column/row stripes each with probability 0.5.",
)
@h5_output_options
@progress_flag
@progress_every_option
def augment(
    in_path: Path,
    out_path: Path,
    copies: int,
    keep_original: bool,
    seed: int,
    workers: int,
    config: Path | None,
    allow_unsafe: bool,
    trusted_input: bool,
    batch_size: int,
    scene: bool,
    overwrite: bool,
    compression: str,
    progress: bool,
    progress_every: int | None,
    **flags: object,
) -> None:
    """Write augmented copies of the thermal dataset IN.h5 to OUT.h5.

    \b
    By default each copy gets TiAug occluders (poster defaults) and thermal noise (NETD up to 0.1 C);
    the flags change their main parameters, --config replaces the whole pipeline.
    \b
    OUT.h5 holds:
      images          float32 (N_out, H, W) degrees Celsius
      masks           uint8 (N_out, H, W), when IN.h5 has masks (relabelled by --mask-policy)
      source_index    int64 (N_out,) input row of each output row
      tiaug/params    one JSON per row: every applied transform and its sampled parameters
                      (occluder polygons in pixel (x, y), temperatures, NETD)
      attrs tiaug/pipeline (the pipeline as A.to_dict JSON) and tiaug/augment (seed, copies, input)
    \b
    Rows are processed in batches (memory does not grow with the file). OUT.h5 is written to a temporary
    file and renamed when complete: an interrupted or refused run leaves no OUT.h5. IN.h5 is never modified.
    Every output row is checked against what the pipeline can produce (the input's temperatures widened by
    TiAug's occluders and noise): a pipeline that destroys temperatures is refused, naming the row.
    """
    given = {name: value for name, value in flags.items() if value is not None}
    if config is not None:
        if given or scene:
            dropped = sorted([*given, *(["scene"] if scene else [])])
            raise click.UsageError(f"--config replaces the pipeline; drop {', '.join(dropped)}")
        pipeline = load_pipeline(config)
        check_pipeline(pipeline, f"--config {config}", allow_unsafe, "--allow-unsafe")  # before anything is read
    else:
        pipeline = tiaug_pipeline(
            occlusion={k: v for k, v in given.items() if k in PIPELINE_FLAGS[TiAugOcclusion]},
            noise={k: v for k, v in given.items() if k in PIPELINE_FLAGS[ThermalNoise]},
            scene=scene,
        )
    if allow_unsafe:
        for problem in unsafe_transforms(pipeline, "--allow-unsafe"):
            click.echo(f"warning (--allow-unsafe): {problem}", err=True)
    with Progress(desc="augment", unit="row", enabled=progress, every=progress_every) as bar:
        written = augment_file(
            in_path,
            out_path,
            pipeline,
            seed=seed,
            copies=copies,
            keep_original=keep_original,
            workers=workers,
            batch_size=batch_size,
            overwrite=overwrite,
            compression=compression,
            progress=bar.to,
            other_inputs=[config] if config is not None else [],
            allow_unsafe=allow_unsafe,
            trusted=trusted_input,
        )
    click.echo(
        f"wrote {written} rows ({bar.total} input rows x {copies} copies"
        f"{' + originals' if keep_original else ''}, seed {seed}) to {out_path}",
        err=True,
    )
