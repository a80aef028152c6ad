"""The poster's table (benchmarks/poster_table.py): its passes, the rank comparison, on made-up runs."""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import pytest

from tests.helpers.benchmarks import load_benchmark

robustness = load_benchmark("robustness")
poster_table = load_benchmark("poster_table")


def _args(**changes) -> argparse.Namespace:
    values = dict(
        out="res/poster",
        size="converged",
        device="cpu",
        jobs=2,
        report_only=False,
        iters=None,
        seeds=[0, 1, 2],
        no_heavy=False,
        reuse=[],
        argv=["--table", "poster"],
    )
    return argparse.Namespace(**{**values, **changes})


def test_every_poster_strategy_is_a_recipe():
    assert set(poster_table.STRATEGIES) <= set(robustness.RECIPES)
    assert set(poster_table.POSTER_MIOU["unet"]) == set(poster_table.STRATEGIES)


def test_heavy_networks_get_a_reduced_budget_on_the_cpu_and_the_full_one_on_a_gpu():
    (light_out, light), (heavy_out, heavy) = poster_table.table_passes(_args(), robustness.SIZES)
    assert light[light.index("--iters") + 1] == "6000" and light[
        light.index("--seeds") + 1 : light.index("--iters")
    ] == ["0", "1", "2"]
    assert heavy[heavy.index("--iters") + 1] == "125" and heavy[heavy.index("--seeds") + 1] == "0"
    assert heavy_out == light_out / "heavy" and "--recipes" in heavy
    _, (_, gpu) = poster_table.table_passes(_args(device="cuda", size="full"), robustness.SIZES)
    assert gpu[gpu.index("--iters") + 1] == "6000" and gpu[gpu.index("--seeds") + 1 : gpu.index("--iters")] == [
        "0",
        "1",
        "2",
    ]
    assert len(poster_table.table_passes(_args(no_heavy=True), robustness.SIZES)) == 1


def _results_json(path: Path, steps: int) -> str:
    path.write_text(json.dumps({"size": {"name": "converged", "iters": steps}, "runs": []}))
    return str(path)


def test_each_reused_file_goes_to_the_pass_of_its_step_count(tmp_path):
    light_a, light_b = _results_json(tmp_path / "a.json", 6000), _results_json(tmp_path / "b.json", 6000)
    heavy_c = _results_json(tmp_path / "c.json", 125)
    (_, light), (_, heavy) = poster_table.table_passes(_args(reuse=[light_a, heavy_c, light_b]), robustness.SIZES)
    assert [a for a in light if a.startswith("--reuse")] == [f"--reuse={light_a}", f"--reuse={light_b}"]
    assert [a for a in heavy if a.startswith("--reuse")] == [f"--reuse={heavy_c}"]
    gpu = poster_table.table_passes(_args(device="cuda", reuse=[light_a]), robustness.SIZES)
    assert all(f"--reuse={light_a}" in argv for _, argv in gpu)  # one budget on a GPU: every pass takes it
    with pytest.raises(SystemExit, match="recorded at 125 steps; this table's passes train 6000"):
        poster_table.table_passes(_args(no_heavy=True, reuse=[heavy_c]), robustness.SIZES)
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(SystemExit, match=r"bad\.json: not a results\.json"):
        poster_table.table_passes(_args(reuse=[str(tmp_path / "bad.json")]), robustness.SIZES)


def test_the_light_pass_has_the_control_row_and_pairs_sam_cl_with_it():
    (_, light), (_, heavy) = poster_table.table_passes(_args(), robustness.SIZES)
    recipes = light[light.index("--recipes") + 1 : light.index("--baseline")]
    assert recipes == [*poster_table.STRATEGIES, "RMI + TiAug"] and "RMI + TiAug" in robustness.RECIPES
    compares = [a for a in light if a.startswith("--compare=")]
    assert compares == [f"--compare={m}: SAM-CL={m}: RMI + TiAug" for m in poster_table.LIGHT_NETWORKS]
    assert robustness.parse_pair(compares[0].removeprefix("--compare=")) == ("unet: SAM-CL", "unet: RMI + TiAug")
    assert not any(a.startswith("--compare") for a in heavy)


def test_heavy_networks_and_live_train_without_a_base_width_and_widths_follow_the_size():
    size = robustness.SIZES["quick"]
    data = {"train": Path("t.h5"), "val": Path("v.h5")}
    heavy = robustness.train_command(Path("r"), data, size, "hrnetv2_w48", ["--loss", "rmi"], 0, "cpu", 1)
    assert "--model-arg" not in heavy
    live = robustness.train_command(Path("r"), data, size, "live", ["--loss", "dice"], 0, "cpu", 1)
    assert "--model-arg" not in live  # its width is part of its design
    segan = robustness.train_command(Path("r"), data, size, "unet", robustness.RECIPES["SegAN"], 0, "cpu", 1)
    assert f"width={size.base_width}" in segan and f"base_width={size.base_width}" in segan


def test_ranks_and_spearman():
    assert poster_table.ranks([3.0, 1.0, 2.0, 2.0]) == [1, 4, 2.5, 2.5]
    assert poster_table.spearman([1, 2, 3, 4], [10, 20, 30, 40]) == pytest.approx(1.0)
    assert poster_table.spearman([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)
    assert math.isnan(poster_table.spearman([1, 2], [1, 2]))


def _run(model: str, recipe: str, seed: int, clean: float) -> dict:
    scores = {name: {"miou": clean - 0.1} for name in robustness.TEST_SETS}
    scores["clean"] = {"miou": clean}
    return {"model": model, "recipe": recipe, "seed": seed, "scores": scores}


def test_comparison_ranks_ours_beside_the_posters():
    poster = poster_table.POSTER_MIOU["unet"]
    # ours in the reverse of the poster's order
    order = sorted(poster, key=poster.get)
    runs = [_run("unet", s, seed, 0.9 - 0.05 * k) for k, s in enumerate(order) for seed in (0, 1)]
    lines = poster_table.comparison(runs, "cmd", robustness.condition_mean, heavy_out=None)
    rows = {line.split(" | ")[1]: line for line in lines if line.startswith("| unet | ") and line.count("|") == 8}
    assert set(rows) == set(poster)
    assert rows["SAM-CL"] == "| unet | SAM-CL | 82.11 | 1 | 60.0 | 7 | 50.0 |"
    assert rows["BCE"] == "| unet | BCE | 67.64 | 7 | 90.0 | 1 | 80.0 |"
    assert "| unet | 7 | -1.00 | -1.00 |" in lines


def test_later_passes_share_the_first_pass_data(tmp_path):
    first, heavy = tmp_path / "poster", tmp_path / "poster" / "heavy"
    poster_table.share_data(first, heavy)
    (first / "data" / "train.h5").write_text("x")
    assert (heavy / "data" / "train.h5").read_text() == "x"
    poster_table.share_data(first, first)  # the first pass keeps its own folder
    assert not (first / "data").is_symlink()
