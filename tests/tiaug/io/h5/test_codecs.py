"""HDF5 codecs: every `--compression` round-trips, the default needs no plugin, a missing plugin is named."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import h5py
import numpy as np
import pytest

from tests.helpers.processes import env, run_python
from tiaug.io import COMPRESSIONS, DEFAULT_COMPRESSION, ThermalDataError, open_thermal, write_thermal_h5
from tiaug.io.h5.codecs import dataset_filters

BLOCK_HDF5PLUGIN = 'import sys; sys.modules["hdf5plugin"] = None  # `import hdf5plugin` now fails\n'


def _python(script: str, *args: str) -> subprocess.CompletedProcess:
    """Run ``script`` in a fresh interpreter with this checkout first on the path."""
    return subprocess.run([sys.executable, "-c", script, *args], capture_output=True, text=True, env=env(), timeout=120)


def _needs_plugin(codec: str) -> None:
    if codec.startswith("blosc2"):
        pytest.importorskip("hdf5plugin")


@pytest.mark.parametrize("codec", COMPRESSIONS)
def test_every_codec_round_trips_exactly(tmp_path, faces, codec):
    _needs_plugin(codec)
    path = tmp_path / f"{codec}.h5"
    write_thermal_h5(path, faces.images, faces.masks, compression=codec)
    with open_thermal(path) as reader:
        batch = reader.read_batch(0, reader.n)
        filters = reader.file["images"].id.get_create_plist().get_nfilters()
    np.testing.assert_array_equal(batch.images, faces.images)
    np.testing.assert_array_equal(batch.masks, faces.masks)
    assert (filters == 0) == (codec == "none")


def test_default_codec_is_uncompressed_and_unknown_ones_are_refused():
    assert DEFAULT_COMPRESSION == "none" and dataset_filters(None) == dataset_filters("none") == {}
    with pytest.raises(ValueError, match="compression must be one of none, lzf, gzip"):
        dataset_filters("zip")


def test_default_augment_output_opens_with_plain_h5py_and_no_plugin(cli, good_h5, tmp_path):
    out = tmp_path / "aug.h5"
    assert cli("augment", good_h5, out, "--no-progress").exit_code == 0
    with open_thermal(out) as reader:
        expected = reader.read_batch(0, reader.n).images
    script = BLOCK_HDF5PLUGIN + "import h5py; f = h5py.File(sys.argv[1], 'r'); print(float(f['images'][:].sum()))"
    done = _python(script, str(out))
    assert done.returncode == 0, done.stderr
    assert float(done.stdout) == pytest.approx(float(expected.sum()), rel=1e-6)


def test_blosc2_file_opens_with_h5py_after_import_hdf5plugin(tmp_path, faces):
    pytest.importorskip("hdf5plugin")
    path = tmp_path / "zstd.h5"
    write_thermal_h5(path, faces.images, faces.masks, compression="blosc2-zstd")
    done = _python("import sys, h5py, hdf5plugin; print(h5py.File(sys.argv[1], 'r')['images'][:].shape)", str(path))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(faces.images.shape)


def test_blosc2_file_without_hdf5plugin_is_refused_naming_the_extra(tmp_path, faces):
    pytest.importorskip("hdf5plugin")
    path = tmp_path / "zstd.h5"
    write_thermal_h5(path, faces.images, faces.masks, compression="blosc2-zstd")
    script = BLOCK_HDF5PLUGIN + textwrap.dedent(
        """
        from tiaug.io import ThermalDataError, open_thermal
        try:
            open_thermal(sys.argv[1])
        except ThermalDataError as e:
            print(e)
        """
    )
    done = _python(script, str(path))
    assert done.returncode == 0, done.stderr
    assert "'images'" in done.stdout and "pip install 'tiaug-samcl[blosc2]'" in done.stdout
    with open_thermal(path) as reader:  # here hdf5plugin is installed: tiaug.io loads it by itself
        assert reader.n == len(faces.images)
    assert issubclass(ThermalDataError, ValueError)


def test_cli_refuses_a_blosc2_codec_without_hdf5plugin_before_writing(tmp_path):
    out = tmp_path / "faces.h5"
    script = BLOCK_HDF5PLUGIN + textwrap.dedent(
        """
        from tiaug.cli import main
        main(["synth", sys.argv[1], "-n", "2", "--size", "32x40", "--compression", "blosc2-zstd"], prog_name="tiaug")
        """
    )
    done = _python(script, str(out))
    assert done.returncode == 2
    assert "hdf5plugin" in done.stderr and "tiaug-samcl[blosc2]" in done.stderr
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_synth_and_augment_take_every_codec(tmp_path):
    pytest.importorskip("hdf5plugin")
    source = tmp_path / "in.h5"
    assert (
        run_python(
            "tiaug", "synth", str(source), "-n", "3", "--size", "32x40", "--compression", "blosc2-lz4"
        ).returncode
        == 0
    )
    for codec in COMPRESSIONS:
        out = tmp_path / f"{codec}.h5"
        done = run_python("tiaug", "augment", str(source), str(out), "--compression", codec, "--no-progress")
        assert done.returncode == 0, done.stderr
        with h5py.File(out, "r") as f:
            assert f["images"].shape == (3, 32, 40)
