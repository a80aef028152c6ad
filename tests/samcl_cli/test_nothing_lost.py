"""Nothing lost by samcl-eval and samcl-predict: no output over the checkpoint they read; messages name the flag."""

from __future__ import annotations

import os

import numpy as np

from samcl.cli.eval_cmd import eval_main
from samcl.cli.predict_cmd import predict_main
from tests.refusals import assert_one_error_line, digest, listing


def test_eval_json_never_replaces_the_checkpoint_it_reads(invoke, checkpoint, test_h5, tmp_path):
    run_dir = checkpoint.parent  # a training run folder: --checkpoint RUN_DIR reads RUN_DIR/best.pt
    os.link(checkpoint, tmp_path / "hard.json")
    (tmp_path / "soft.json").symlink_to(checkpoint)
    before, inputs = listing(tmp_path), digest(checkpoint, test_h5)
    for target, given in (
        (checkpoint, run_dir),
        (tmp_path / "hard.json", run_dir),
        (tmp_path / "soft.json", checkpoint),
    ):
        res = invoke(eval_main, "--checkpoint", given, "--data", test_h5, "--json", target, "--overwrite")
        assert res.exit_code == 1
        assert_one_error_line(res.stderr, str(target))
    assert listing(tmp_path) == before and digest(checkpoint, test_h5) == inputs


def test_eval_negative_seed_names_the_flag(invoke, checkpoint, test_h5):
    res = invoke(
        eval_main, "--checkpoint", checkpoint, "--data", test_h5, "--tiaug-robustness", "--robustness-seed", "-1"
    )
    assert res.exit_code == 2
    assert_one_error_line(res.stderr, "--robustness-seed")


def test_predict_never_writes_over_its_inputs(invoke, checkpoint, faces, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    np.save(folder / "a.npy", faces.images[0])
    linked = tmp_path / "linked"
    linked.mkdir()
    os.link(folder / "a.npy", linked / "a_mask.png")  # where the mask of a.npy would go: the input itself
    before, inputs = listing(tmp_path), digest(folder, checkpoint)
    for out in (folder, linked):
        res = invoke(predict_main, "--checkpoint", checkpoint, folder, "--out", out, "--overwrite", "--no-progress")
        assert res.exit_code == 1
        assert_one_error_line(res.stderr, "input")
    assert listing(tmp_path) == before and digest(folder, checkpoint) == inputs
