"""Fixtures shared by every test folder: click commands run in-process. Helpers that tests import live in
``tests/helpers/``; fixtures used by one folder only live in that folder's conftest."""

from __future__ import annotations

from collections.abc import Callable

import click
import pytest
from click.testing import CliRunner, Result

from tiaug.cli import main as tiaug_main


@pytest.fixture
def invoke() -> Callable[..., Result]:
    """Run a click command in-process: ``invoke(command, *args)`` -> click Result (exceptions propagate)."""
    runner = CliRunner()

    def run(command: click.Command, *args: object) -> Result:
        return runner.invoke(command, [str(a) for a in args], catch_exceptions=False)

    return run


@pytest.fixture
def cli(invoke) -> Callable[..., Result]:
    """Run the ``tiaug`` command group in-process: ``cli(*args)`` -> click Result."""
    return lambda *args: invoke(tiaug_main, *args)
