"""Exceptions of tiaug's file handling: each names the file, the key (dataset, attribute) and the problem."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, TypeVar

from tiaug.errors import UserError, one_line

T = TypeVar("T")


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


class ReadOptionsError(ValueError):
    """Read options that do not fit the format (e.g. ``--format raw`` without ``--scale``): the command's
    mistake, not the file's, so never turned into a refusal of the file."""


def guarded(where: str | os.PathLike, read: Callable[..., T], *args: Any) -> T:
    """``read(*args)``, with any failure other than a user error or an options error turned into a
    :class:`ThermalDataError` naming ``where``: a damaged or hostile file can make a parser raise anything
    (OverflowError, struct.error, KeyError, MemoryError, a library's own errors), and every reader's caller
    gets one kind of refusal."""
    try:
        return read(*args)
    except (UserError, ReadOptionsError):
        raise
    except MemoryError:
        raise ThermalDataError(where, None, "needs more memory than there is to read (damaged?)") from None
    except Exception as e:
        raise ThermalDataError(where, None, f"cannot be read ({type(e).__name__}: {one_line(e)})") from e
