"""``tiaug import-video``: a camera recording to an HDF5 of frames in degrees Celsius."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from tiaug.cli.common import command, h5_output_options, path_argument, progress_flag, size_option
from tiaug.cli.reader_options import read_options, reader_options, with_format_listing
from tiaug.progress import Progress


@command(
    "import-video",
    examples=(
        "tiaug import-video recording.seq rec.h5 --every 5",
        "tiaug import-video tc001.bin tc001.h5 --format tc001 --max-frames 100",
        "tiaug import-video dump.raw dump.h5 --format raw --raw-size 120x160 --scale 0.04 --offset -273.15",
    ),
)
@with_format_listing
@path_argument("recording", "RECORDING")
@path_argument("out", "OUT.h5")
@click.option(
    "--every", metavar="N", type=click.IntRange(min=1), default=1, show_default=True, help="Keep every Nth frame."
)
@click.option("--start", type=click.IntRange(min=0), default=0, show_default=True, help="First frame to keep.")
@click.option("--max-frames", type=click.IntRange(min=1), default=None, help="Keep at most this many frames.")
@click.option("--crop", callback=size_option, metavar="HxW", help="Cut the central HxW window of each frame.")
@click.option("--resize", callback=size_option, metavar="HxW", help="Then resize each frame to HxW pixels.")
@reader_options
@h5_output_options
@progress_flag
def import_video_cmd(
    recording: Path,
    out: Path,
    resize: tuple[int, int] | None,
    scale: float | None,
    offset: float | None,
    raw_size: tuple[int, int] | None,
    raw_dtype: str,
    progress: bool,
    **arguments: Any,
) -> None:
    """Import every Nth frame of RECORDING into OUT.h5 (images float32 (N, H, W), degrees Celsius).

    \b
    RECORDING is one file of frames (--format auto tells them by content and name):
    {formats}
    \b
    Frames are read and written one at a time (memory stays one frame). A file
    cut short, a wrong --raw-size or a bad frame is refused with its frame number.
    Each row records source_file, frame_index and source_meta (JSON: format, camera,
    emissivity, timestamp where the file has them). OUT.h5 is written whole or not at
    all (Ctrl-C leaves none); RECORDING is only read.
    """
    from tiaug.io.importers.video import import_video  # the readers load when the command runs

    with Progress(desc="import-video", unit="frame", enabled=progress) as bar:
        options = read_options(scale, offset, raw_size, raw_dtype)
        # every, start, max_frames, crop, fmt, overwrite, compression: import_video's arguments of the same names
        result = import_video(recording, out, options=options, size=resize, progress=bar.to, **arguments)
    for path, n in result.items():
        click.echo(f"wrote {n} frames to {path}", err=True)
