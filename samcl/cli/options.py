"""Options shared by the samcl commands (errors, stop signals and progress: :mod:`tiaug.cli.common`)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import click

from tiaug.cli.common import batch_size_option as common_batch_size_option

checkpoint_option = click.option(
    "--checkpoint",
    "-c",
    "checkpoint",
    required=True,
    metavar="CKPT",
    type=click.Path(path_type=Path),
    help="A samcl checkpoint (best.pt or last.pt of samcl-train), a run folder (its best.pt is used), or an .onnx "
    "file from samcl-export (onnxruntime, the 'deploy' extra). It holds the model, class names and input "
    "normalisation: nothing else is needed.",
)
device_option = click.option(
    "--device",
    default="auto",
    show_default=True,
    help="auto (the GPU when CUDA is available, else the CPU), cpu, cuda or cuda:N.",
)
amp_option = click.option(
    "--amp/--no-amp",
    default=False,
    show_default=True,
    help="bfloat16 autocast on CUDA (faster, may change a few pixels); ignored on the CPU.",
)


def data_option(metavar: str, help: str, *, required: bool = False, dir_okay: bool = True) -> Callable:
    """``--data``/``-d``: a thermal HDF5 file the command reads, given as a ``Path``."""
    return click.option(
        "--data",
        "-d",
        required=required,
        metavar=metavar,
        type=click.Path(dir_okay=dir_okay, path_type=Path),
        help=help,
    )


def batch_size_option(default: int) -> Callable:
    """``--batch-size``/``-b`` of the inference commands."""
    return common_batch_size_option(
        default, "Images per forward pass (memory stays one batch whatever the input size).", "-b"
    )
