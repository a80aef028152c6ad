"""``tiaug synth``: write synthetic thermal faces to an HDF5 file."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from tiaug import __version__
from tiaug.cli.common import (
    SEED,
    batch_size_option,
    command,
    count_option,
    h5_output_options,
    progress_flag,
    size_option,
)
from tiaug.progress import progress_bar
from tiaug.synth.names import CONDITIONS

if TYPE_CHECKING:
    from tiaug.io.h5.writer import ThermalH5Writer
    from tiaug.synth import SyntheticFace


@command(
    "synth",
    examples=(
        "tiaug synth faces.h5 -n 500 --size 256x320 --seed 0",
        "tiaug synth wild.h5 -n 200 --unconstrained --seed 1",
        "tiaug synth glasses.h5 -n 200 --condition glasses --compression blosc2-zstd",
    ),
)
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
@count_option(100, "Number of faces.", metavar="COUNT")
@click.option(
    "--size",
    "size",
    default="256x320",
    show_default=True,
    callback=size_option,
    help="Image size HxW in pixels (height x width).",
)
@click.option(
    "--seed",
    type=SEED,
    default=0,
    show_default=True,
    help="Random seed; face i is the same for a given seed whatever -n is.",
)
@click.option(
    "--unconstrained",
    is_flag=True,
    help="Add real-world conditions: eyeglasses, a hand or cup, hair over the forehead, a face mask "
    "or scarf, hot rooms, cold outdoor scenes. Masks keep the true face regions under occluders.",
)
@click.option(
    "--condition",
    type=click.Choice(CONDITIONS),
    help="Give every face this one real-world condition alone (implies --unconstrained; the same seed gives "
    "the same faces as without it), for per-condition test sets.",
)
@h5_output_options
@batch_size_option(64, "Faces generated and written per batch (memory stays one batch).")
@progress_flag
def synth(
    out: Path,
    count: int,
    size: tuple[int, int],
    seed: int,
    unconstrained: bool,
    condition: str | None,
    overwrite: bool,
    compression: str,
    batch_size: int,
    progress: bool,
) -> None:
    """Write COUNT synthetic thermal faces to OUT (HDF5).

    \b
    OUT holds:
      images     float32 (N, H, W)  temperatures in degrees Celsius (attr units="degC")
      masks      uint8   (N, H, W)  0 background, 1 skin, 2 mouth, 3 eyes, 4 eyebrows, 5 nose (attr classes)
      landmarks  float32 (N, 68, 2) iBUG-68 points as (x, y) = (column, row) pixels
      synth/params  one JSON string per face: shape, pose, temperatures, conditions, occluder polygons

    Physiology: skin about 33-35 C, inner eye corners the warmest (35-37 C), nose tip 1-4 C cooler than the
    cheeks, cooler eyebrows and hair, warm lips; rooms 18-28 C (with --unconstrained: hot rooms up to 4 C
    above the skin, cold outdoor scenes of -5 to 12 C); about 1 px optical blur and 0.02-0.08 C sensor
    noise. OUT is written to a temporary file and renamed when complete; an existing OUT is refused without
    --overwrite.
    """
    from tiaug.io.h5.writer import JSON, create_thermal_h5  # h5py loads when the command runs
    from tiaug.synth import CLASSES, iter_faces

    h, w = size
    attrs = {
        "tiaug/synth": {
            "version": __version__,
            "count": count,
            "size": [h, w],
            "seed": seed,
            "unconstrained": unconstrained or condition is not None,
            "condition": condition,
        },
        "landmarks_format": "iBUG-68, (x, y) pixels, pixel centres at integers",
    }
    with (
        create_thermal_h5(
            out,
            h,
            w,
            overwrite=overwrite,
            landmarks=68,
            classes=CLASSES,
            compression=compression,
            attrs=attrs,
        ) as writer,
    ):
        writer.add_column("synth/params", JSON)
        faces = progress_bar(
            iter_faces(count, h, w, seed, unconstrained, condition=condition),
            total=count,
            desc="synth",
            enabled=progress,
        )
        batch: list = []
        for face in faces:
            batch.append(face)
            if len(batch) == batch_size:
                _flush(writer, batch)
        _flush(writer, batch)
    click.echo(f"wrote {count} synthetic thermal faces ({h}x{w}, seed {seed}) to {out}", err=True)


def _flush(writer: ThermalH5Writer, batch: list[SyntheticFace]) -> None:
    """Append the collected faces to the file and empty the list."""
    if not batch:
        return
    import numpy as np

    writer.append(
        np.stack([f.image for f in batch]),
        np.stack([f.mask for f in batch]),
        np.stack([f.landmarks for f in batch]),
        {"synth/params": [f.params for f in batch]},
    )
    batch.clear()
