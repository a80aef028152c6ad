"""Helpers of the hostile-input tests: a time limit for code that might loop, a PNG header that claims any size."""

from __future__ import annotations

import contextlib
import signal
import struct
import zlib
from collections.abc import Iterator


class TookTooLong(Exception):
    """Raised inside the code under test when its time limit passes."""


@contextlib.contextmanager
def within(seconds: float) -> Iterator[None]:
    """Fail the block with :class:`TookTooLong` if it runs longer than ``seconds`` (SIGALRM: main thread only)."""

    def expire(*_: object) -> None:
        raise TookTooLong(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_header(width: int, height: int, rows: int = 1) -> bytes:
    """A 16-bit grey PNG that declares ``width`` x ``height`` pixels but holds only ``rows`` rows of zeros: what
    a decompression bomb looks like to a reader before it decodes anything."""
    ihdr = struct.pack(">IIBBBBB", width, height, 16, 0, 0, 0, 0)
    data = zlib.compress(b"\x00" * (rows * (1 + 2 * width)))
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", data) + _chunk(b"IEND", b"")
