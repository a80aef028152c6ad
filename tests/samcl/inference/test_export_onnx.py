"""samcl-export: a self-describing ONNX model that agrees with PyTorch; eval and predict take it like a checkpoint;
damaged, foreign or file-reading .onnx files and a missing 'deploy' extra give one line and write nothing."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest
from click.testing import CliRunner

from samcl.cli.eval_cmd import eval_main
from samcl.cli.export_cmd import export_main
from samcl.cli.predict_cmd import predict_main
from samcl.inference.export import config_hash
from samcl.inference.files import read_mask_png
from samcl.inference.predictor import load_inference_model
from tests.helpers.checkpoints import CLASSES, NORMALIZATION, reference_labels
from tests.helpers.files import listing, sha256

onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")


def _invoke(command, *args):
    return CliRunner().invoke(command, [str(a) for a in args])


def _one_error(res, *words: str) -> None:
    assert res.exit_code == 1, res.output
    errors = [line for line in res.output.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and "Traceback" not in res.output, res.output
    for word in words:
        assert word in errors[0], (word, errors[0])


@pytest.fixture
def exported(tmp_path, checkpoint, test_h5):
    out = tmp_path / "model.onnx"
    res = _invoke(export_main, "-c", checkpoint, out, "--data", test_h5)
    assert res.exit_code == 0, res.output
    return out


def test_export_reports_agreement_and_writes_self_describing_metadata(exported, checkpoint, faces):
    props = {p.key: json.loads(p.value) for p in onnx.load(str(exported)).metadata_props if p.key.startswith("samcl.")}
    assert props["samcl.classes"] == CLASSES
    assert props["samcl.normalization"] == {**NORMALIZATION, "mode": "dataset"}
    assert props["samcl.model"]["name"] == "unet" and props["samcl.model"]["kwargs"] == {"base_width": 4}
    assert props["samcl.config_sha256"] == config_hash({})
    assert props["samcl.precision"] == "fp32" and props["samcl.size_multiple"] == 16
    assert props["samcl.check"]["mask_agreement"] >= 0.995
    assert props["samcl.check"]["max_logit_difference"] < 1e-3


@pytest.mark.parametrize("shape", [(3, 32, 40), (1, 48, 80), (2, 17, 23)])
def test_onnx_predictions_match_pytorch_at_any_batch_and_frame_size(exported, checkpoint, shape):
    frames = np.random.default_rng(1).normal(30, 4, shape).astype(np.float32)
    runtime = load_inference_model(exported, device="cpu")
    agreement = np.mean(runtime.predict(frames) == reference_labels(checkpoint, frames))
    assert agreement >= 0.995


def test_eval_and_predict_take_the_onnx_file(exported, checkpoint, test_h5, faces, tmp_path):
    scores = {}
    for name, model in (("pt", checkpoint), ("onnx", exported)):
        res = _invoke(eval_main, "-c", model, "--data", test_h5, "--json", tmp_path / f"{name}.json", "--no-progress")
        assert res.exit_code == 0, res.output
        scores[name] = json.loads((tmp_path / f"{name}.json").read_text())["miou"]
    assert scores["onnx"] == pytest.approx(scores["pt"], abs=1e-3)
    out = tmp_path / "pred"
    res = _invoke(predict_main, "-c", exported, test_h5, "--out", out, "--no-overlays", "--no-progress")
    assert res.exit_code == 0, res.output
    expected = reference_labels(checkpoint, faces.images)
    masks = np.stack([read_mask_png(out / f"test_{k:05d}_mask.png") for k in range(len(faces.images))])
    assert np.mean(masks == expected) >= 0.995


def test_int8_export_reports_what_it_costs(tmp_path, checkpoint, test_h5):
    out = tmp_path / "int8.onnx"
    res = _invoke(export_main, "-c", checkpoint, out, "--int8", "--data", test_h5)
    assert res.exit_code == 0, res.output
    assert "int8" in res.output and "mIoU on those frames' labels" in res.output
    props = {p.key: json.loads(p.value) for p in onnx.load(str(out)).metadata_props if p.key.startswith("samcl.")}
    assert props["samcl.precision"] == "int8"
    assert any(node.op_type == "QuantizeLinear" for node in onnx.load(str(out)).graph.node)
    assert props["samcl.check"]["mask_agreement"] > 0.9


def _external_data_copy(exported, tmp_path):
    """The exported model with its first initializer pointing at a local file (as a hostile model would)."""
    proto = onnx.load(str(exported))
    tensor = proto.graph.initializer[0]
    tensor.ClearField("raw_data")
    tensor.data_location = onnx.TensorProto.EXTERNAL
    entry = tensor.external_data.add()
    entry.key, entry.value = "location", "/etc/hostname"
    path = tmp_path / "external.onnx"
    path.write_bytes(proto.SerializeToString())
    return path


@pytest.mark.parametrize("case", ["truncated", "foreign", "external_data"])
def test_damaged_or_refused_onnx_gives_one_line_and_writes_nothing(exported, tmp_path, test_h5, case):
    if case == "truncated":
        bad = tmp_path / "truncated.onnx"
        bad.write_bytes(exported.read_bytes()[:300])
        words = ["not a readable ONNX file"]
    elif case == "foreign":
        proto = onnx.load(str(exported))
        del proto.metadata_props[:]
        bad = tmp_path / "foreign.onnx"
        bad.write_bytes(proto.SerializeToString())
        words = ["not exported by samcl-export"]
    else:
        bad = _external_data_copy(exported, tmp_path)
        words = ["external file", "refused"]
    before = sha256(test_h5)
    res = _invoke(eval_main, "-c", bad, "--data", test_h5, "--json", tmp_path / "s.json", "--no-progress")
    _one_error(res, str(bad), *words)
    res = _invoke(predict_main, "-c", bad, test_h5, "--out", tmp_path / "pred", "--no-progress")
    _one_error(res, str(bad), *words)
    assert not (tmp_path / "s.json").exists() and not (tmp_path / "pred").exists()
    assert sha256(test_h5) == before


def test_missing_deploy_extra_is_one_line(exported, tmp_path, test_h5, checkpoint, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # import onnxruntime now raises ImportError
    res = _invoke(predict_main, "-c", exported, test_h5, "--out", tmp_path / "pred", "--no-progress")
    _one_error(res, "deploy", "pip install")
    res = _invoke(export_main, "-c", checkpoint, tmp_path / "new.onnx")
    _one_error(res, "deploy")
    assert listing(tmp_path) == sorted(["ckpt", "ckpt/best.pt", "data", "data/test.h5", "model.onnx"])


def test_export_refuses_an_existing_output_and_a_bad_checkpoint(exported, tmp_path, test_h5):
    before = sha256(exported)
    res = _invoke(export_main, "-c", test_h5, tmp_path / "x.onnx")
    _one_error(res, "checkpoint")
    res = _invoke(export_main, "-c", tmp_path / "ckpt" / "best.pt", exported)
    _one_error(res, "exists", "--overwrite")
    assert sha256(exported) == before and not (tmp_path / "x.onnx").exists()
