"""Exceptions of tiaug's file handling: each names the file, the key (dataset, attribute) and the problem."""

from __future__ import annotations

import os

from tiaug.errors import UserError


class TiaugIOError(UserError):
    """Base class: a file tiaug was asked to read or write is refused (pickles across processes)."""


class ThermalDataError(TiaugIOError):
    """An input file does not hold valid thermal data (missing key, wrong units, NaN pixels, ...)."""

    def __init__(self, path: str | os.PathLike, key: str | None, problem: str) -> None:
        self.path = os.fspath(path)
        self.key = key
        self.problem = problem
        where = f"{self.path}" if key is None else f"{self.path}, '{key}'"
        super().__init__(f"{where}: {problem}")

    def __reduce__(self) -> tuple:
        # rebuilt from its three fields, so the error crosses from an augment worker process to the main one
        return type(self), (self.path, self.key, self.problem)


class OutputPathError(TiaugIOError):
    """An output path is refused (exists without overwrite, is one of the inputs, its folder is missing)."""
