"""Options and helpers shared by the samcl commands (error reporting and SIGTERM come from tiaug's CLI)."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import click

from tiaug.cli._common import check_stop

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
    """A tqdm bar on stderr (shown on a terminal only); yields ``advance(n_images)``, which also stops on SIGTERM."""
    from tqdm import tqdm

    with tqdm(
        total=total,
        desc=desc,
        unit="img",
        file=sys.stderr,
        dynamic_ncols=True,
        leave=False,
        disable=None if enabled else True,
    ) as bar:

        def advance(n: int) -> None:
            check_stop()
            bar.update(n)

        yield advance
