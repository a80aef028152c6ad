"""The training-step benchmark runs end to end (tiny sizes; no timing is asserted)."""

import importlib.util
import json
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_train_step.py"


def test_bench_train_step_runs_and_writes_json(tmp_path, capsys):
    spec = importlib.util.spec_from_file_location("bench_train_step", BENCH)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
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
    path = BENCH.parent / "bench_predict_stream.py"
    spec = importlib.util.spec_from_file_location("bench_predict_stream", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
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
    assert 0 < data["gflop"]["live"] < 0.01
    assert "| live | onnxruntime fp32 |" in capsys.readouterr().out
