"""The Python API: load_predictor on (H, W) and (N, H, W) frames of any size, the padding helpers, and save_model
for one's own network (a registry network as .pt, any module as .onnx) that samcl-eval and samcl-predict accept."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from torch import nn

import samcl
from samcl.cli.eval_cmd import eval_main
from samcl.cli.predict_cmd import predict_main
from samcl.inference.files import read_mask_png
from samcl.models import build_model
from tests.samcl_cli.conftest import CLASSES, NORMALIZATION, reference_labels


@pytest.mark.parametrize("shape", [(30, 45), (3, 30, 45), (1, 120, 160)])
def test_load_predictor_takes_a_frame_or_a_stack_of_any_size(checkpoint, shape):
    frames = np.random.default_rng(0).normal(30, 4, shape).astype(np.float32)
    masks = samcl.load_predictor(checkpoint, device="cpu").predict(frames)
    assert masks.shape == shape and masks.dtype == np.uint8
    stack = frames if frames.ndim == 3 else frames[None]
    np.testing.assert_array_equal(masks.reshape(stack.shape), reference_labels(checkpoint, stack))


def test_load_predictor_refuses_other_shapes(checkpoint):
    with pytest.raises(ValueError, match=r"\(H, W\) frame or an \(N, H, W\) stack"):
        samcl.load_predictor(checkpoint, device="cpu").predict(np.zeros((2, 2, 32, 32), np.float32))


@pytest.mark.parametrize("kind", ["numpy", "torch"])
@pytest.mark.parametrize("size", [(120, 160), (17, 5), (64, 48)])
def test_pad_frames_meets_the_size_rule_and_crops_back(kind, size):
    frames = np.random.default_rng(1).normal(30, 4, (2, *size)).astype(np.float32)
    data = frames if kind == "numpy" else torch.from_numpy(frames)
    padded = samcl.pad_frames(data, 16, 16)
    assert tuple(padded.shape[-2:]) == samcl.padded_size(*size, 16, 16)
    assert all(side % 16 == 0 and side >= 16 for side in padded.shape[-2:])
    np.testing.assert_array_equal(np.asarray(samcl.crop_frames(padded, *size)), frames)
    model = build_model("unet", 6, base_width=2).eval()
    with torch.no_grad():
        assert model(torch.as_tensor(padded)[:, None]).shape[-2:] == padded.shape[-2:]


class _OwnNet(nn.Module):
    """A network outside the registry: two convolutions, any frame size."""

    size_multiple = 4
    min_size = 4

    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, len(CLASSES), 1))

    def forward(self, x):
        return self.body(x)


def test_save_model_pt_of_a_registry_network_is_accepted_by_samcl_eval(tmp_path, trained_state, test_h5, checkpoint):
    net = build_model("unet", len(CLASSES), base_width=4)
    net.load_state_dict(trained_state)
    path = samcl.save_model(
        tmp_path / "mine.pt", net, name="unet", kwargs={"base_width": 4}, classes=CLASSES, normalization=NORMALIZATION
    )
    scores = {}
    for label, model in (("mine", path), ("reference", checkpoint)):
        res = CliRunner().invoke(eval_main, ["-c", str(model), "--data", str(test_h5), "--json", str(tmp_path / label)])
        assert res.exit_code == 0, res.output
        scores[label] = json.loads((tmp_path / label).read_text())["miou"]
    assert scores["mine"] == scores["reference"]


def test_save_model_pt_refuses_weights_of_another_network(tmp_path, trained_state):
    net = build_model("unet", len(CLASSES), base_width=4)
    with pytest.raises(ValueError, match="weights do not fit"):
        samcl.save_model(tmp_path / "x.pt", net, name="unet", classes=CLASSES, normalization=NORMALIZATION)
    assert not (tmp_path / "x.pt").exists()


def test_save_model_onnx_of_any_module_runs_in_samcl_predict(tmp_path):
    pytest.importorskip("onnxruntime")
    torch.manual_seed(0)
    net = _OwnNet()
    path = samcl.save_model(tmp_path / "own.onnx", net, classes=CLASSES, normalization=NORMALIZATION)
    frames = np.random.default_rng(2).normal(30, 4, (2, 30, 42)).astype(np.float32)
    np.save(tmp_path / "frames.npy", frames)
    out = tmp_path / "pred"
    res = CliRunner().invoke(predict_main, ["-c", str(path), str(tmp_path / "frames.npy"), "--out", str(out)])
    assert res.exit_code == 0, res.output
    with torch.no_grad():
        x = (torch.from_numpy(frames) - NORMALIZATION["mean"]) / NORMALIZATION["std"]
        expected = net(samcl.pad_frames(x, 4, 4)[:, None])[..., :30, :42].argmax(1).numpy()
    for k in range(2):
        assert np.mean(read_mask_png(out / f"frames_{k:05d}_mask.png") == expected[k]) > 0.999
    assert samcl.load_predictor(path).predict(frames[0]).shape == (30, 42)
