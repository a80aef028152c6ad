"""``tiaug preview``: a PNG grid of thermal images with masks and occluder outlines."""

from __future__ import annotations

from pathlib import Path

import click

from tiaug.cli.common import SEED, command, count_option, overwrite_flag, path_argument

#: Per-row JSON datasets whose "polygon" entries are drawn as occluder outlines.
PARAM_KEYS = ("tiaug/params", "synth/params")


@command(
    "preview",
    examples=(
        "tiaug preview faces_tiaug.h5 --png grid.png",
        "tiaug preview wild.h5 --png wild.png -n 6 --seed 0 --landmarks",
    ),
)
@path_argument("input_path", "IN.h5")
@click.option(
    "--png",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Output PNG (refused if it exists, unless --overwrite).",
)
@count_option(12, "Number of images in the grid.")
@click.option(
    "--seed",
    type=SEED,
    default=None,
    help="Pick the images at random with this seed.  [default: evenly spaced rows]",
)
@click.option("--cols", type=click.IntRange(min=1), default=None, help="Grid columns.  [default: about square]")
@click.option("--masks/--no-masks", default=True, show_default=True, help="Draw mask contours.")
@click.option(
    "--occluders/--no-occluders",
    default=True,
    show_default=True,
    help="Draw the occluder outlines recorded in tiaug/params (and synth/params).",
)
@click.option("--landmarks", is_flag=True, help="Draw the landmarks when the file has them.")
@click.option("--cmap", default="inferno", show_default=True, help="matplotlib colormap.")
@overwrite_flag
def preview(
    input_path: Path,
    png: Path,
    count: int,
    seed: int | None,
    cols: int | None,
    masks: bool,
    occluders: bool,
    landmarks: bool,
    cmap: str,
    overwrite: bool,
) -> None:
    """Draw a grid of images from IN.h5 into a PNG.

    One thermal colour scale (degrees Celsius, with a colour bar) for all images, from the 2nd to the 98th
    percentile of their pixels (hotter or colder occluders take the end colours), contours of the mask
    classes (skin, mouth, eyes, eyebrows, nose) in their colours and, when the file has a `tiaug/params`
    dataset (written by `tiaug augment`; `synth/params` of `tiaug synth --unconstrained` too), the outline of
    every occluder, white and dashed: each row's JSON is searched for dicts with a "polygon" key holding
    [x, y] pixel coordinates. Titles give the row and, for `tiaug augment` outputs, the input row it was made
    from (its `source_index`, "source row N"). IN.h5 is only read.
    """
    import numpy as np  # NumPy and h5py load when the command runs

    from tiaug import plots  # matplotlib loads only when a figure is drawn, not for every `tiaug` call
    from tiaug.io.h5.atomic import check_output_path
    from tiaug.io.h5.reader import open_thermal

    check_output_path(png, overwrite=overwrite, inputs=[input_path])  # before any work
    with open_thermal(input_path) as r:
        k = min(count, r.n)
        if seed is None:
            rows = np.unique(np.linspace(0, r.n - 1, k).round().astype(int))
        else:
            rows = np.sort(np.random.default_rng(seed).choice(r.n, size=k, replace=False))
        batch = r.read_rows(rows.tolist())
        polys = None
        if occluders:
            keys = [key for key in PARAM_KEYS if key in r]
            polys = [
                [p for key in keys for p in plots.find_polygons(r.json_rows(key, int(i), int(i) + 1)[0])] for i in rows
            ]
        titles = [f"row {i}" for i in rows]
        if "source_index" in r:
            src = r.file["source_index"]
            titles = [f"row {i} (source row {int(src[i])})" for i in rows]
        plots.plot_grid(
            batch.images,
            png,
            masks=batch.masks if masks else None,
            polygons=polys,
            landmarks=batch.landmarks if landmarks else None,
            titles=titles,
            classes=r.classes,
            cols=cols,
            cmap=cmap,
            inputs=[input_path],
            overwrite=overwrite,
        )
    click.echo(f"preview of {len(rows)} images written to {png}", err=True)
