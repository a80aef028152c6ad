"""``samcl-predict``: class masks (PNG), overlays and optionally one HDF5 of masks for thermal images."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from samcl.cli.options import amp_option, batch_size_option, checkpoint_option, device_option
from tiaug.cli.common import command, progress_flag
from tiaug.cli.reader_options import read_options, reader_options
from tiaug.io.readers import folder_files, is_device
from tiaug.progress import Progress

if TYPE_CHECKING:  # torch loads with the model, not with the command (`samcl-predict --help` stays quick)
    from samcl.inference.predictor import Predictor


def is_stream_input(spec: str | Path, fmt: str) -> bool:
    """True for camera inputs (a device, a camera file or recording, a folder holding any): streamed outputs.

    HDF5 and .npy files, and folders of nothing else, keep the whole-or-nothing image path.
    """
    from samcl.inference.files import H5_SUFFIXES, NPY_SUFFIXES  # NumPy loads when the command runs

    if fmt != "auto" or is_device(spec):
        return True
    path = Path(spec)
    if path.is_dir():
        return any(p.suffix.lower() not in NPY_SUFFIXES for p in folder_files(path))
    return path.exists() and path.suffix.lower() not in NPY_SUFFIXES + H5_SUFFIXES


@command(
    "samcl-predict",
    examples=(
        "samcl-predict -c runs/unet/best.pt new_images.h5 --out predictions/",
        "samcl-predict -c runs/unet/best.pt frames/ --out pred/ --h5",
        "samcl-predict -c runs/unet/best.pt recording.seq --out pred/ --every 5",
        "samcl-predict -c runs/unet/best.pt 0 --out live/ --max-frames 250",
    ),
)
@checkpoint_option
@click.argument("input_path", metavar="INPUT")
@click.option(
    "--out",
    "-o",
    "out",
    required=True,
    metavar="DIR",
    type=click.Path(file_okay=False, path_type=Path),
    help="Output folder (created if missing; existing files in it are kept, same names refused without --overwrite).",
)
@click.option(
    "--h5",
    is_flag=True,
    help="Also write DIR/<INPUT stem>_masks.h5: images (copy of the input), predicted masks, source, "
    "source_index (all images must have one size).",
)
@click.option(
    "--overlays/--no-overlays",
    default=None,
    help="Write an overlay PNG per image (about 0.2 s each on a CPU). Default: on for HDF5 and .npy inputs, "
    "off for camera files, recordings and cameras.",
)
@reader_options
@click.option(
    "--every", type=click.IntRange(min=1), default=1, show_default=True, help="Camera inputs: every Nth frame."
)
@click.option(
    "--max-frames", type=click.IntRange(min=1), default=None, help="Camera inputs: stop after this many frames."
)
@click.option(
    "--colour-masks",
    is_flag=True,
    help="Also write <name>_mask_colour.png: the predicted classes in their colours, for the eye (HDF5 and .npy "
    "inputs).",
)
@click.option(
    "--fps",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    help="Frames per second of INPUT: the CSV's timestamp becomes frame / FPS seconds (frame counts every image "
    "of INPUT, across a folder's files in name order).",
)
@click.option(
    "--percentiles",
    metavar="Q,Q,...",
    default=None,
    help="Also these temperature percentiles (0..100) of every class in the CSV, e.g. 5,50,95 (columns "
    "<class>_p5_c, ...).",
)
@click.option("--overwrite", is_flag=True, help="Replace output files of the same names in DIR.")
@batch_size_option(8)
@device_option
@amp_option
@progress_flag
def predict_main(
    checkpoint: Path,
    input_path: Path,
    out: Path,
    h5: bool,
    overlays: bool | None,
    colour_masks: bool,
    fmt: str,
    raw_size,
    raw_dtype: str,
    scale: float | None,
    offset: float | None,
    every: int,
    max_frames: int | None,
    fps: float | None,
    percentiles: str | None,
    overwrite: bool,
    batch_size: int,
    device: str,
    amp: bool,
    progress: bool,
) -> None:
    """Segment the thermal images of INPUT with a checkpoint; write masks, overlays and region temperatures to DIR.

    \b
    INPUT is one of:
      an HDF5 file  images float32 (N, H, W) in degrees Celsius (masks unused)
      a .npy file   float temperatures in degrees Celsius: (H, W) one image,
                    (N, H, W) a stack
      a folder      of .npy and .h5 files (not recursive, in name order)
      camera input  a camera file or recording (FLIR .jpg/.fff/.seq, .tiff,
                    headerless TC001/Lepton/raw frames with --format), a
                    folder holding any, or a UVC camera: 0 or /dev/video0
                    (TOPDON TC001 / InfiRay, read through OpenCV)
    Integer (raw counts), NaN/inf, RGB and empty arrays are refused. Any image
    size works: images are padded to the network's size multiple and the
    masks cropped back.
    \b
    Written to DIR, per image, <name> = <stem> for an (H, W) .npy, else
    <stem>_<row:05d> (stacks and HDF5 rows):
      <name>_mask.png     8-bit greyscale PNG, lossless, pixel value = class
                          index (0 = background, 1 = skin, ...: the
                          checkpoint's classes, printed at the end); the
                          values are so small that an image viewer shows
                          it black: read it as data, or see the overlay
                          or --colour-masks
      <name>_mask_colour.png  with --colour-masks: the classes in colour
      <name>_overlay.png  temperatures (thermal colour map, its colour bar
                          in degrees Celsius, predicted class outlines)
                          beside an opaque map of the predicted classes,
                          legend with class names and pixel shares
    <INPUT stem>_regions.csv  one row per image: source, frame (position
                          in INPUT, across a folder's files), output
                          name, timestamp (frame / --fps seconds, else
                          the file's own where it has one), then per class
                          <class>_pixels, <class>_mean_c, <class>_max_c,
                          <class>_min_c and the --percentiles columns
                          (degrees Celsius)
    With --h5 also <INPUT stem>_masks.h5 of the data contract: images (copy),
    masks (predicted), classes, units degC, source (input file per row),
    source_index (row in that file), attribute samcl/predict.
    \b
    Runs on the GPU when CUDA is available (--device auto), else on the CPU.
    HDF5/.npy inputs: outputs appear only when every image is done; a refused
    input or an interrupted run leaves DIR as it was. Camera inputs are
    streamed (memory: one batch): each batch's files and CSV rows are
    complete when written, Ctrl-C stops after the frames done and keeps their
    outputs (the --h5 file too), and an unreadable file is skipped with its
    name and problem. INPUT is never modified.
    """
    from samcl.inference.files import predict_to_folder  # torch loads when the command runs, not for --help
    from samcl.inference.predictor import load_inference_model
    from samcl.inference.regions import parse_percentiles

    options = read_options(scale, offset, raw_size, raw_dtype)
    quantiles = parse_percentiles(percentiles)
    streamed = is_stream_input(input_path, fmt)
    if streamed and colour_masks:
        raise click.UsageError("--colour-masks is for HDF5 and .npy inputs, not camera inputs")
    model = load_inference_model(checkpoint, device=device, amp=amp)
    click.echo(_mode_line(input_path, streamed, overlays))
    # the outputs' settings, the same for camera inputs and for HDF5/.npy files
    outputs: dict[str, Any] = {
        "h5": h5,
        "overwrite": overwrite,
        "batch_size": batch_size,
        "fps": fps,
        "percentiles": quantiles,
    }
    if streamed:
        reading = {"fmt": fmt, "options": options, "every": every, "max_frames": max_frames}
        _predict_stream(model, input_path, out, progress, overlays=bool(overlays), **reading, **outputs)
        return
    input_path = Path(input_path)
    overlays = True if overlays is None else overlays
    with Progress(desc="predict", enabled=progress) as bar:
        summary = predict_to_folder(
            model, input_path, out, overlays=overlays, colour_masks=colour_masks, progress=bar.to, **outputs
        )
    for message in summary.skipped:
        click.echo(f"skipped {message}", err=True)
    written = [f"{len(summary.masks)} masks"]
    if colour_masks:
        written.append(f"{len(summary.colour_masks)} colour masks")
    if overlays:
        written.append(f"{len(summary.overlays)} overlays")
    if summary.h5:
        written.append(summary.h5)
    skipped = f"; skipped {len(summary.skipped)} file(s) (listed above)" if summary.skipped else ""
    click.echo(f"segmented {summary.images} images with {model.describe()}{skipped}")
    click.echo(f"wrote {', '.join(written)} to {out}")
    _mask_values(model)


def _mode_line(spec: str | Path, streamed: bool, overlays: bool | None) -> str:
    """One line saying how INPUT is read and whether overlays are written (and how to change it)."""
    if streamed:
        shown = "on" if overlays else "off (--overlays to write them, about 0.2 s each)"
        return f"{spec}: camera input, streamed frame by frame; overlays {shown}"
    shown = "off" if overlays is False else "on (--no-overlays to skip them)"
    return f"{spec}: HDF5/.npy images, written when all are done; overlays {shown}"


def _mask_values(model: Predictor) -> None:
    click.echo("mask values: " + ", ".join(f"{i} {name}" for i, name in enumerate(model.classes)))


def _predict_stream(model: Predictor, spec: str | Path, out: Path, progress: bool, **kwargs) -> None:
    """The camera-input path of samcl-predict (``kwargs``: those of :func:`predict_stream`)."""
    from samcl.inference.stream import predict_stream

    with Progress(kwargs["max_frames"], desc="predict", enabled=progress) as bar:
        summary = predict_stream(
            model,
            spec,
            out,
            progress=bar.to,
            on_skip=lambda message: click.echo(f"skipped {message}", err=True),
            **kwargs,
        )
    written = [f"{summary.frames} masks"] + ([f"{summary.frames} overlays"] if kwargs["overlays"] else [])
    written += [name for name in (summary.csv, summary.h5) if name]
    skipped = f"; skipped {len(summary.skipped)} (listed above)" if summary.skipped else ""
    click.echo(f"segmented {summary.frames} frames of {summary.files} source(s) with {model.describe()}{skipped}")
    click.echo(f"wrote {', '.join(written)} to {out}")
    _mask_values(model)
    if summary.interrupted:
        click.echo(f"stopped by {summary.interrupted}: the outputs of the {summary.frames} frames done are complete")
        raise SystemExit(130 if summary.interrupted == "Ctrl-C" else 143)
