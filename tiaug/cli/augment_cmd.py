"""``tiaug augment``: augmented copies of an HDF5 thermal dataset, traceable row by row."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from tiaug.cli._common import (
    check_stop,
    compression_option,
    exit_cleanly_on_sigterm,
    overwrite_flag,
    progress_flag,
    reported_errors,
)


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


OCCLUSION_FLAGS = ("size_range", "vertices_range", "irregularity_range", "spikiness_range", "configurations",
                   "temperature_relation", "mask_policy", "ignore_index")  # fmt: skip
NOISE_FLAGS = ("min_netd", "max_netd")


@click.command("augment")
@click.argument("in_path", metavar="IN.h5", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("out_path", metavar="OUT.h5", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--copies",
    "-k",
    type=click.IntRange(min=0),
    default=1,
    show_default=True,
    help="Augmented rows written per input row.",
)
@click.option("--keep-original", is_flag=True, help="Also write each input row unchanged, before its copies.")
@click.option(
    "--seed",
    type=int,
    default=0,
    show_default=True,
    help="Seed; the same seed gives byte-identical images whatever --workers is.",
)
@click.option("--workers", "-j", type=click.IntRange(min=1), default=1, show_default=True, help="Worker processes.")
@click.option(
    "--config",
    "config",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="An Albumentations pipeline saved with A.save (JSON, or YAML by extension) to use instead of "
    "the default occlusion + thermal noise. TiAug transforms may appear in it.",
)
@click.option("--size-range", type=_pair(float), help="Occluded fraction of the face area, e.g. 0.01,0.4.")
@click.option("--vertices-range", type=_pair(int), help="Polygon vertices, e.g. 2,30 (2 = thick stroke).")
@click.option("--irregularity-range", type=_pair(float), help="Angular irregularity, fraction of 2*pi/n.")
@click.option("--spikiness-range", type=_pair(float), help="Radius spikiness, fraction of the mean radius.")
@click.option(
    "--configurations",
    callback=_weights,
    help="Weights of the configurations, e.g. single=1,dual=1,connected=1 (missing ones weigh 0).",
)
@click.option(
    "--temperature-relation",
    "temperature_relation",
    type=click.Choice(["poster", "any", "lower", "higher"]),
    help="Occluder temperature vs the face median (poster: single any, dual lower, connected either).",
)
@click.option(
    "--mask-policy",
    type=click.Choice(["keep", "background", "ignore"]),
    help="Labels under occluders (default keep, as in the paper).",
)
@click.option("--ignore-index", type=click.IntRange(0, 255), help="Label of the 'ignore' mask policy.")
@click.option("--min-netd", type=click.FloatRange(min=0), help="Smallest sensor noise std, degrees Celsius.")
@click.option("--max-netd", type=click.FloatRange(min=0), help="Largest sensor noise std, degrees Celsius.")
@click.option(
    "--batch-size",
    type=click.IntRange(min=1),
    default=32,
    show_default=True,
    help="Input rows per batch (memory stays one batch per worker).",
)
@overwrite_flag
@compression_option
@progress_flag
def augment(in_path: Path, out_path: Path, copies: int, keep_original: bool, seed: int, workers: int,
            config: Path | None, batch_size: int, overwrite: bool, compression: str, progress: bool,
            **flags: object) -> None:  # fmt: skip
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
    file and renamed when complete: an interrupted run leaves no OUT.h5. IN.h5 is never modified.
    """
    exit_cleanly_on_sigterm()
    # Albumentations (and through it torch) loads here, not when `tiaug` starts
    from tqdm import tqdm

    from tiaug.augment import augment_file, load_pipeline, temperature_warnings
    from tiaug.io.h5 import open_thermal
    from tiaug.presets import tiaug_pipeline

    with reported_errors():
        given = {name: value for name, value in flags.items() if value is not None}
        if config is not None:
            if given:
                raise click.UsageError(f"--config replaces the pipeline; drop {', '.join(sorted(given))}")
            pipeline = load_pipeline(config)
        else:
            pipeline = tiaug_pipeline(
                occlusion={k: v for k, v in given.items() if k in OCCLUSION_FLAGS},
                noise={k: v for k, v in given.items() if k in NOISE_FLAGS},
            )
        for warning in temperature_warnings(pipeline):
            click.echo(f"warning: {warning}", err=True)
        with open_thermal(in_path) as reader:
            total = reader.n
        with tqdm(total=total, desc="augment", unit="row", file=sys.stderr, leave=False,
                  disable=None if progress else True) as bar:  # fmt: skip

            def advance(rows_done: int) -> None:
                check_stop()
                bar.update(rows_done - bar.n)

            written = augment_file(in_path, out_path, pipeline, seed=seed, copies=copies,
                                   keep_original=keep_original, workers=workers, batch_size=batch_size,
                                   overwrite=overwrite, compression=None if compression == "none" else compression,
                                   progress=advance)  # fmt: skip
    click.echo(f"wrote {written} rows ({total} input rows x {copies} copies"
               f"{' + originals' if keep_original else ''}, seed {seed}) to {out_path}", err=True)  # fmt: skip
