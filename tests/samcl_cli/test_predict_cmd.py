"""samcl-predict: masks (PNG, class indices), overlays and --h5 for HDF5, .npy and folder inputs; refusals leave
the output folder as it was and the inputs unchanged."""

from __future__ import annotations

import h5py
import numpy as np
import pytest
import torch
from PIL import Image

from samcl.cli.predict_cmd import predict_main
from samcl.inference.files import predict_to_folder, read_mask_png
from samcl.inference.predictor import load_inference_model
from tests.samcl_cli.conftest import CLASSES, listing, reference_labels, run_module, sha256
from tiaug.io import open_thermal, write_thermal_h5
from tiaug.synth import generate_faces

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _predict(invoke, checkpoint, source, out, *extra):
    res = invoke(predict_main, "--checkpoint", checkpoint, source, "--out", out, "--no-progress", *extra)
    assert res.exit_code == 0, res.output
    return res


def _names(bases, overlays=True, csv=None):
    """Expected output files: masks, overlays and the regions CSV ``<csv>_regions.csv``."""
    files = [f"{b}_mask.png" for b in bases] + ([f"{b}_overlay.png" for b in bases] if overlays else [])
    return sorted(files + ([f"{csv}_regions.csv"] if csv else []))


def _assert_masks(out, bases, checkpoint, images):
    want = reference_labels(checkpoint, images)
    for k, base in enumerate(bases):
        path = out / f"{base}_mask.png"
        with Image.open(path) as im:
            assert im.format == "PNG" and im.mode == "L" and im.size == images.shape[1:][::-1]
        np.testing.assert_array_equal(read_mask_png(path), want[k])
    return want


def test_h5_input(invoke, checkpoint, test_h5, faces, tmp_path):
    before = sha256(test_h5)
    out = tmp_path / "pred"
    res = _predict(invoke, checkpoint, test_h5, out)
    bases = [f"test_{i:05d}" for i in range(len(faces.images))]
    assert listing(out) == _names(bases, csv="test")
    labels = _assert_masks(out, bases, checkpoint, faces.images)
    assert 1 in labels  # the trained model sees skin: the masks are not all background
    for base in bases:
        with Image.open(out / f"{base}_overlay.png") as im:
            assert im.mode in ("RGB", "RGBA") and im.size[0] > 100
    assert "0 background, 1 skin" in res.output
    assert sha256(test_h5) == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no staging folder left


def test_npy_single_image_and_stack(invoke, checkpoint, faces, tmp_path):
    single, stack = tmp_path / "one.npy", tmp_path / "stack.npy"
    np.save(single, faces.images[0])
    np.save(stack, faces.images[:3].astype(np.float64))  # float64 accepted
    _predict(invoke, checkpoint, single, tmp_path / "a")
    assert listing(tmp_path / "a") == _names(["one"], csv="one")
    _assert_masks(tmp_path / "a", ["one"], checkpoint, faces.images[:1])
    _predict(invoke, checkpoint, stack, tmp_path / "b", "--no-overlays")
    bases = [f"stack_{i:05d}" for i in range(3)]
    assert listing(tmp_path / "b") == _names(bases, overlays=False, csv="stack")
    _assert_masks(tmp_path / "b", bases, checkpoint, faces.images[:3])


def test_folder_of_mixed_files_and_sizes(invoke, checkpoint, faces, tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    big = generate_faces(2, 64, 80, seed=2).images
    np.save(src / "a.npy", faces.images[0])
    np.save(src / "b.npy", big)
    np.save(src / "c.npy", faces.images[1][..., None])  # (H, W, 1): one image
    write_thermal_h5(src / "d.h5", faces.images[2:4])  # no masks: fine for predict
    (src / "notes.txt").write_text("ignored\n")
    hashes = {p: sha256(p) for p in src.iterdir()}
    out = tmp_path / "nested" / "pred"  # missing parents are created
    _predict(invoke, checkpoint, src, out, "--no-overlays", "--batch-size", "1")
    bases = ["a", "b_00000", "b_00001", "c", "d_00000", "d_00001"]
    assert listing(out) == _names(bases, overlays=False, csv="in")
    _assert_masks(out, ["a", "c"], checkpoint, faces.images[:2])
    _assert_masks(out, ["b_00000", "b_00001"], checkpoint, big)
    _assert_masks(out, ["d_00000", "d_00001"], checkpoint, faces.images[2:4])
    assert {p: sha256(p) for p in src.iterdir()} == hashes


def test_h5_output(invoke, checkpoint, faces, tmp_path):
    stack = tmp_path / "stack.npy"
    np.save(stack, faces.images[:4])
    out = tmp_path / "pred"
    _predict(invoke, checkpoint, stack, out, "--h5", "--no-overlays")
    assert "stack_masks.h5" in listing(out)
    with open_thermal(out / "stack_masks.h5", require_masks=True) as r:
        assert r.n == 4 and list(r.classes) == CLASSES
        batch = r.read_batch(0, 4)
        np.testing.assert_array_equal(batch.images, faces.images[:4])
        np.testing.assert_array_equal(batch.masks, reference_labels(checkpoint, faces.images[:4]))
        assert list(r.file["source"].asstr()[:]) == ["stack.npy"] * 4
        assert r.file["source_index"][:].tolist() == [0, 1, 2, 3]
        assert "samcl/predict" in r.attrs
    for k in range(4):  # the PNGs and the HDF5 agree
        np.testing.assert_array_equal(read_mask_png(out / f"stack_{k:05d}_mask.png"), batch.masks[k])


def test_existing_outputs_need_overwrite(invoke, checkpoint, faces, tmp_path):
    stack = tmp_path / "s.npy"
    np.save(stack, faces.images[:2])
    out = tmp_path / "pred"
    out.mkdir()
    (out / "keep.txt").write_text("mine\n")
    _predict(invoke, checkpoint, stack, out, "--no-overlays")
    first = {p: sha256(out / p) for p in listing(out)}
    np.save(stack, faces.images[2:4])  # other images, same names
    res = invoke(predict_main, "-c", checkpoint, stack, "--out", out, "--no-progress", "--no-overlays")
    assert res.exit_code != 0 and "exist" in res.output and "--overwrite" in res.output
    assert {p: sha256(out / p) for p in listing(out)} == first
    _predict(invoke, checkpoint, stack, out, "--no-overlays", "--overwrite")
    assert (out / "keep.txt").read_text() == "mine\n"
    _assert_masks(out, ["s_00000", "s_00001"], checkpoint, faces.images[2:4])


def test_interrupted_run_leaves_nothing(checkpoint, faces, tmp_path):
    stack = tmp_path / "s.npy"
    np.save(stack, faces.images[:4])
    model = load_inference_model(checkpoint, device="cpu")
    before = listing(tmp_path)

    def stop(done, total):
        assert 0 < done < total
        raise KeyboardInterrupt  # after the first batch, with files in the staging folder

    with pytest.raises(KeyboardInterrupt):
        predict_to_folder(model, stack, tmp_path / "new" / "pred", batch_size=2, progress=stop)
    assert listing(tmp_path) == before  # no output folder, no created parent, no staging folder


def test_predict_in_a_subprocess(checkpoint, faces, tmp_path):
    top = run_module("--help")
    assert top.returncode == 0 and "samcl-eval" in top.stdout and "samcl-predict" in top.stdout
    helped = run_module("predict", "--help")
    assert helped.returncode == 0, helped.stderr
    text = " ".join(helped.stdout.split())
    for words in ("samcl-predict", "degrees Celsius", "_mask.png", "_overlay.png", "--h5", "class index"):
        assert words in text
    image = tmp_path / "face.npy"
    np.save(image, faces.images[0])
    done = run_module("predict", "--checkpoint", checkpoint, image, "--out", tmp_path / "pred", "--device", "auto")
    assert done.returncode == 0, done.stderr
    assert listing(tmp_path / "pred") == ["face_mask.png", "face_overlay.png", "face_regions.csv"]
    assert (tmp_path / "pred" / "face_overlay.png").read_bytes()[:8] == PNG_MAGIC
    _assert_masks(tmp_path / "pred", ["face"], checkpoint, faces.images[:1])


# --- refusals -------------------------------------------------------------------------------------------------


def _bad_input(name, tmp_path, faces):
    """(INPUT, extra args, words the message must contain)."""
    img = faces.images
    src = tmp_path / "in"
    src.mkdir()
    if name == "nan":
        bad = img[:2].copy()
        bad[1, 4, 4] = np.nan
        np.save(src / "x.npy", bad)
        return src / "x.npy", [], ["x.npy", "image 1", "nan"]
    if name == "inf":
        bad = img[0].copy()
        bad[0, 0] = np.inf
        np.save(src / "x.npy", bad)
        return src / "x.npy", [], ["x.npy", "infinite"]
    if name == "integer":
        np.save(src / "x.npy", (img[0] * 100).astype(np.uint16))
        return src / "x.npy", [], ["x.npy", "uint16", "integer", "degrees celsius"]
    if name == "rgb":
        np.save(src / "x.npy", np.repeat(img[0][..., None], 3, axis=2))
        return src / "x.npy", [], ["x.npy", "rgb"]
    if name == "rgb_stack":
        np.save(src / "x.npy", np.repeat(img[:2, ..., None], 4, axis=3))
        return src / "x.npy", [], ["x.npy", "rgb"]
    if name == "empty_array":
        np.save(src / "x.npy", np.zeros((0, 32, 40), np.float32))
        return src / "x.npy", [], ["x.npy", "empty"]
    if name == "object_array":
        np.save(src / "x.npy", np.array([img[0], "text"], dtype=object), allow_pickle=True)
        return src / "x.npy", [], ["x.npy", "not a readable .npy"]
    if name == "unreadable_npy":
        (src / "x.npy").write_bytes(b"\x93NUMPY garbage" * 10)
        return src / "x.npy", [], ["x.npy", "not a readable .npy"]
    if name == "unreadable_h5":
        (src / "x.h5").write_text("not HDF5\n")
        return src / "x.h5", [], ["x.h5", "not a readable hdf5"]
    if name == "empty_folder":
        return src, [], ["no .npy or .h5 files"]
    if name == "folder_without_arrays":
        (src / "a.gif").write_bytes(b"GIF89a")  # a picture of no supported format (PNG frames are one now)
        return src, [], ["no .npy or .h5 files"]
    if name == "missing_input":
        return src / "absent.npy", [], ["absent.npy", "not found"]
    if name == "unsupported_suffix":
        (src / "x.xyz").write_bytes(b"plain text, no magic\n")
        return src / "x.xyz", [], ["x.xyz", "not a recognised", ".npy"]
    if name == "bad_file_after_good_ones":  # found only while segmenting: nothing may be left
        np.save(src / "a.npy", img[0])
        np.save(src / "b.npy", img[1])
        bad = img[2].copy()
        bad[3, 3] = np.nan
        np.save(src / "c.npy", bad)
        return src, [], ["c.npy", "nan"]
    if name == "h5_mixed_sizes":
        np.save(src / "a.npy", img[0])
        np.save(src / "b.npy", np.zeros((16, 16), np.float32) + 30)
        return src, ["--h5"], ["--h5", "one size", "32x40", "16x16"]
    if name == "name_collision":
        np.save(src / "a.npy", img[:2])
        write_thermal_h5(src / "a.h5", img[:2])
        return src, [], ["a.npy", "a.h5", "a_00000_mask.png"]
    if name == "out_is_input_folder":
        np.save(src / "a.npy", img[0])
        return src, ["--out", src], ["input folder"]
    if name == "out_is_a_file":
        np.save(src / "a.npy", img[0])
        (tmp_path / "taken").write_text("x\n")
        return src / "a.npy", ["--out", tmp_path / "taken"], ["taken", "is a file"]
    if name == "cuda_without_gpu":
        np.save(src / "a.npy", img[0])
        return src / "a.npy", ["--device", "cuda"], ["cuda", "not available"]
    raise AssertionError(name)


BAD = [
    "nan",
    "inf",
    "integer",
    "rgb",
    "rgb_stack",
    "empty_array",
    "object_array",
    "unreadable_npy",
    "unreadable_h5",
    "empty_folder",
    "folder_without_arrays",
    "missing_input",
    "unsupported_suffix",
    "bad_file_after_good_ones",
    "h5_mixed_sizes",
    "name_collision",
    "out_is_input_folder",
    "out_is_a_file",
    "cuda_without_gpu",
]


@pytest.mark.parametrize("name", BAD)
def test_refusals(name, invoke, checkpoint, faces, tmp_path):
    if name == "cuda_without_gpu" and torch.cuda.is_available():
        pytest.skip("a GPU is present")
    source, extra, words = _bad_input(name, tmp_path, faces)
    if "--out" not in extra:
        extra = [*extra, "--out", tmp_path / "pred"]
    before = listing(tmp_path)
    hashes = {p: sha256(p) for p in tmp_path.rglob("*") if p.is_file()}
    res = invoke(predict_main, "--checkpoint", checkpoint, source, "--no-progress", *extra)
    assert res.exit_code != 0
    message = " ".join(res.output.lower().split())
    for word in words:
        assert word.lower() in message, (word, res.output)
    assert "Traceback" not in res.output
    assert listing(tmp_path) == before  # no output folder, no staging folder, no masks
    assert {p: sha256(p) for p in hashes} == hashes


def test_h5_input_with_bad_rows_is_refused(invoke, checkpoint, faces, tmp_path):
    path = tmp_path / "x.h5"
    with h5py.File(path, "w") as f:
        bad = faces.images.copy()
        bad[4, 1, 1] = np.nan
        f.create_dataset("images", data=bad)
        f.attrs["units"] = "degC"
    before = sha256(path)
    res = invoke(predict_main, "-c", checkpoint, path, "--out", tmp_path / "pred", "--no-progress", "-b", "2")
    assert res.exit_code != 0 and "row 4" in res.output and "NaN" in res.output
    assert listing(tmp_path) == ["ckpt", "ckpt/best.pt", "x.h5"] and sha256(path) == before
