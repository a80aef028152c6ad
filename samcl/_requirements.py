"""A clear message instead of a raw ``ModuleNotFoundError`` when PyTorch (the ``samcl`` extra) is missing.

Checked when ``samcl`` is imported (whether torch is installed, without importing it). Without torch, the
``samcl-*`` commands (console scripts or ``python -m samcl.cli ...``) print one line naming the extra and exit
with status 1; an ``import samcl`` raises a ``ModuleNotFoundError`` with the same message.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

MISSING_TORCH = (
    "samcl needs PyTorch, which is not installed in this Python environment: install the 'samcl' extra, e.g. "
    "pip install 'tiaug-samcl[samcl]' (or first the torch build for your machine, see pytorch.org)"
)
COMMANDS = ("samcl-train", "samcl-eval", "samcl-predict", "samcl-export")


def running_a_samcl_command(argv: list[str] | None = None, orig_argv: list[str] | None = None) -> bool:
    """Whether this process is a samcl command: a ``samcl-*`` script, or ``python -m samcl.cli...``."""
    argv = sys.argv if argv is None else argv
    orig_argv = getattr(sys, "orig_argv", []) if orig_argv is None else orig_argv
    if argv and Path(argv[0]).name.removesuffix(".exe") in COMMANDS:
        return True
    if not argv or argv[0] != "-m":  # python sets argv[0] to "-m" while it imports the packages of `-m MODULE`
        return False
    module = next((orig_argv[i + 1] for i, arg in enumerate(orig_argv[:-1]) if arg == "-m"), "")
    return module == "samcl.cli" or module.startswith("samcl.cli.")


def torch_installed() -> bool:
    """Whether torch can be imported: already imported (or deliberately blocked with ``sys.modules["torch"] =
    None``, as tests that check what a command loads do), or found on the path."""
    if "torch" in sys.modules:
        return True
    try:
        return importlib.util.find_spec("torch") is not None
    except (ImportError, ValueError):
        return False


def require_torch() -> None:
    """Return if torch is installed (without importing it: ``import samcl`` stays light); else stop a samcl
    command with :data:`MISSING_TORCH`, or raise it as a ``ModuleNotFoundError`` on import."""
    if torch_installed():
        return
    if running_a_samcl_command():
        print(f"Error: {MISSING_TORCH}", file=sys.stderr)
        raise SystemExit(1)
    raise ModuleNotFoundError(MISSING_TORCH, name="torch")


require_torch()
