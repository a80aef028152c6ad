"""Options and helpers shared by the samcl commands (error reporting and SIGTERM come from tiaug's CLI)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path

import click

from tiaug.cli._common import check_stop
from tiaug.progress import Progress

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}

checkpoint_option = click.option(
    "--checkpoint",
    "-c",
    "checkpoint",
    required=True,
    metavar="CKPT",
    type=click.Path(path_type=Path),
    help="A samcl checkpoint (best.pt or last.pt of samcl-train), or a run folder (its best.pt is used). "
    "It holds the model, class names and input normalisation: nothing else is needed.",
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


def batch_size_option(default: int) -> Callable:
    return click.option(
        "--batch-size",
        "-b",
        type=click.IntRange(min=1),
        default=default,
        show_default=True,
        help="Images per forward pass (memory stays one batch whatever the input size).",
    )


@contextlib.contextmanager
def image_progress(total: int, desc: str, enabled: bool = True) -> Iterator[Callable[[int], None]]:
    """Progress on stderr (:class:`tiaug.progress.Progress`: a bar on a terminal, one-line records in a log);
    yields ``advance(n_images)``, which also stops on SIGTERM."""
    with Progress(total, desc, unit="img", enabled=enabled) as progress:

        def advance(n: int) -> None:
            check_stop()
            progress.update(n)

        yield advance
