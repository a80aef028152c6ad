"""Mutation fuzzing of every reader: a few hundred damaged copies of the FLIR .fff/.seq/R-JPEG, .npy, .tiff and
HDF5 files the tests make, each read within a time limit. Every file ends in frames or one refusal (a
``TiaugIOError`` naming it), never another exception, a hang or unbounded memory, and is never modified."""

from __future__ import annotations

import io
import multiprocessing
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
import tifffile
from click.testing import CliRunner

from tests.camera_files import REALISTIC, face_temperatures, fff_frame, planck_counts, rjpeg
from tests.hostile import within
from tiaug.cli import main as cli_main
from tiaug.io import open_thermal, write_thermal_h5
from tiaug.io.errors import TiaugIOError
from tiaug.io.readers import open_source
from tiaug.synth import generate_faces

MUTANTS = 100  # per sample file
PEAK_BYTES = 64 << 20  # any one mutant's reading, traced


def _fff(seed: int = 0) -> bytes:
    return fff_frame(planck_counts(face_temperatures(24, 32, seed), REALISTIC), REALISTIC)


def _npy() -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, face_temperatures(24, 32).astype(np.float32)[None].repeat(2, axis=0))
    return buffer.getvalue()


def _tiff() -> bytes:
    buffer = io.BytesIO()
    tifffile.imwrite(buffer, face_temperatures(24, 32).astype(np.float32))
    return buffer.getvalue()


SAMPLES = {
    "frame.fff": lambda: _fff(),
    "rec.seq": lambda: b"".join(_fff(s) for s in range(3)),
    "photo.jpg": lambda: rjpeg(_fff(), size=(24, 32)),
    "stack.npy": _npy,
    "frame.tif": _tiff,
}
_BIG = (0, 1, 0x7FFF, 0xFFFF, 0x7FFFFFFF, 0xFFFFFFFF, 30000, 1 << 20)


def mutate(data: bytes, rng: np.random.Generator) -> tuple[bytes, str]:
    """One damaged copy of ``data`` and what was done: header fields set to extreme values, random bytes
    flipped, the file cut short or a piece repeated."""
    out = bytearray(data)
    kind = int(rng.integers(4))
    if kind == 0:  # a 16- or 32-bit field, most often in the headers, set to an extreme value
        width = int(rng.choice([2, 4]))
        region = min(len(out), 1024) if rng.random() < 0.7 else len(out)
        at = int(rng.integers(0, region - width))
        value = int(rng.choice(_BIG)) & ((1 << (8 * width)) - 1)
        out[at : at + width] = value.to_bytes(width, str(rng.choice(["big", "little"])))
        return bytes(out), f"field at {at} = {value}"
    if kind == 1:
        at = sorted(rng.integers(0, len(out), int(rng.integers(1, 16))).tolist())
        for i in at:
            out[i] = int(rng.integers(256))
        return bytes(out), f"bytes flipped at {at}"
    if kind == 2:
        cut = int(rng.integers(0, len(out)))
        return bytes(out[:cut]), f"cut at {cut}"
    start = int(rng.integers(0, len(out)))
    piece = out[start : start + int(rng.integers(1, 256))]
    at = int(rng.integers(0, len(out)))
    return bytes(out[:at] + piece + out[at:]), f"{len(piece)} bytes from {start} repeated at {at}"


def _read(path: Path) -> str:
    with within(10), open_source(path) as source:
        return f"{sum(1 for _ in source.frames())} frames"


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_mutated_camera_files_read_or_refused(tmp_path, name):
    original = SAMPLES[name]()
    assert _read(_written(tmp_path / name, original)) != "0 frames"  # the sample itself reads
    rng = np.random.default_rng(sum(map(ord, name)))
    outcomes = {"read": 0, "refused": 0}
    for k in range(MUTANTS):
        data, what = mutate(original, rng)
        path = _written(tmp_path / f"m{k}_{name}", data)
        tracemalloc.start()
        try:
            _read(path)
            outcomes["read"] += 1
        except TiaugIOError as refusal:
            assert path.name in str(refusal), f"{what}: the refusal does not name the file: {refusal}"
            outcomes["refused"] += 1
        except Exception as error:
            pytest.fail(f"{name}, {what}: {type(error).__name__}: {error}")
        finally:
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
        assert peak < PEAK_BYTES, f"{name}, {what}: {peak} bytes traced"
        assert path.read_bytes() == data, f"{name}, {what}: the input was modified"
        path.unlink()
    assert outcomes["refused"] > 0 and outcomes["read"] > 0, outcomes  # damaged headers and damaged pixels


def _written(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


H5_MUTANTS, AUGMENTED = 200, 20  # damaged HDF5 files read; of those, how many also go through `tiaug augment`


def _h5_sample(path: Path) -> bytes:
    faces = generate_faces(4, 16, 20, seed=1)
    write_thermal_h5(path, faces.images, faces.masks, compression="gzip")
    return path.read_bytes()


def _h5_outcome(path: Path) -> str:
    with within(10), open_thermal(path) as reader:
        return f"{reader.validate_all(batch_size=2)} rows"


def _augment_outcome(path: Path, out: Path) -> str:
    with within(60):
        res = CliRunner().invoke(cli_main, ["augment", str(path), str(out), "--no-progress", "--overwrite"])
    errors = [line for line in res.output.splitlines() if line.startswith("Error:")]
    if res.exit_code not in (0, 1) or len(errors) != (res.exit_code == 1) or "internal error" in res.output:
        raise AssertionError(f"augment exit {res.exit_code}: {res.output.strip()}")
    if res.exit_code == 0:
        with open_thermal(out) as written:
            written.validate_all()
    return f"augment exit {res.exit_code}"


def _fuzz_h5(folder: Path, log: Path) -> None:
    """In a child process (HDF5 is C: a crash must not take pytest with it): read every mutant, augment some."""
    original = _h5_sample(folder / "sample.h5")
    rng = np.random.default_rng(7)
    augmented = 0
    with log.open("a") as out:
        for k in range(H5_MUTANTS):
            data, what = mutate(original, rng)
            path = _written(folder / f"m{k}.h5", data)
            print(f"start {k}: {what}", file=out, flush=True)
            try:
                result = _h5_outcome(path)
            except TiaugIOError as refusal:
                result = "refused" if path.name in str(refusal) else f"FAIL refusal without the name: {refusal}"
            except Exception as error:  # what the test is about: nothing else may escape
                result = f"FAIL {type(error).__name__}: {error}"
            if not result.startswith("FAIL") and augmented < AUGMENTED and (k % 7 == 0 or result != "refused"):
                augmented += 1
                try:
                    result += f"; {_augment_outcome(path, folder / 'out.h5')}"
                except Exception as error:
                    result = f"FAIL {type(error).__name__}: {error}"
            if path.read_bytes() != data:
                result = "FAIL the input was modified"
            print(f"done {k}: {result}", file=out, flush=True)
            path.unlink()


def test_mutated_hdf5_files_read_augmented_or_refused(tmp_path):
    log = tmp_path / "fuzz.log"
    child = multiprocessing.get_context("fork").Process(target=_fuzz_h5, args=(tmp_path, log))
    child.start()
    child.join(timeout=300)
    lines = log.read_text().splitlines() if log.exists() else []
    if child.is_alive():
        child.kill()
        pytest.fail(f"still running after 300 s; last: {lines[-1:]}")
    assert child.exitcode == 0, f"the reading process died ({child.exitcode}) at {lines[-1:]}"
    done = [line for line in lines if line.startswith("done")]
    failures = [line for line in done if "FAIL" in line]
    assert not failures, "\n".join(failures[:5])
    assert len(done) == H5_MUTANTS
    assert sum("refused" in line for line in done) > 0 and sum("rows" in line for line in done) > 0
    assert sum("augment exit" in line for line in done) == AUGMENTED, done
