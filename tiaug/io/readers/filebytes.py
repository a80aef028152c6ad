"""A file read piece by piece at given offsets, so that memory holds only what was read.

A memory map would be simpler, but every page of a long recording it touches counts in the process's resident
memory until the kernel drops it; reading each frame into a fresh buffer keeps memory at one frame.
"""

from __future__ import annotations

import os
from pathlib import Path

from tiaug.io.errors import ThermalDataError


class FileBytes:
    """``len()``, ``[a:b]`` (bytes), ``read(offset, size)`` and ``find(sub, start)`` over a file on disk."""

    def __init__(self, path: Path) -> None:
        try:
            self._file = open(path, "rb")  # noqa: SIM115 - closed in close()
            self._size = os.fstat(self._file.fileno()).st_size
        except OSError as e:
            raise ThermalDataError(path, None, f"cannot be read ({e.strerror or e})") from None

    def __len__(self) -> int:
        return self._size

    def read(self, offset: int, size: int) -> bytes:
        self._file.seek(offset)
        return self._file.read(max(0, size))

    def __getitem__(self, key: slice) -> bytes:
        start, stop, _ = key.indices(self._size)
        return self.read(start, stop - start)

    def find(self, sub: bytes, start: int, limit: int | None = None, chunk: int = 1 << 20) -> int:
        """Offset of the first ``sub`` starting at or after ``start`` and before ``limit`` (default: the end), or
        -1; reads ``chunk`` bytes at a time."""
        stop = self._size if limit is None else min(limit, self._size)
        while start < stop:
            block = self.read(start, min(chunk, stop - start) + len(sub) - 1)
            hit = block.find(sub)
            if 0 <= hit < stop - start:
                return start + hit
            start += chunk
        return -1

    def window(self, offset: int, size: int) -> FileWindow:
        """The ``size`` bytes at ``offset`` as a sliceable view that reads only the slices asked for."""
        return FileWindow(self, offset, min(size, max(0, self._size - offset)))

    def close(self) -> None:
        self._file.close()


class FileWindow:
    """``len()`` and ``[a:b]`` (bytes) over ``size`` bytes of a :class:`FileBytes` from ``offset`` on."""

    def __init__(self, source: FileBytes, offset: int, size: int) -> None:
        self._source, self._offset, self._size = source, offset, size

    def __len__(self) -> int:
        return self._size

    def __getitem__(self, key: slice) -> bytes:
        start, stop, _ = key.indices(self._size)
        return self._source.read(self._offset + start, stop - start)
