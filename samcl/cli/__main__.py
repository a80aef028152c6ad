"""``python -m samcl.cli COMMAND ARGS``: the samcl-* console scripts without installing them.

COMMAND is ``eval``, ``predict`` or ``train`` (whichever ``samcl.cli`` defines as ``<command>_main``).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import click

import samcl.cli as cli


def commands() -> dict[str, Callable[[], Any]]:
    return {name.removesuffix("_main"): getattr(cli, name) for name in sorted(dir(cli)) if name.endswith("_main")}


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    available = commands()
    if not argv or argv[0] not in available:
        lines = [f"usage: python -m samcl.cli {{{','.join(available)}}} [ARGS]...", ""]
        lines += [f"  {name:<8} = samcl-{name}  (python -m samcl.cli {name} --help)" for name in available]
        asked = argv[:1] in (["-h"], ["--help"])
        click.echo("\n".join(lines), err=not asked)
        sys.exit(0 if asked else 2)
    name, rest = argv[0], argv[1:]
    sys.argv = [f"samcl-{name}", *rest]  # each entry point is a plain function reading sys.argv
    sys.exit(available[name]())


if __name__ == "__main__":
    main()
