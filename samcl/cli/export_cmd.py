"""``samcl-export``: a checkpoint to a self-describing ONNX model, checked against PyTorch."""

from __future__ import annotations

from pathlib import Path

import click

from samcl.cli.options import checkpoint_option, data_option
from tiaug.cli.common import command, path_argument


@command(
    "samcl-export",
    examples=(
        "samcl-export -c runs/live/best.pt live.onnx",
        "samcl-export -c runs/live/best.pt live-int8.onnx --int8 --data train.h5 --frames 64",
    ),
)
@checkpoint_option
@path_argument("out", "OUT.onnx")
@click.option(
    "--int8",
    is_flag=True,
    help="Quantise to int8 (onnxruntime static quantisation, calibrated on the frames below); reports the mIoU "
    "it costs on them.",
)
@data_option(
    "FRAMES.h5",
    "Thermal HDF5 whose first frames check the export (and calibrate --int8).  [default: the checkpoint's "
    "training file if it is still there, else synthetic faces at the training size]",
    dir_okay=False,
)
@click.option(
    "--frames",
    type=click.IntRange(1, 4096),
    default=32,
    show_default=True,
    help="How many frames check (and calibrate) the export.",
)
@click.option("--overwrite", is_flag=True, help="Replace OUT.onnx if it exists.")
def export_main(checkpoint: Path, out: Path, int8: bool, data: Path | None, frames: int, overwrite: bool) -> None:
    """Export a samcl checkpoint to OUT.onnx for onnxruntime (the 'deploy' extra).

    \b
    The ONNX graph maps normalised frames (N, 1, H, W) float32 to logits
    (N, C, H, W); N, H and W are dynamic (H, W multiples of the network's
    size_multiple). Its metadata (samcl.* keys, JSON) holds the classes, the
    input normalisation, the model's name and arguments, the size rule, the
    training configuration's SHA-256, the precision and the export's check.
    samcl-eval, samcl-predict and samcl.load_predictor take the file wherever
    they take a checkpoint.
    \b
    After export the model runs in onnxruntime beside PyTorch on the frames:
    the largest logit difference and the share of pixels whose class agrees
    are printed (with mIoU on the frames' labels when they have masks). An
    fp32 export agreeing on fewer than 99.5% of pixels is refused. OUT.onnx is
    written whole or not at all; the checkpoint is only read.
    """
    from samcl.inference.export import export_onnx  # torch and onnx load when the command runs

    report = export_onnx(checkpoint, out, int8=int8, data=data, frames=frames, overwrite=overwrite)
    for line in report.lines():
        click.echo(line)
