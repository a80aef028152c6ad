"""The `tiaug` command line: one click group, one module per sub-command.

Sub-commands are imported only when they run or show their own help, and ``tiaug --help`` lists them from
their docstrings without importing them, so the group starts at once; only the commands that run a pipeline
(``tiaug augment``) load Albumentations. The console script (:func:`run`) never imports PyTorch.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import os
import sys
from pathlib import Path

import click

from tiaug import __version__
from tiaug.cli.common import CONTEXT, Group

#: command name -> "module:function" of its click command
COMMANDS = {
    "synth": "tiaug.cli.synth_cmd:synth",
    "augment": "tiaug.cli.augment_cmd:augment",
    "stats": "tiaug.cli.stats_cmd:stats",
    "preview": "tiaug.cli.preview_cmd:preview",
    "import-tfdb": "tiaug.cli.import_cmd:import_tfdb_cmd",
    "import-folder": "tiaug.cli.import_cmd:import_folder_cmd",
    "import-video": "tiaug.cli.video_cmd:import_video_cmd",
    "merge": "tiaug.cli.merge_cmd:merge",
}


def _docstring(spec: str) -> str | None:
    """The docstring of the function behind ``module:function``, read from its source without importing it."""
    module, _, function = spec.partition(":")
    found = importlib.util.find_spec(module)
    if found is None or not found.origin:
        return None
    for node in ast.parse(Path(found.origin).read_text(encoding="utf-8")).body:
        if isinstance(node, ast.FunctionDef) and node.name == function:
            return ast.get_docstring(node)
    return None


class LazyGroup(Group):
    """A click group that imports a sub-command's module the first time the command itself is needed (failures
    are reported as one line, see :class:`~tiaug.cli.common.Group`)."""

    def __init__(self, *args, lazy_commands: dict[str, str] | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.lazy_commands = dict(lazy_commands or {})

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy_commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in self.lazy_commands:
            module, _, function = self.lazy_commands[cmd_name].partition(":")
            self.add_command(getattr(importlib.import_module(module), function), cmd_name)
        return super().get_command(ctx, cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The command list of ``--help``: short help from each command's docstring, nothing imported."""
        names = self.list_commands(ctx)
        limit = formatter.width - 6 - max(map(len, names), default=0)
        rows = []
        for name in names:
            doc = None if name in self.commands else _docstring(self.lazy_commands[name])
            if doc is None:
                command = self.get_command(ctx, name)
                assert command is not None  # every listed name is a command
                rows.append((name, command.get_short_help_str(limit)))
            else:
                rows.append((name, click.Command(name, help=doc).get_short_help_str(limit)))  # click's own shortening
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


@click.group(
    cls=LazyGroup,
    lazy_commands=COMMANDS,
    context_settings=CONTEXT,
    examples=(
        "tiaug synth faces.h5 -n 100 --seed 0",
        "tiaug augment faces.h5 faces_tiaug.h5 --copies 2",
        "tiaug synth --help",
    ),
)
@click.version_option(__version__, prog_name="tiaug")
def main() -> None:
    """TiAug: synthetic thermal faces, thermal augmentation and dataset tools.

    Images are temperatures in degrees Celsius stored in HDF5 files (`images` float32 (N, H, W),
    optional `masks` uint8 (N, H, W)). Run `tiaug COMMAND --help` for each command.
    """


def run() -> None:
    """The ``tiaug`` console script (and ``python -m tiaug``): :func:`main` in a process that never imports torch.

    Albumentations imports PyTorch whenever it is installed (about 1.3 s at start-up and 0.5 s at exit, for
    nothing: no tiaug command needs it) and asks PyPI for a newer version of itself on import. In this process
    only, torch is made unimportable (Albumentations then skips its PyTorch transforms) and the version check is
    turned off unless ``NO_ALBUMENTATIONS_UPDATE`` is already set. :func:`main` itself, e.g. in tests or in a
    program that uses torch, changes neither.
    """
    # `import torch` now raises ImportError, unless already imported (typeshed does not know None entries)
    sys.modules.setdefault("torch", None)  # type: ignore[arg-type]
    os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")
    main()
