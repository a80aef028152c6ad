"""Every command's --help: an Examples section whose command lines use only the command's own options, defaults
in one style (``[default: ...]``), and the placeholders of its first line among its arguments and options."""

from __future__ import annotations

import re
import shlex

import click
import pytest

from samcl.cli.eval_cmd import eval_main
from samcl.cli.export_cmd import export_main
from samcl.cli.predict_cmd import predict_main
from samcl.cli.train_cmd import train
from tiaug.cli import main as tiaug_main

#: acronyms that may stand in capitals in a first line without being a placeholder
ACRONYMS = {"HDF5", "PNG", "JSON", "CSV", "CUDA", "GPU", "CPU", "SAM", "CL", "IN", "N"}


def commands() -> list[tuple[str, click.Command]]:
    """(program as typed, command) for the tiaug group, each tiaug command and the samcl commands."""
    ctx = click.Context(tiaug_main)
    found = [("tiaug", tiaug_main)]
    found += [(f"tiaug {name}", tiaug_main.get_command(ctx, name)) for name in tiaug_main.list_commands(ctx)]
    found += [("samcl-train", train), ("samcl-eval", eval_main), ("samcl-predict", predict_main)]
    found += [("samcl-export", export_main)]
    return found


COMMANDS = commands()
IDS = [program for program, _ in COMMANDS]


def help_text(program: str, command: click.Command) -> str:
    with click.Context(command, info_name=program) as ctx:
        return command.get_help(ctx)


def option_names(command: click.Command) -> set[str]:
    return {name for param in command.params for name in (*param.opts, *param.secondary_opts)}


@pytest.mark.parametrize(("program", "command"), COMMANDS, ids=IDS)
def test_help_ends_with_examples_of_this_command(program, command):
    text = help_text(program, command)
    assert "\nExamples:\n" in text, program
    examples = [line.strip() for line in text.split("\nExamples:\n", 1)[1].splitlines() if line.strip()]
    assert examples, program
    names = option_names(command) | {"--help", "-h"}
    if program == "tiaug":
        ctx = click.Context(command)
        names |= {name for sub in command.list_commands(ctx) for name in option_names(command.get_command(ctx, sub))}
    for example in examples:
        argv = shlex.split(example)
        launcher = ["torchrun"] if program == "samcl-train" and argv[0] == "torchrun" else program.split()
        assert argv[: len(launcher)] == launcher, (program, example)
        if argv[0] == "torchrun":
            argv = argv[argv.index("samcl.cli.train_cmd") + 1 :]
        unknown = [a.split("=")[0] for a in argv if a.startswith("-") and a.split("=")[0] not in names]
        unknown = [a for a in unknown if not re.fullmatch(r"-\d+(\.\d+)?", a)]  # negative numbers are values
        assert not unknown, (program, example, unknown)


@pytest.mark.parametrize(("program", "command"), COMMANDS, ids=IDS)
def test_defaults_are_shown_in_one_style(program, command):
    with click.Context(command, info_name=program) as ctx:
        for param in command.params:
            record = param.get_help_record(ctx)
            if record is None:
                continue
            help_line = record[1]
            assert "(default" not in help_line, (program, param.name, help_line)
            trailing = r"\[([^\[\]]*)\](?=(?:\s+\[[^\[\]]*\])*\s*$)"  # the bracketed notes ending the help
            for bracket in re.findall(trailing, help_line):
                first = bracket.split(";")[0].strip()
                shown_by_click = first in ("required", "finite") or re.fullmatch(r"[\d.]*[<>=x]+.*", first)
                assert first.startswith("default: ") or shown_by_click, (program, param.name, bracket)


@pytest.mark.parametrize(("program", "command"), COMMANDS, ids=IDS)
def test_placeholders_of_the_first_line_are_arguments_or_options(program, command):
    text = help_text(program, command)
    usage, options = text.split("\n", 1)[0], text.split("\nOptions:\n", 1)[1]
    first_line = re.sub(r"\([^)]*\)", "", (command.help or "").strip().splitlines()[0])  # not the (N, H, W)s
    for word in re.findall(r"\b[A-Z][A-Z0-9_]*(?:\.h5)?\b", first_line):
        if word not in ACRONYMS:
            assert word in usage or re.search(rf"(--?[\w-]+|,) {re.escape(word)}\b", options), (program, word)
