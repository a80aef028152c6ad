"""``tiaug stats``: foreground/background temperature statistics and box plots (the poster's analysis)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from tiaug.cli.common import batch_size_option, command, progress_flag
from tiaug.progress import Progress


@command(
    "stats",
    examples=(
        "tiaug stats faces.h5 faces_tiaug.h5 --png stats.png",
        "tiaug stats faces.h5 --label lab --json stats.json",
    ),
)
@click.argument("inputs", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--png",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write box plots to this PNG, one group per input file (refused if it exists, unless --overwrite).",
)
@click.option(
    "--json",
    "json_out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write the summary table as JSON (refused if it exists, unless --overwrite).",
)
@click.option(
    "--label",
    "labels",
    multiple=True,
    help="Name of each input in the table and plot (repeat once per input).  [default: file names]",
)
@batch_size_option(64, "Images read per batch (memory stays one batch).")
@click.option("--overwrite", is_flag=True, help="Replace the PNG and JSON outputs if they exist.")
@progress_flag
def stats(
    inputs: tuple[Path, ...],
    png: Path | None,
    json_out: Path | None,
    labels: tuple[str, ...],
    batch_size: int,
    overwrite: bool,
    progress: bool,
) -> None:
    """Compare face and background temperatures in one or more HDF5 files with masks.

    For every image: the mean temperature (degrees Celsius) of the foreground (mask > 0, the face) and of
    the background (mask == 0); means, not medians, so that an occluder over less than half of the face
    still shows. The table gives, per file, the median over images of these means (fg mean C, bg mean C),
    of their difference (fg-bg C) and its interquartile range, the fraction of images whose face is warmer,
    the fraction of face pixels colder than their image's background mean, and the 5th..95th percentiles
    of the face pixels. On lab data the face is warmer in nearly every image; after TiAug the relation is
    more diverse. Give two files (e.g. before and after `tiaug augment`) to see them side by side; --png
    draws the box plots. Input files are only read.
    """
    from tiaug.analysis import fg_bg_stats, format_table  # NumPy and h5py load when the command runs
    from tiaug.io.h5.atomic import atomic_output, check_output_path

    if labels and len(labels) != len(inputs):
        raise click.BadParameter(f"got {len(labels)} --label for {len(inputs)} inputs", param_hint="--label")
    outputs = [p for p in (json_out, png) if p is not None]
    if json_out is not None and png is not None and json_out.absolute() == png.absolute():
        raise click.BadParameter("--json and --png must be different files", param_hint="--json")
    for out in outputs:  # before any work
        check_output_path(out, overwrite=overwrite, inputs=inputs)
    results = []
    for i, path in enumerate(inputs):
        label = labels[i] if labels else path.name
        with Progress(desc=f"stats {path.name}", unit="batch", enabled=progress) as bar:
            results.append(fg_bg_stats(path, batch_size=batch_size, label=label, progress=bar.to))
    click.echo(format_table(results))
    if json_out is not None:
        with atomic_output(json_out, overwrite=overwrite, inputs=inputs) as tmp:
            tmp.write_text(json.dumps([r.summary() for r in results], indent=2))
    if png is not None:
        from tiaug.plots import plot_fg_bg  # matplotlib loads only when a figure is drawn

        plot_fg_bg(results, png, inputs=inputs, overwrite=overwrite)
        click.echo(f"box plots written to {png}", err=True)
