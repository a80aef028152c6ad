"""``samcl-predict``: class masks (PNG), overlays and optionally one HDF5 of masks for thermal images."""

from __future__ import annotations

from pathlib import Path

import click

from samcl.cli._common import CONTEXT, amp_option, batch_size_option, checkpoint_option, device_option, image_progress
from tiaug.cli._common import exit_cleanly_on_sigterm, progress_flag, reported_errors


@click.command("samcl-predict", context_settings=CONTEXT)
@checkpoint_option
@click.argument("input_path", metavar="INPUT", type=click.Path(path_type=Path))
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
    default=True,
    show_default=True,
    help="Write an overlay PNG per image (about 0.2 s each on a CPU).",
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
    overlays: bool,
    overwrite: bool,
    batch_size: int,
    device: str,
    amp: bool,
    progress: bool,
) -> None:
    """Segment the thermal images of INPUT with a checkpoint; write masks and overlays to DIR.

    \b
    INPUT is one of:
      an HDF5 file  images float32 (N, H, W) in degrees Celsius (masks unused)
      a .npy file   float temperatures in degrees Celsius: (H, W) one image,
                    (N, H, W) a stack
      a folder      of .npy and .h5 files (not recursive, in name order)
    Integer (raw counts), NaN/inf, RGB and empty arrays are refused. Any image
    size works: images are padded to the network's size multiple and the
    masks cropped back.
    \b
    Written to DIR, per image, <name> = <stem> for an (H, W) .npy, else
    <stem>_<row:05d> (stacks and HDF5 rows):
      <name>_mask.png     8-bit greyscale PNG, lossless, pixel value = class
                          index (0 = background, 1 = skin, ...: the
                          checkpoint's classes, printed at the end)
      <name>_overlay.png  temperatures (thermal colour map, colour bar in
                          degrees Celsius) beside the predicted classes
                          blended in, legend with each class's pixel share
    With --h5 also <INPUT stem>_masks.h5 of the data contract: images (copy),
    masks (predicted), classes, units degC, source (input file per row),
    source_index (row in that file), attribute samcl/predict.
    \b
    Runs on the GPU when CUDA is available (--device auto), else on the CPU.
    Outputs appear only when every image is done: a refused input or an
    interrupted run leaves DIR as it was. INPUT is never modified.
    """
    exit_cleanly_on_sigterm()
    # torch loads here, not when the command starts (`samcl-predict --help` stays quick)
    from samcl.prediction import find_sources, predict_to_folder
    from samcl.runtime import load_inference_model

    with reported_errors():
        model = load_inference_model(checkpoint, device=device, amp=amp)
        total = sum(s.count for s in find_sources(input_path))
        with image_progress(total, "predict", progress) as advance:
            summary = predict_to_folder(
                model,
                input_path,
                out,
                h5=h5,
                overlays=overlays,
                overwrite=overwrite,
                batch_size=batch_size,
                progress=advance,
            )
    written = [f"{len(summary.masks)} masks"]
    if overlays:
        written.append(f"{len(summary.overlays)} overlays")
    if summary.h5:
        written.append(summary.h5)
    click.echo(f"segmented {summary.images} images with {model.describe()}")
    click.echo(f"wrote {', '.join(written)} to {out}")
    click.echo("mask values: " + ", ".join(f"{i} {name}" for i, name in enumerate(model.classes)))
