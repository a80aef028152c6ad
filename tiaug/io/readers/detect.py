"""Which reader a file needs: its first bytes (each format's magic numbers, :data:`.formats.FORMAT_SPECS`) first,
then its name; ambiguous files are refused.

Formats sharing a magic number (a ``.fff`` frame and a ``.seq`` recording of them) are told apart by the name.
Headerless frames (TC001, Lepton, raw counts) have none and are never guessed; stored in .npy or .tiff files
they look like any integer array: ``auto`` reads them as npy/tiff and refuses integer pixels without
``--scale``, naming ``--format tc001`` and ``--format lepton``.
"""

from __future__ import annotations

from pathlib import Path

from tiaug.io.errors import ThermalDataError
from tiaug.io.h5.atomic import PathLike
from tiaug.io.readers.formats import FORMAT_SPECS, HEADERLESS_SUFFIXES, SPECS, UNSUPPORTED, headerless_hint

MAGIC_BYTES = max(len(magic) for spec in FORMAT_SPECS for magic in spec.magic)


def _announced(head: bytes) -> list[str]:
    """The formats whose magic number ``head`` starts with, in table order."""
    return [spec.name for spec in FORMAT_SPECS if any(head.startswith(m) for m in spec.magic)]


def _head(path: PathLike) -> bytes:
    """The first bytes of ``path``; refuses an empty or unreadable file."""
    try:
        with open(path, "rb") as f:
            head = f.read(MAGIC_BYTES)
    except OSError as e:
        raise ThermalDataError(path, None, f"cannot be read ({e.strerror or e})") from None
    if not head:
        raise ThermalDataError(path, None, "is empty (0 bytes)")
    return head


def magic_format(path: PathLike) -> str | None:
    """The (first) format the first bytes of ``path`` announce, or None. Refuses an empty or unreadable file."""
    return next(iter(_announced(_head(path))), None)


def _supported() -> str:
    named = ", ".join("/".join(spec.suffixes) for spec in FORMAT_SPECS if spec.magic)
    headerless = "|".join(spec.name for spec in FORMAT_SPECS if spec.headerless)
    return f"supported: {named}, and headerless frames with --format {headerless}"


def detect_format(path: PathLike) -> str:
    """The reader ``auto`` picks for ``path`` (a format announced by its content); refuses what it cannot tell."""
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix in UNSUPPORTED:
        raise ThermalDataError(p, None, UNSUPPORTED[suffix])
    candidates = _announced(_head(p))
    if candidates:
        named = [fmt for fmt in candidates if suffix in SPECS[fmt].suffixes]
        return (named or candidates)[0]
    if suffix in HEADERLESS_SUFFIXES:
        raise ThermalDataError(p, None, headerless_hint())
    named_like = next((spec.name for spec in FORMAT_SPECS if spec.magic and suffix in spec.suffixes), None)
    if named_like is not None:
        raise ThermalDataError(p, None, f"is named like a {named_like} file but its content is not one (damaged?)")
    raise ThermalDataError(p, None, f"is not a recognised thermal file (by content or name); {_supported()}")
