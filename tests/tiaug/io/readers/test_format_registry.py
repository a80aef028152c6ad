"""The camera format registry (``FORMAT_SPECS``) drives detection, opening and every command's help."""

from __future__ import annotations

import importlib

import pytest

from tiaug.io.readers import detect_format, folder_files
from tiaug.io.readers.formats import FORMAT_SPECS, FORMATS, HEADERLESS_SUFFIXES

READING_COMMANDS = ["import-folder", "import-video"]


@pytest.mark.parametrize("spec", FORMAT_SPECS, ids=lambda spec: spec.name)
def test_each_spec_names_a_callable_opener_and_is_a_format_choice(spec):
    module, _, function = spec.opener.partition(":")
    assert callable(getattr(importlib.import_module(module), function))
    assert spec.name in FORMATS and spec.suffixes == tuple(s.lower() for s in spec.suffixes)


@pytest.mark.parametrize("spec", [s for s in FORMAT_SPECS if s.magic], ids=lambda spec: spec.name)
def test_magic_and_name_pick_the_spec(tmp_path, spec):
    for magic in spec.magic:
        path = tmp_path / f"file{spec.suffixes[0]}"
        path.write_bytes(magic + b"\x00" * 64)
        assert detect_format(path) == spec.name
        assert path in folder_files(tmp_path)


def test_headerless_files_name_every_headerless_format(tmp_path):
    path = tmp_path / f"frames{HEADERLESS_SUFFIXES[0]}"
    path.write_bytes(b"\x01\x02" * 64)
    with pytest.raises(Exception, match="headerless") as refused:
        detect_format(path)
    for spec in FORMAT_SPECS:
        assert (f"--format {spec.name}" in str(refused.value)) == spec.headerless


@pytest.mark.parametrize("command", READING_COMMANDS)
def test_help_lists_every_format_and_its_files(cli, command):
    def squeezed(text: str) -> str:  # click wraps lines, at hyphens too
        return "".join(text.split())

    text = squeezed(cli(command, "--help").output)
    for spec in FORMAT_SPECS:
        assert squeezed(f"{spec.name}: {spec.help}") in text
        if spec.magic:
            assert squeezed(f"{'/'.join(spec.suffixes)} {spec.help}") in text
