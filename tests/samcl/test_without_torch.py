"""Without PyTorch (the 'samcl' extra), the samcl commands name the extra to install instead of a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from samcl._requirements import running_a_samcl_command
from tests.helpers.files import REPO

COMMANDS = ("samcl-train", "samcl-eval", "samcl-predict")


def _without_torch(tmp_path: Path, *argv: str) -> subprocess.CompletedProcess:
    """Run ``argv`` with torch not found, as if it were not installed (a sitecustomize hides it)."""
    (tmp_path / "sitecustomize.py").write_text(
        "import sys\n\n\nclass NoTorch:\n    @staticmethod\n    def find_spec(name, path=None, target=None):\n"
        "        if name.split('.')[0] == 'torch':\n"
        "            raise ModuleNotFoundError(f'No module named {name!r}', name=name)\n\n\n"
        "sys.meta_path.insert(0, NoTorch)\n"
    )
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(tmp_path), str(REPO)]))
    return subprocess.run(list(argv), capture_output=True, text=True, env=env, timeout=120)


@pytest.mark.parametrize(
    "argv",
    [[name, "--help"] for name in COMMANDS]
    + [["-m", "samcl.cli", name.removeprefix("samcl-"), "--help"] for name in COMMANDS]
    + [["-m", "samcl.cli.train_cmd", "--data", "x.h5"]],  # as torchrun starts it
    ids=lambda argv: " ".join(argv),
)
def test_samcl_commands_name_the_extra(tmp_path, argv):
    if argv[0] in COMMANDS:
        script = Path(sys.executable).parent / argv[0]
        if not script.exists():
            pytest.skip(f"{argv[0]} is not installed as a console script beside {sys.executable}")
        argv = [str(script), *argv[1:]]
    else:
        argv = [sys.executable, *argv]
    res = _without_torch(tmp_path, *argv)
    assert res.returncode == 1
    assert res.stderr.strip() == (
        "Error: samcl needs PyTorch, which is not installed in this Python environment: install the 'samcl' extra, "
        "e.g. pip install 'tiaug-samcl[samcl]' (or first the torch build for your machine, see pytorch.org)"
    )
    assert "Traceback" not in res.stderr and res.stdout == ""


def test_import_raises_a_module_not_found_error_naming_the_extra(tmp_path):
    res = _without_torch(tmp_path, sys.executable, "-c", "import samcl")
    assert res.returncode == 1
    assert res.stderr.strip().splitlines()[-1].startswith("ModuleNotFoundError: samcl needs PyTorch")
    assert "tiaug-samcl[samcl]" in res.stderr
    tiaug = _without_torch(tmp_path, sys.executable, "-m", "tiaug", "--help")  # tiaug itself needs no torch
    assert tiaug.returncode == 0 and "synth" in tiaug.stdout


def test_which_processes_count_as_samcl_commands():
    assert running_a_samcl_command(["/venv/bin/samcl-eval", "--help"], ["python", "/venv/bin/samcl-eval"])
    assert running_a_samcl_command(["-m"], ["python", "-u", "-m", "samcl.cli.train_cmd", "--data", "x"])
    assert not running_a_samcl_command(["-c"], ["python", "-c", "import samcl"])
    assert not running_a_samcl_command(["script.py"], ["python", "script.py", "-m", "samcl.cli"])
    assert not running_a_samcl_command(["-m"], ["python", "-m", "pytest", "-m", "samcl.cli"])
