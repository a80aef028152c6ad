"""The benchmark scripts (``benchmarks/*.py``) imported as modules, as they import each other."""

from __future__ import annotations

import importlib
import sys
from types import ModuleType

from tests.helpers.files import REPO

BENCHMARKS = REPO / "benchmarks"


def load_benchmark(name: str) -> ModuleType:
    """Import ``benchmarks/NAME.py`` with the benchmarks folder on ``sys.path`` (the scripts import each other)."""
    if str(BENCHMARKS) not in sys.path:
        sys.path.insert(0, str(BENCHMARKS))
    return importlib.import_module(name)
