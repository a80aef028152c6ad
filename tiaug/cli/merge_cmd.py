"""``tiaug merge``: several thermal HDF5 files (e.g. imports of several sessions) into one."""

from __future__ import annotations

from pathlib import Path

import click

from tiaug.cli.common import command, h5_output_options


@command(
    "merge",
    examples=(
        "tiaug merge lab_a.h5 lab_b.h5 lab.h5",
        "tiaug merge train_a.h5 train_b.h5 train_c.h5 train.h5 --compression blosc2-zstd",
    ),
)
@click.argument(
    "files", nargs=-1, required=True, metavar="A.h5 B.h5 [...] OUT.h5", type=click.Path(dir_okay=False, path_type=Path)
)
@h5_output_options
def merge(files: tuple[Path, ...], overwrite: bool, compression: str) -> None:
    """Write the rows of A.h5, B.h5, ... (in that order) to OUT.h5, images in degrees Celsius.

    \b
    The inputs must share the image size, class names and ignore index, and have masks in all
    or none. OUT.h5 records each row's source_file (the input's name) and source_index (its row
    there); landmarks are kept when every input has the same number of them, other per-row
    datasets are left out. Every input is checked as it is read (NaN pixels, bad labels);
    OUT.h5 is written whole or not at all and the inputs are only read.
    """
    from tiaug.io.importers.merge import merge_h5  # h5py loads when the command runs

    if len(files) < 3:
        raise click.UsageError("give at least two input files and the output file: tiaug merge A.h5 B.h5 OUT.h5")
    *inputs, out = files
    counts = merge_h5(inputs, out, overwrite=overwrite, compression=compression)
    sources = ", ".join(f"{name}: {rows}" for name, rows in counts.items())
    click.echo(f"wrote {sum(counts.values())} rows to {out} ({sources})", err=True)
