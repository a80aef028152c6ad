"""The training-step benchmark runs end to end (tiny sizes; no timing is asserted)."""

import json

import pytest

from tests.helpers.benchmarks import load_benchmark


def test_bench_train_step_runs_and_writes_json(tmp_path, capsys):
    mod = load_benchmark("bench_train_step")
    out = tmp_path / "bench.json"
    args = [
        "--batch-size",
        "2",
        "--height",
        "32",
        "--width",
        "48",
        "--base-width",
        "2",
        "--warmup",
        "0",
        "--repeats",
        "2",
        "--json",
    ]
    result = mod.main([*args, str(out)])
    data = json.loads(out.read_text())
    assert set(data["median_ms"]) == {"base", "base+samcl"}
    assert data["median_ms"] == result["median_ms"]
    assert "| configuration |" in capsys.readouterr().out


def test_bench_predict_stream_runs_and_writes_json(tmp_path, capsys):
    pytest.importorskip("onnxruntime")
    mod = load_benchmark("bench_predict_stream")
    out = tmp_path / "stream.json"
    args = ["--frames", "3", "--warmup", "1", "--height", "32", "--width", "48", "--models", "live", "--threads", "1"]
    args += ["--runtimes", "pytorch", "onnxruntime fp32", "--stream-frames", "12", "--json", str(out)]
    result = mod.main(args)
    data = json.loads(out.read_text())
    names = {"live | pytorch", "live | onnxruntime fp32"}
    assert set(data["chain"]) == names == set(result["chain"]) == set(data["predict_path"])
    row = data["chain"]["live | onnxruntime fp32"]
    assert set(row["steps_median_ms"]) == {"read", "normalise", "network", "argmax", "statistics"}
    assert row["min_ms"] <= row["median_ms"] <= row["p99_ms"]
    assert 0 < data["gflop"]["live"] < mod.gflop_per_frame("unet", {"base_width": 16}, 32, 48) / 3
    assert "| live | onnxruntime fp32 |" in capsys.readouterr().out
