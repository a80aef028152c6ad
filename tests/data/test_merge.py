"""`tiaug merge A.h5 B.h5 OUT.h5`: rows in input order with their source, whole or nothing, mismatches refused."""

from __future__ import annotations

import numpy as np

from tests.data.conftest import sha256
from tiaug.io import open_thermal, write_thermal_h5


def test_merge_keeps_every_row_and_its_source(cli, tmp_path, faces):
    a, b, out = tmp_path / "a.h5", tmp_path / "b.h5", tmp_path / "ab.h5"
    write_thermal_h5(a, faces.images[:3], faces.masks[:3])
    write_thermal_h5(b, faces.images[3:8], faces.masks[3:8], compression="gzip")
    digests = sha256(a), sha256(b)
    res = cli("merge", a, b, out, "--compression", "none")
    assert res.exit_code == 0, res.output
    assert "wrote 8 rows" in res.output
    with open_thermal(out) as r:
        batch = r.read_batch(0, r.n)
        assert r.file["source_file"].asstr()[:].tolist() == ["a.h5"] * 3 + ["b.h5"] * 5
        assert r.file["source_index"][:].tolist() == [0, 1, 2, 0, 1, 2, 3, 4]
    np.testing.assert_array_equal(batch.images, faces.images[:8])
    np.testing.assert_array_equal(batch.masks, faces.masks[:8])
    assert (sha256(a), sha256(b)) == digests


def test_merge_refuses_mismatches_and_writes_nothing(cli, tmp_path, faces):
    a, small, bare = tmp_path / "a.h5", tmp_path / "small.h5", tmp_path / "bare.h5"
    write_thermal_h5(a, faces.images[:2], faces.masks[:2])
    write_thermal_h5(small, faces.images[:2, :-2], faces.masks[:2, :-2])
    write_thermal_h5(bare, faces.images[:2])
    for other, words in ((small, "image size"), (bare, "masks: no differs")):
        res = cli("merge", a, other, tmp_path / "out.h5")
        assert res.exit_code == 1 and res.output.count("Error:") == 1 and words in res.output, res.output
    assert cli("merge", a, a).exit_code == 2  # an input and an output only
    res = cli("merge", a, bare, a, "--overwrite")  # the output is an input
    assert res.exit_code == 1 and "input" in res.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.h5", "bare.h5", "small.h5"]
