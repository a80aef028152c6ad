"""The `tiaug` command line: one click group, one module per sub-command.

Sub-commands are imported only when they are run or their help is shown, and each command module imports its
heavy dependencies (NumPy, h5py, OpenCV, Albumentations and through it torch) inside the command, so
``tiaug --help`` and ``tiaug synth --help`` start at once and only ``tiaug augment`` loads Albumentations.
"""

from __future__ import annotations

import importlib

import click

from tiaug import __version__

#: command name -> "module:attribute" of its click command
COMMANDS = {
    "synth": "tiaug.cli.synth_cmd:synth",
    "augment": "tiaug.cli.augment_cmd:augment",
    "stats": "tiaug.cli.stats_cmd:stats",
    "preview": "tiaug.cli.preview_cmd:preview",
    "import-tfdb": "tiaug.cli.import_cmd:import_tfdb_cmd",
    "import-folder": "tiaug.cli.import_cmd:import_folder_cmd",
}


class LazyGroup(click.Group):
    """A click group that imports a sub-command's module the first time the command is looked up."""

    def __init__(self, *args, lazy_commands: dict[str, str] | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.lazy_commands = dict(lazy_commands or {})

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy_commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in self.lazy_commands:
            module, _, attribute = self.lazy_commands[cmd_name].partition(":")
            self.add_command(getattr(importlib.import_module(module), attribute), cmd_name)
        return super().get_command(ctx, cmd_name)


@click.group(cls=LazyGroup, lazy_commands=COMMANDS, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="tiaug")
def main() -> None:
    """TiAug: synthetic thermal faces, thermal augmentation and dataset tools.

    Images are temperatures in degrees Celsius stored in HDF5 files (`images` float32 (N, H, W),
    optional `masks` uint8 (N, H, W)). Run `tiaug COMMAND --help` for each command.
    """
