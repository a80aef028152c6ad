"""samcl-eval: the table, the JSON of the design, mIoU from a dataset-wide confusion matrix, TiAug robustness,
and every refused input (non-zero exit, a message naming the problem, nothing written, inputs unchanged)."""

from __future__ import annotations

import json
import math

import h5py
import numpy as np
import pytest
import torch

from samcl.artifacts.checkpoint import save_checkpoint
from samcl.cli.eval_cmd import eval_main
from tests.helpers.checkpoints import CLASSES, checkpoint_payload, reference_labels
from tests.helpers.files import listing, sha256
from tests.helpers.processes import run_python
from tiaug.io import create_thermal_h5

ROBUST_NAMES = [
    "occlusion:single",
    "occlusion:dual",
    "occlusion:connected",
    "noise:netd=0.05",
    "noise:netd=0.1",
    "noise:netd=0.2",
]


def _eval_json(invoke, checkpoint, data, out, *extra):
    res = invoke(eval_main, "--checkpoint", checkpoint, "--data", data, "--json", out, "--no-progress", *extra)
    assert res.exit_code == 0, res.output
    return res, json.loads(out.read_text())


def _independent_scores(labels: np.ndarray, masks: np.ndarray, n: int, ignore: int = 255):
    keep = masks != ignore
    t, p = masks[keep].astype(np.int64), labels[keep].astype(np.int64)
    matrix = np.bincount(t * n + p, minlength=n * n).reshape(n, n)
    iou = []
    for c in range(n):
        tp = matrix[c, c]
        denom = matrix[c, :].sum() + matrix[:, c].sum() - tp
        iou.append(tp / denom if denom else math.nan)
    present = [v for v in iou if not math.isnan(v)]
    return matrix, iou, sum(present) / len(present), np.trace(matrix) / matrix.sum()


def test_table_and_json_of_the_design(invoke, checkpoint, test_h5, faces, tmp_path):
    out = tmp_path / "scores.json"
    res, doc = _eval_json(invoke, checkpoint, test_h5, out)
    for name in [*CLASSES, "mIoU", "pixel accuracy"]:
        assert name in res.output
    for key in ("miou", "per_class_iou", "classes", "pixel_accuracy", "num_images", "checkpoint", "data"):
        assert key in doc
    assert 0.0 <= doc["miou"] <= 1.0 and 0.0 <= doc["pixel_accuracy"] <= 1.0
    assert doc["classes"] == CLASSES and len(doc["per_class_iou"]) == len(CLASSES)
    assert all(v is None or 0.0 <= v <= 1.0 for v in doc["per_class_iou"])
    assert doc["num_images"] == len(faces.images) and doc["image_size"] == list(faces.images.shape[1:])
    assert doc["checkpoint"] == str(checkpoint) and doc["data"] == str(test_h5)
    assert doc["pixels"] == faces.masks.size == np.sum(doc["confusion_matrix"])
    assert "robustness" not in doc
    assert doc["miou"] > 0.25  # the trained tiny model finds background and skin at least


def test_miou_equals_an_independent_computation(invoke, checkpoint, test_h5, faces, tmp_path):
    _, doc = _eval_json(invoke, checkpoint, test_h5, tmp_path / "s.json", "--batch-size", "4")  # 4 + 2 rows
    labels = reference_labels(checkpoint, faces.images)
    matrix, iou, miou, accuracy = _independent_scores(labels, faces.masks, len(CLASSES))
    assert doc["confusion_matrix"] == matrix.tolist()
    assert doc["miou"] == pytest.approx(miou, abs=1e-12)
    assert doc["pixel_accuracy"] == pytest.approx(accuracy, abs=1e-12)
    for got, want in zip(doc["per_class_iou"], iou, strict=True):
        assert (got is None and math.isnan(want)) or got == pytest.approx(want, abs=1e-12)


def test_ignored_pixels_are_not_scored(invoke, checkpoint, faces, tmp_path):
    masks = faces.masks.copy()
    masks[:, :4, :] = 255  # top rows unlabelled
    path = tmp_path / "ignore.h5"
    with create_thermal_h5(path, *masks.shape[1:], ignore_index=255) as w:
        w.append(faces.images, masks)
    _, doc = _eval_json(invoke, checkpoint, path, tmp_path / "s.json")
    _, _, miou, _ = _independent_scores(reference_labels(checkpoint, faces.images), masks, len(CLASSES))
    assert doc["pixels"] == int((masks != 255).sum()) and doc["ignore_index"] == 255
    assert doc["miou"] == pytest.approx(miou, abs=1e-12)


def test_tiaug_robustness_is_reported_and_reproducible(invoke, checkpoint, test_h5, tmp_path):
    res, doc = _eval_json(invoke, checkpoint, test_h5, tmp_path / "a.json", "--tiaug-robustness", "-b", "4")
    rows = doc["robustness"]
    assert [r["perturbation"] for r in rows] == ROBUST_NAMES and doc["robustness_seed"] == 0
    for r in rows:
        assert 0.0 <= r["miou"] <= 1.0 and len(r["per_class_iou"]) == len(CLASSES)
        assert r["drop"] == pytest.approx(doc["miou"] - r["miou"], abs=1e-12)
        assert r["perturbation"] in res.output
    assert "drop" in res.output
    # occluders hide the face: the model, which sees skin, must lose some of it
    assert max(r["drop"] for r in rows if r["perturbation"].startswith("occlusion")) > 0.01
    # same seed: same numbers, whatever the batch size
    _, again = _eval_json(invoke, checkpoint, test_h5, tmp_path / "b.json", "--tiaug-robustness", "-b", "1")
    assert again["robustness"] == rows and again["miou"] == doc["miou"]
    # another seed: other occluders
    _, other = _eval_json(
        invoke, checkpoint, test_h5, tmp_path / "c.json", "--tiaug-robustness", "--robustness-seed", "7"
    )
    assert other["robustness_seed"] == 7
    assert [r["miou"] for r in other["robustness"][:3]] != [r["miou"] for r in rows[:3]]


def test_robustness_options(invoke, checkpoint, test_h5, tmp_path):
    args = ["--tiaug-robustness", "--robustness-configuration", "dual", "--robustness-netd", "0.3"]
    _, keep = _eval_json(invoke, checkpoint, test_h5, tmp_path / "k.json", *args)
    assert [r["perturbation"] for r in keep["robustness"]] == ["occlusion:dual", "noise:netd=0.3"]
    _, ignore = _eval_json(invoke, checkpoint, test_h5, tmp_path / "i.json", *args, "--occluded-labels", "ignore")
    assert ignore["robustness"][0]["pixels"] < keep["robustness"][0]["pixels"] == keep["pixels"]
    assert ignore["robustness"][1] == keep["robustness"][1]  # noise rows do not depend on the label policy
    res = invoke(eval_main, "-c", checkpoint, "--data", test_h5, "--robustness-seed", "3")
    assert res.exit_code != 0 and "--tiaug-robustness" in res.output


def test_eval_in_a_subprocess(checkpoint, test_h5, tmp_path):
    helped = run_python("samcl.cli", "eval", "--help")
    assert helped.returncode == 0, helped.stderr
    text = " ".join(helped.stdout.split())
    for words in ("samcl-eval", "degrees Celsius", "per_class_iou", "--tiaug-robustness", "--json OUT.json"):
        assert words in text
    out = tmp_path / "scores.json"
    run_dir = checkpoint.parent  # a samcl-train run folder stands for its best.pt
    done = run_python(
        "samcl.cli", "eval", "--checkpoint", run_dir, "--data", test_h5, "--json", out, "--device", "auto"
    )
    assert done.returncode == 0, done.stderr
    doc = json.loads(out.read_text())
    assert "mIoU" in done.stdout and 0.0 <= doc["miou"] <= 1.0 and doc["checkpoint"] == str(checkpoint)
    bad = run_python("samcl.cli", "eval", "--checkpoint", tmp_path / "nope.pt", "--data", test_h5)
    assert bad.returncode == 1 and "not found" in bad.stderr and "Traceback" not in bad.stderr


# --- refusals -------------------------------------------------------------------------------------------------


def _raw_h5(path, images, masks=None, attrs=None):
    with h5py.File(path, "w") as f:
        f.create_dataset("images", data=images)
        if masks is not None:
            f.create_dataset("masks", data=masks)
        for k, v in {"units": "degC", **(attrs or {})}.items():
            f.attrs[k] = v
    return path


def _bad_case(name, tmp_path, checkpoint, test_h5, faces, trained_state):
    """(checkpoint, data, json path, extra args, words the message must contain) for a refused run."""
    out = tmp_path / "scores.json"
    img, msk = faces.images, faces.masks
    if name == "no_masks":
        return checkpoint, _raw_h5(tmp_path / "x.h5", img), out, [], ["masks", "missing"]
    if name == "labels_beyond_classes":
        bad = msk.copy()
        bad[-1, 3, 3] = 7
        return checkpoint, _raw_h5(tmp_path / "x.h5", img, bad), out, [], ["masks", "7", "outside 0..5"]
    if name == "other_classes":
        renamed = json.dumps(["background", "face", "mouth", "eyes", "eyebrows", "nose"])
        data = _raw_h5(tmp_path / "x.h5", img, msk, {"classes": renamed})
        return checkpoint, data, out, [], ["classes", "differ", "face", "skin"]
    if name == "nan_pixels":
        nan = img.copy()
        nan[2, 5, 5] = np.nan
        return checkpoint, _raw_h5(tmp_path / "x.h5", nan, msk), out, [], ["nan", "row 2"]
    if name == "malformed_h5":
        data = tmp_path / "x.h5"
        data.write_text("not an HDF5 file\n")
        return checkpoint, data, out, [], ["not a readable hdf5"]
    if name == "missing_data":
        return checkpoint, tmp_path / "absent.h5", out, [], ["absent.h5", "not found"]
    if name == "missing_checkpoint":
        return tmp_path / "absent.pt", test_h5, out, [], ["absent.pt", "not found"]
    if name == "malformed_checkpoint":
        ckpt = tmp_path / "garbage.pt"
        ckpt.write_bytes(b"\x00garbage" * 50)
        return ckpt, test_h5, out, [], ["garbage.pt", "not a readable pytorch checkpoint"]
    if name == "foreign_checkpoint":
        ckpt = tmp_path / "foreign.pt"
        torch.save({"state_dict": trained_state}, ckpt)
        return ckpt, test_h5, out, [], ["foreign.pt", "not a samcl checkpoint"]
    if name == "different_model":
        ckpt = tmp_path / "other.pt"
        save_checkpoint(ckpt, checkpoint_payload(trained_state, kwargs={"base_width": 8}))
        return ckpt, test_h5, out, [], ["other.pt", "different model"]
    if name == "unknown_model":
        ckpt = tmp_path / "unknown.pt"
        payload = checkpoint_payload(trained_state)
        payload["model"]["name"] = "resnet_mystery"
        save_checkpoint(ckpt, payload)
        return ckpt, test_h5, out, [], ["unknown.pt", "unknown model", "resnet_mystery"]
    if name == "class_count_mismatch":
        ckpt = tmp_path / "five.pt"
        payload = checkpoint_payload(trained_state)
        payload["classes"] = CLASSES[:5]
        save_checkpoint(ckpt, payload)
        return ckpt, test_h5, out, [], ["five.pt", "6 output classes", "5"]
    if name == "json_exists":
        out.write_text("{}\n")
        return checkpoint, test_h5, out, [], ["already exists", "--overwrite"]
    if name == "json_is_the_data":
        return checkpoint, test_h5, test_h5, ["--overwrite"], ["is the input file"]
    if name == "cuda_without_gpu":
        return checkpoint, test_h5, out, ["--device", "cuda"], ["cuda", "not available"]
    raise AssertionError(name)


BAD = [
    "no_masks",
    "labels_beyond_classes",
    "other_classes",
    "nan_pixels",
    "malformed_h5",
    "missing_data",
    "missing_checkpoint",
    "malformed_checkpoint",
    "foreign_checkpoint",
    "different_model",
    "unknown_model",
    "class_count_mismatch",
    "json_exists",
    "json_is_the_data",
    "cuda_without_gpu",
]


@pytest.mark.parametrize("name", BAD)
def test_refusals(name, invoke, checkpoint, test_h5, faces, trained_state, tmp_path):
    if name == "cuda_without_gpu" and torch.cuda.is_available():
        pytest.skip("a GPU is present")
    ckpt, data, out, extra, words = _bad_case(name, tmp_path, checkpoint, test_h5, faces, trained_state)
    hashes = {p: sha256(p) for p in (ckpt, data, out) if p.is_file()}
    before = listing(tmp_path)
    res = invoke(eval_main, "--checkpoint", ckpt, "--data", data, "--json", out, "--no-progress", *extra)
    assert res.exit_code != 0
    message = " ".join(res.output.lower().split())
    for word in words:
        assert word.lower() in message, (word, res.output)
    assert "Traceback" not in res.output
    assert listing(tmp_path) == before  # no JSON, no temporary file
    assert {p: sha256(p) for p in hashes} == hashes  # inputs (and an existing OUT.json) unchanged
