"""The `tiaug` command line: one click group, one module per sub-command."""

from __future__ import annotations

import click

from tiaug import __version__


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="tiaug")
def main() -> None:
    """TiAug: synthetic thermal faces, thermal augmentation and dataset tools.

    Images are temperatures in degrees Celsius stored in HDF5 files (`images` float32 (N, H, W),
    optional `masks` uint8 (N, H, W)). Run `tiaug COMMAND --help` for each command.
    """


def _register() -> None:
    """Attach the sub-commands (kept in their own modules)."""
    # Sub-command modules are imported here so `tiaug --help` lists them all.
    from tiaug.cli.augment_cmd import augment
    from tiaug.cli.import_cmd import import_folder_cmd, import_tfdb_cmd
    from tiaug.cli.preview_cmd import preview
    from tiaug.cli.stats_cmd import stats
    from tiaug.cli.synth_cmd import synth
    from tiaug.cli.video_cmd import import_video_cmd

    for command in (synth, augment, stats, preview, import_tfdb_cmd, import_folder_cmd, import_video_cmd):
        main.add_command(command)


_register()
