"""The robustness benchmark's statistics and report (benchmarks/robustness_report.py), on made-up runs."""

from __future__ import annotations

import argparse
import json
import math

import pytest

from tests.helpers.benchmarks import load_benchmark

robustness = load_benchmark("robustness")
report = load_benchmark("robustness_report")


def test_plateau_trend_is_the_fitted_change_over_the_last_third():
    iters = 3000
    rising = [(s, 0.5 + s * 1e-5) for s in range(250, 3001, 250)]  # +1e-5 per step: 1 point per 1000 steps
    assert report.plateau_trend(rising, iters) == pytest.approx(1.0)
    noisy_flat = [(s, 0.8 + (0.02 if s == 2500 else 0.0)) for s in range(250, 3001, 250)]
    assert report.plateau_range(noisy_flat, iters) == pytest.approx(2.0)
    assert abs(report.plateau_trend(noisy_flat, iters)) < 1.0  # one spike moves the range, not the trend
    assert math.isnan(report.plateau_trend([(3000, 0.8)], iters))


def test_only_networks_without_a_base_width_and_live_train_at_their_own_width():
    size = robustness.SIZES["converged"]
    for model in ("unet", "attention_unet"):
        assert robustness.model_kwargs(model, size) == {"base_width": size.base_width}
    for model in ("live", "deeplabv3plus_resnet101", "deeplabv3plus_xception65", "hrnetv2_w48", "smp:Unet:resnet18"):
        assert robustness.model_kwargs(model, size) == {}, model


def test_paired_interval_uses_student_t():
    mean, lo, hi = report.paired_interval([1.0, 2.0, 3.0])
    assert mean == pytest.approx(2.0)
    assert hi - mean == pytest.approx(4.303 * 1.0 / math.sqrt(3))
    assert lo == pytest.approx(2 * mean - hi)


def test_parse_pair_and_recipe():
    assert robustness.parse_pair("A + SAM-CL λ=0.1=A") == ("A + SAM-CL λ=0.1", "A")
    with pytest.raises(argparse.ArgumentTypeError):
        robustness.parse_pair("no baseline")
    assert robustness.parse_recipe("X=--loss dice --tiaug") == ("X", ["--loss", "dice", "--tiaug"])


def _run(recipe: str, seed: int, clean: float, conditions: float, lost_mouth: bool = False) -> dict:
    per_class = [0.9, 0.8, 0.0 if lost_mouth else 0.6, 0.5, 0.5, 0.5]
    scores = {name: {"miou": conditions, "per_class_iou": per_class} for name in robustness.TEST_SETS}
    scores["clean"] = {"miou": clean, "per_class_iou": per_class}
    curve = [(s, clean) for s in range(100, 301, 100)]
    return {
        "recipe": recipe,
        "model": "unet",
        "label": recipe,
        "seed": seed,
        "curve": curve,
        "plateau_range": 0.0,
        "scores": scores,
    }


def test_report_pairs_each_recipe_with_its_baseline_and_compare(tmp_path):
    runs = [_run("A", s, 0.70 + 0.01 * s, 0.40) for s in range(3)]
    runs += [_run("B", s, 0.72 + 0.01 * s, 0.50, lost_mouth=s == 1) for s in range(3)]
    runs += [_run("C", s, 0.71 + 0.01 * s, 0.50) for s in range(3)]
    args = argparse.Namespace(
        argv=["--size", "quick"], device_name="CPU", models=["unet"], baseline="A", compare=[("C", "B")]
    )
    size = robustness.dataclasses.replace(robustness.SIZES["quick"], iters=300)
    text = robustness.write_reports(tmp_path, runs, size, args, wall=60.0)
    rows = {
        line.split(" | ")[0] + " | " + line.split(" | ")[1]: line
        for line in text.splitlines()
        if line.startswith("| B | A") or line.startswith("| C | B") or line.startswith("| C | A")
    }
    assert "+2.0 [+2.0, +2.0]" in rows["| B | A"]  # clean: paired difference, no spread
    assert "+10.0 [+10.0, +10.0]" in rows["| B | A"]  # every condition
    assert "-1.0 [-1.0, -1.0]" in rows["| C | B"]
    lost = {line.split(" | ")[0]: line for line in text.splitlines() if line.count(" | ") == 6}
    assert lost["| A"].startswith("| A | 3 | 0 | none |")
    assert lost["| B"].startswith("| B | 3 | 1 | 1: mouth |")  # a seed that lost a class is named
    assert (tmp_path / "results.md").read_text() == text
    assert (tmp_path / "robustness.png").stat().st_size > 0


def test_reused_runs_are_keyed_by_network_flags_and_seed_and_named_in_the_report(tmp_path):
    size = robustness.SIZES["smoke"]
    recorded = {**_run("Dice", 1, 0.8, 0.5), "flags": ["--loss", "dice"]}
    robustness.save_results(tmp_path, size, "cpu", 1.0, [recorded], complete=False)
    path = tmp_path / "results.json"
    assert json.loads(path.read_text())["complete"] is False and list(tmp_path.iterdir()) == [path]
    runs = robustness.recorded_runs([str(path)], size)
    assert list(runs) == [("unet", ("--loss", "dice"), 1)]
    assert report.reused_note([{**recorded, "reused": True}, _run("Dice", 2, 0.8, 0.5)]) == [
        "  Taken from an earlier results.json (`--reuse`), not trained again: Dice (seeds 1)."
    ]
    assert report.reused_note([recorded]) == []
    with pytest.raises(SystemExit, match="recorded at size"):
        robustness.recorded_runs([str(path)], robustness.SIZES["quick"])


@pytest.mark.parametrize(
    "text", ["{not json", "[]", '{"size": {}}', '{"size": {}, "runs": [{"model": "unet"}]}', '{"size": 3, "runs": 5}']
)
def test_a_reused_file_that_is_not_a_results_json_is_refused_in_one_line(tmp_path, text):
    path = tmp_path / "results.json"
    path.write_text(text)
    with pytest.raises(SystemExit, match=r"^Error: --reuse .*results\.json: not a results\.json of robustness\.py \("):
        robustness.recorded_runs([str(path)], robustness.SIZES["smoke"])
    with pytest.raises(SystemExit, match=r"not a results\.json"):
        robustness.recorded_runs([str(tmp_path / "missing.json")], robustness.SIZES["smoke"])
    assert path.read_text() == text


def test_a_report_without_its_baseline_has_no_empty_paired_table_and_quotes_its_command(tmp_path):
    runs = [_run("B", s, 0.72, 0.50) for s in range(2)]
    args = argparse.Namespace(argv=["--recipes", "B C"], device_name="CPU", models=["unet"], baseline="A", compare=[])
    text = robustness.write_reports(tmp_path, runs, robustness.SIZES["quick"], args, wall=1.0)
    assert "Paired difference" not in text
    assert "--recipes 'B C'" in text


def test_hinge_activity_is_the_share_of_active_hinges_per_third_and_reported_per_recipe(tmp_path):
    rows = [
        {"iteration": str(step), "active_s0": str(s0), "active_s1": s1}
        for step, s0, s1 in [(100, 1.0, "0.5"), (200, 0.5, ""), (300, 0.0, "0.0"), (600, 0.0, "nan")]
    ]
    # steps 1-200 in the first third of 600, 201-400 the second, the rest the last; empty and NaN cells skipped
    assert report.hinge_activity(rows, 600) == pytest.approx([(0.75 + 0.5) / 2, 0.0, 0.0])
    assert math.isnan(report.hinge_activity(rows[:1], 600)[2])
    assert report.hinge_activity([{"iteration": "100", "val_miou": ""}], 600) is None  # no SAM-CL
    runs = [{**_run("S", s, 0.7, 0.5), "active_hinges": [0.5 - 0.1 * s, 0.1, 0.0]} for s in range(3)]
    runs += [_run("plain", s, 0.7, 0.5) for s in range(3)]
    args = argparse.Namespace(argv=["--size", "quick"], device_name="CPU", models=["unet"], baseline="x", compare=[])
    text = robustness.write_reports(tmp_path, runs, robustness.SIZES["quick"], args, wall=1.0)
    assert "| S | 3 | 40.0 | 10.0 | 0.0 |" in text.splitlines()
    assert not [line for line in text.splitlines() if line.startswith("| plain | 3 |") and line.count(" | ") == 4]


def test_a_recipe_with_one_seed_says_so_instead_of_a_spread_or_an_interval(tmp_path):
    runs = [_run("A", s, 0.70, 0.40) for s in range(3)] + [_run("B", 0, 0.75, 0.45)]
    args = argparse.Namespace(argv=["--size", "quick"], device_name="CPU", models=["unet"], baseline="A", compare=[])
    text = robustness.write_reports(tmp_path, runs, robustness.SIZES["quick"], args, wall=1.0)
    assert "nan" not in text
    assert "| B | 75.0 (1 seed) |" in text
    assert "| B | A | +5.0 (1 seed) |" in text
    assert "| A | 70.0 ± 0.0 |" in text


def test_a_recorded_run_of_another_network_of_the_same_name_is_refused(tmp_path):
    """--reuse compares the recorded parameter count with today's network of that name (e.g. a redesigned `live`)."""
    size = robustness.SIZES["smoke"]
    (tmp_path / "old").mkdir()
    argv = ["--size", "smoke", "--models", "unet", "--recipes", "Dice", "--seeds", "0", "--report-only"]
    argv += ["--reuse", str(tmp_path / "old" / "results.json"), "--out", str(tmp_path / "new")]
    recorded = {**_run("Dice", 0, 0.8, 0.5), "flags": robustness.RECIPES["Dice"], "parameters": 1}
    robustness.save_results(tmp_path / "old", size, "cpu", 1.0, [recorded], complete=True)
    with pytest.raises(SystemExit, match="of 1 parameters; today's has"):
        robustness.main(argv)
    recorded["parameters"] = robustness.network_parameters("unet", size)
    robustness.save_results(tmp_path / "old", size, "cpu", 1.0, [recorded], complete=True)
    robustness.main(argv)
    results = json.loads((tmp_path / "new" / "results.json").read_text())
    (run,) = results["runs"]
    assert run["reused"] and run["parameters"] == recorded["parameters"] > 1000 and results["complete"]
    # a --report-only pass that lacks a run (seed 1 never trained) does not call its results complete
    robustness.main([*argv[:7], "0", "1", *argv[8:]])
    results = json.loads((tmp_path / "new" / "results.json").read_text())
    assert len(results["runs"]) == 1 and not results["complete"]
    assert (
        "**Incomplete: 1 of the requested runs are not trained yet**" in (tmp_path / "new" / "results.md").read_text()
    )
