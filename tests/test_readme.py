"""Every code block of the README and of the documentation pages (docs/*.md) runs as written.

The blocks run in one working folder that the test first fills with the small synthetic inputs they name
(``face.npy``, ``TFDB_DIR``, ``runs/unet_samcl/best.pt``, ...). Each ``python`` block runs in a fresh
namespace, so a block that forgets an import (or relies on another block) fails here. ``bash`` blocks run line
by line: the ``tiaug`` and ``samcl-eval``/``samcl-predict`` commands in subprocesses (``python -m``), exactly
with the page's arguments; commands that take minutes to hours (``make demo``, ``make test``, a long
``samcl-train``, ``torchrun``, the robustness benchmark) and ``samcl-predict`` on a live camera are only parsed
by the program's own parser. Blocks of other languages (``console``: installing, set-up) are not run. The
camera examples are run by tests/samcl_cli/test_readme_cameras.py on camera files it makes.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tiaug.io import write_thermal_h5
from tiaug.io.importers.landmarks import write_ljson
from tiaug.synth import generate_faces

REPO = Path(__file__).resolve().parents[1]
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.MULTILINE | re.DOTALL)
PARSED_ONLY = {"make", "samcl-train", "torchrun", "python"}  # the long runs: arguments checked, not run


def parsed_only(argv: list[str]) -> bool:
    """Long runs, and samcl-predict on a live camera (an index as INPUT), are parsed instead of run."""
    if argv[0] == "samcl-predict":
        from samcl.cli.predict_cmd import predict_main

        return str(predict_main.make_context("samcl-predict", argv[1:]).params["input_path"]).isdigit()
    return argv[0] in PARSED_ONLY


CAMERA_EXAMPLES = re.compile(r"<!-- camera-examples.*?<!-- end camera-examples -->", re.DOTALL)


PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]


def page_blocks(page: Path) -> list[tuple[str, int, str]]:
    """(language, first line number, code) of every fenced block of ``page``, but the camera examples, which
    tests/samcl_cli/test_readme_cameras.py runs on the camera files it makes."""
    text = page.read_text()
    cameras = [m.span() for m in CAMERA_EXAMPLES.finditer(text)]
    return [
        (m[1], text.count("\n", 0, m.start()) + 2, m[2])
        for m in FENCE.finditer(text)
        if not any(a <= m.start() < b for a, b in cameras)
    ]


def readme_blocks() -> list[tuple[str, int, str]]:
    return page_blocks(REPO / "README.md")


def blocks_of(language: str) -> list[tuple[str, str]]:
    """(``page:line``, code) of every block in ``language`` on every page."""
    return [
        (f"{page.relative_to(REPO)}:{line}", code)
        for page in PAGES
        for block_language, line, code in page_blocks(page)
        if block_language == language
    ]


def shell_commands(code: str) -> list[list[str]]:
    """The commands of a bash block (continuation lines joined, comments dropped) as argument lists."""
    return [shlex.split(line, comments=True) for line in code.replace("\\\n", " ").splitlines() if line.strip()]


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    """A folder holding every input the README's blocks name."""
    import albumentations as A
    import torch

    from samcl.artifacts.checkpoint import save_checkpoint
    from samcl.models import build_model
    from tests.samcl_cli.conftest import checkpoint_payload

    folder = tmp_path_factory.mktemp("readme")
    faces = generate_faces(6, 64, 80, seed=4)
    np.save(folder / "face.npy", faces.images[0])
    np.save(folder / "face_mask.npy", faces.masks[0])
    for name in ("train.h5", "val.h5", "test.h5", "new_images.h5"):
        write_thermal_h5(folder / name, faces.images, faces.masks)
    A.save(A.Compose([A.HorizontalFlip(p=0.5)], seed=0), str(folder / "pipeline.yaml"), data_format="yaml")
    tfdb = generate_faces(4, 768, 1024, seed=5)  # Thermal Face Database look-alike: 2 subjects, .npy + .ljson
    for i in range(4):
        subject = folder / "TFDB_DIR" / f"sub{i % 2:03d}"
        subject.mkdir(parents=True, exist_ok=True)
        np.save(subject / f"irface_sub{i % 2:03d}_seq01_frm{i:05d}.npy", tfdb.images[i])
        write_ljson(subject / f"irface_sub{i % 2:03d}_seq01_frm{i:05d}.ljson", tfdb.landmarks[i])
    (folder / "FOLDER").mkdir()
    for i in range(2):
        np.save(folder / "FOLDER" / f"frame{i}.npy", faces.images[i])
    torch.manual_seed(0)
    state = build_model("unet", num_classes=6, base_width=4).state_dict()
    save_checkpoint(folder / "runs" / "unet_samcl" / "best.pt", checkpoint_payload(state))
    save_checkpoint(folder / "runs" / "unet_samcl" / "last.pt", checkpoint_payload(state))
    save_checkpoint(folder / "runs" / "live" / "best.pt", checkpoint_payload(state))  # docs/deploy.md's name
    return folder


@contextlib.contextmanager
def inside(folder: Path):
    previous = Path.cwd()
    os.chdir(folder)
    try:
        yield
    finally:
        os.chdir(previous)


def test_the_readme_has_only_python_bash_and_plain_blocks():
    languages = {language for language, _, _ in readme_blocks()}
    assert languages <= {"python", "bash", ""}, languages
    assert sum(language == "python" for language, _, _ in readme_blocks()) >= 4
    assert sum(language == "bash" for language, _, _ in readme_blocks()) >= 3


def test_the_readme_is_a_short_page_with_two_setup_commands():
    text = (REPO / "README.md").read_text()
    assert len(text.splitlines()) <= 250
    setup = text.split("## Set-up", 1)[1].split("\n## ", 1)[0]
    blocks = [m[2] for m in FENCE.finditer(setup) if m[1] == "bash"]
    assert [argv for code in blocks for argv in shell_commands(code)] == [["make", "demo"], ["make", "test"]]


def test_every_page_links_to_pages_that_exist():
    for page in PAGES:
        for target in re.findall(r"\]\(([^)#]+\.(?:md|ipynb|png))(?:#[^)]*)?\)", page.read_text()):
            if "://" not in target:
                assert (page.parent / target).exists(), (str(page.relative_to(REPO)), target)


@pytest.mark.parametrize(("where", "code"), blocks_of("python"))
def test_python_block_runs_as_written(workdir, where, code, capsys):
    with inside(workdir):
        exec(compile(code, f"{where} (block)", "exec"), {"__name__": "__readme__"})


def _parse_only(argv: list[str]) -> None:
    """Check a long-running command's arguments with the program's own parser, without running it."""
    program, args = argv[0], argv[1:]
    if program == "samcl-predict":  # a live camera
        from samcl.cli.predict_cmd import predict_main

        predict_main.make_context("samcl-predict", list(args))
        return
    if program == "make":
        for target in args:
            dry = subprocess.run(["make", "-n", "-C", str(REPO), target], capture_output=True, text=True)
            assert dry.returncode == 0, dry.stderr
        return
    if program == "torchrun":
        assert args[args.index("-m") + 1] == "samcl.cli.train_cmd"
        program, args = "samcl-train", [a for a in args[args.index("-m") + 2 :]]
    if program == "samcl-train":
        from samcl.cli.train_cmd import train
        from samcl.training.config import TrainConfig, read_config_file, resolve_config

        context = train.make_context("samcl-train", list(args))  # refuses unknown options and bad values
        fields = {f.name for f in dataclasses.fields(TrainConfig)}  # the rest: how to run, not what to train
        flags = {k: v for k, v in context.params.items() if k in fields}
        if context.params["resume"] is None:
            resolve_config(
                read_config_file(context.params["config_file"]) if context.params["config_file"] else None, flags
            )
        return
    assert program == "python" and args[0].endswith(".py"), argv
    helped = subprocess.run([sys.executable, str(REPO / args[0]), "--help"], capture_output=True, text=True)
    assert helped.returncode == 0, helped.stderr
    for option in (a for a in args[1:] if a.startswith("--")):
        assert option in helped.stdout, (option, argv)


def _run(argv: list[str]) -> None:
    """Run a README command in a subprocess, as a shell would (the program through ``python -m``)."""
    modules = {
        "tiaug": ["tiaug"],
        "samcl-eval": ["samcl.cli", "eval"],
        "samcl-predict": ["samcl.cli", "predict"],
        "samcl-export": ["samcl.cli", "export"],
    }
    assert argv[0] in modules, f"a README command the test does not know how to run: {argv}"
    env = dict(os.environ, PYTHONPATH=str(REPO), OMP_NUM_THREADS="1")
    done = subprocess.run(
        [sys.executable, "-m", *modules[argv[0]], *argv[1:]], capture_output=True, text=True, env=env, timeout=600
    )
    assert done.returncode == 0, (argv, done.stderr)


@pytest.mark.slow
@pytest.mark.parametrize(("where", "code"), blocks_of("bash"))
def test_bash_block_runs_as_written(workdir, where, code, tmp_path):
    """In a copy of the inputs: two pages may write the same output names."""
    folder = shutil.copytree(workdir, tmp_path / "work")
    with inside(folder):
        for argv in shell_commands(code):
            (_parse_only if parsed_only(argv) else _run)(argv)
