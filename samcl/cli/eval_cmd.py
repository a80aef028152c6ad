"""``samcl-eval``: per-class IoU, mIoU and pixel accuracy of a checkpoint on a labelled thermal HDF5 file."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import click

from samcl.cli.options import amp_option, batch_size_option, checkpoint_option, data_option, device_option
from samcl.inference.evaluation import DEFAULT_NETD, OCCLUDED_LABELS
from tiaug.cli.common import SEED, FiniteFloat, command, progress_flag
from tiaug.functional.occluded import MaskPolicy
from tiaug.functional.occlusion import CONFIGURATIONS
from tiaug.progress import Progress

ROBUSTNESS_OPTIONS = ("robustness_seed", "robustness_netd", "robustness_configuration", "occluded_labels")


def repeatable_option(flag: str, kind: click.ParamType, default: tuple, help: str) -> Callable:
    """An option given once per value (its values a tuple), ``default`` shown in ``--help``."""
    return click.option(
        flag,
        type=kind,
        multiple=True,
        default=default,
        show_default=True,
        help=f"{help}; repeat the option for several.",
    )


@command(
    "samcl-eval",
    examples=(
        "samcl-eval -c runs/unet/best.pt -d test.h5 --json test.json",
        "samcl-eval -c runs/unet -d test.h5 --tiaug-robustness --robustness-netd 0.1 --robustness-netd 0.2",
    ),
)
@checkpoint_option
@data_option(
    "TEST.h5",
    "Labelled thermal HDF5 file: images float32 (N, H, W) in degrees Celsius, masks uint8 (N, H, W), "
    "attribute classes equal to the checkpoint's. Only read.",
    required=True,
)
@click.option(
    "--json",
    "json_path",
    metavar="OUT.json",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write the scores as JSON (keys below). Refused if it exists, unless --overwrite.",
)
@click.option("--overwrite", is_flag=True, help="Replace OUT.json if it exists.")
@batch_size_option(16)
@device_option
@amp_option
@click.option(
    "--tiaug-robustness",
    is_flag=True,
    help="Also score TiAug-perturbed copies of the test set: each occlusion configuration, then each noise level "
    "(every image perturbed, p = 1), with the mIoU drop from clean.",
)
@click.option(
    "--robustness-seed",
    type=SEED,
    default=0,
    show_default=True,
    help="Seed of the perturbations (row i's draws depend only on it: same seed, same numbers).",
)
@repeatable_option(
    "--robustness-netd",
    FiniteFloat(min=0),
    DEFAULT_NETD,
    "Sensor noise levels: NETD (standard deviation) in degrees Celsius",
)
@repeatable_option(
    "--robustness-configuration", click.Choice(CONFIGURATIONS), CONFIGURATIONS, "Occlusion configurations to score"
)
@click.option(
    "--occluded-labels",
    type=click.Choice(OCCLUDED_LABELS),
    default=OCCLUDED_LABELS[0],
    show_default=True,
    help="Labels under occluders: keep (the face behind counts, as the paper trains) or ignore (not scored).",
)
@progress_flag
@click.pass_context
def eval_main(
    ctx: click.Context,
    checkpoint: Path,
    data: Path,
    json_path: Path | None,
    overwrite: bool,
    batch_size: int,
    device: str,
    amp: bool,
    tiaug_robustness: bool,
    robustness_seed: int,
    robustness_netd: tuple[float, ...],
    robustness_configuration: tuple[str, ...],
    occluded_labels: MaskPolicy,
    progress: bool,
) -> None:
    """Evaluate a segmentation checkpoint on the labelled thermal dataset TEST.h5.

    \b
    Prints the IoU of every class (names from the checkpoint), the mIoU and
    the pixel accuracy. IoU_c = TP_c / (TP_c + FP_c + FN_c) over one confusion
    matrix of the whole dataset; mIoU = the mean over classes (a class absent
    from both the labels and the predictions of the whole file is left out,
    shown n/a). Pixels equal to the file's ignore_index attribute (else the
    checkpoint's ignore index) are not scored. Images are in degrees Celsius.
    \b
    --json OUT.json holds (scores in 0..1, null where undefined):
      miou, per_class_iou (list, class order), pixel_accuracy, pixels,
      classes, num_images, image_size [H, W], ignore_index,
      confusion_matrix [true][predicted], checkpoint, data,
      model {name, kwargs}, device; with --tiaug-robustness also
      robustness_seed and robustness: a list of {perturbation, miou, drop,
      per_class_iou, pixel_accuracy, pixels, params}, perturbation being
      "occlusion:single|dual|connected" or "noise:netd=0.1" and
      drop = clean miou - perturbed miou.
    \b
    TEST.h5 is streamed in batches (memory stays flat) and never modified;
    OUT.json is written whole or not at all. Refused with a message and exit
    status 1: a missing or malformed checkpoint or HDF5 file, a file without
    masks, classes that differ from the checkpoint's, mask values outside
    the classes.
    """
    # torch loads here, not when the command starts (`samcl-eval --help` stays quick)
    from samcl.inference.evaluation import evaluate_file, robustness_perturbations
    from samcl.inference.predictor import load_inference_model, resolve_checkpoint_path
    from tiaug.io import atomic_output, check_output_path

    if not tiaug_robustness:
        given = [
            f"--{n.replace('_', '-')}"
            for n in ROBUSTNESS_OPTIONS
            if ctx.get_parameter_source(n) is not click.core.ParameterSource.DEFAULT
        ]
        if given:
            raise click.UsageError(f"{', '.join(given)} only apply with --tiaug-robustness")
    if json_path is not None:  # refuse before spending time on the evaluation
        inputs = [data, checkpoint, resolve_checkpoint_path(checkpoint)]
        check_output_path(json_path, overwrite=overwrite, inputs=inputs)
    perturbations = (
        robustness_perturbations(robustness_configuration, robustness_netd, occluded_labels) if tiaug_robustness else []
    )
    model = load_inference_model(checkpoint, device=device, amp=amp)
    with Progress(desc="eval", enabled=progress) as bar:
        result = evaluate_file(
            model, data, batch_size=batch_size, perturbations=perturbations, seed=robustness_seed, progress=bar.to
        )
    height, width = result.image_size
    click.echo(f"checkpoint {model.describe()}")
    click.echo(f"data       {data} ({result.num_images} images {height}x{width})")
    click.echo(result.table())
    if json_path is not None:
        text = json.dumps(result.to_json(), indent=2, allow_nan=False) + "\n"
        with atomic_output(json_path, overwrite=overwrite, inputs=inputs) as tmp:
            tmp.write_text(text)
        click.echo(f"scores written to {json_path}", err=True)
