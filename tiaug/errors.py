"""The user-error type of tiaug and samcl, and how a command turns any failure into one line.

``UserError`` marks a refusal caused by what the user asked for (a bad file, flag, value or output path), as
opposed to a bug. It is a ``ValueError``, so library callers that catch ``ValueError`` keep working, and it
pickles whatever its subclass's ``__init__`` takes, so it crosses process boundaries (multiprocessing pools)
intact. :func:`portable` makes any exception safe to send back from a worker process.
"""

from __future__ import annotations

import errno
import pickle
import re
from typing import Any


def _rebuild(cls: type[BaseException], args: tuple, state: dict[str, Any]) -> BaseException:
    error = cls.__new__(cls)
    BaseException.__init__(error, *args)
    error.__dict__.update(state)
    return error


class UserError(ValueError):
    """Bad input, a bad option or a refused output: the commands print ``Error: <message>`` and exit with 1."""

    def __reduce__(self) -> tuple:
        return _rebuild, (type(self), self.args, dict(self.__dict__))


def portable(error: BaseException) -> BaseException:
    """``error`` if it survives pickling (as it must to leave a worker process), else a ``RuntimeError`` (bug) or
    ``UserError`` (a ``ValueError``) carrying its type and message."""
    try:
        pickle.loads(pickle.dumps(error))
        return error
    except Exception:
        kind = UserError if isinstance(error, ValueError) else RuntimeError
        return kind(f"{one_line(error)} ({type(error).__name__})")


_PYDANTIC_HEADER = re.compile(r"^\d+ validation errors? for \w+$")
_PYDANTIC_TAIL = re.compile(r"\s*\[type=[^\]]*\]$")


def one_line(error: BaseException | str) -> str:
    """The message of ``error`` on one line; pydantic's "1 validation error for InitSchema ..." text (what
    Albumentations raises for bad transform arguments) becomes ``field: problem``, several joined by "; "."""
    lines = [line for line in str(error).strip().splitlines() if line.strip()]
    if lines and _PYDANTIC_HEADER.match(lines[0].strip()):
        problems, where = [], ""
        for line in lines[1:]:
            if line.strip().startswith("For further information"):
                continue
            if not line.startswith(" "):
                where = line.strip()
                continue
            problem = _PYDANTIC_TAIL.sub("", line.strip()).removeprefix("Value error, ")
            problems.append(f"{where}: {problem}" if where else problem)
            where = ""
        if problems:
            return "; ".join(problems)
    return " ".join(" ".join(lines).split())


#: errno -> what ran out, for the failures of a full disk or a limit (they are the user's to fix, not bugs)
_EXHAUSTED = {
    errno.ENOSPC: "no space left on the device",
    errno.EDQUOT: "the disk quota is exceeded",
    errno.EFBIG: "the file size limit is reached",
}
_HDF5_ERRNO = re.compile(r"errno = (\d+)")


def exhaustion(error: BaseException) -> str | None:
    """What ran out when ``error`` is a full disk, a quota, a file size limit or a failed allocation (HDF5's own
    errors included, which carry the errno in their text); None for any other error."""
    if isinstance(error, MemoryError):
        return "out of memory"
    number = getattr(error, "errno", None)
    if number not in _EXHAUSTED and isinstance(error, OSError | RuntimeError):
        found = _HDF5_ERRNO.search(str(error))
        number = int(found[1]) if found else None
    return _EXHAUSTED.get(number) if number is not None else None
