"""Which reader a file needs: its first bytes (magic numbers) first, then its name; ambiguous files are refused.

| format | magic bytes | names |
|---|---|---|
| npy | ``\\x93NUMPY`` | .npy |
| tiff | ``II*\\0``, ``MM\\0*`` (BigTIFF ``II+\\0``, ``MM\\0+``) | .tif, .tiff |
| rjpeg | ``\\xff\\xd8\\xff`` (a JPEG; the reader then looks for FLIR's radiometric segments) | .jpg, .jpeg |
| fff / seq | ``FFF\\0`` (a FLIR file; a .seq is a series of them) | .fff / .seq |
| tc001, lepton, raw | none: headerless uint16 frames | .bin, .raw, .dat, .y16 (never guessed) |

TC001, Lepton and raw counts stored in .npy or .tiff files look like any integer array: ``auto`` reads them as
npy/tiff and refuses integer pixels without ``--scale``, naming ``--format tc001`` and ``--format lepton``.
"""

from __future__ import annotations

from pathlib import Path

from tiaug.io.errors import ThermalDataError
from tiaug.io.h5.atomic import PathLike

MAGIC = (
    (b"\x93NUMPY", "npy"),
    (b"II*\x00", "tiff"),
    (b"MM\x00*", "tiff"),
    (b"II+\x00", "tiff"),
    (b"MM\x00+", "tiff"),
    (b"\xff\xd8\xff", "rjpeg"),
    (b"FFF\x00", "fff"),
)
HEADERLESS_SUFFIXES = (".bin", ".raw", ".dat", ".y16")
#: File names each format picks up in a folder.
FORMAT_SUFFIXES = {
    "npy": (".npy",),
    "tiff": (".tif", ".tiff"),
    "rjpeg": (".jpg", ".jpeg"),
    "fff": (".fff",),
    "seq": (".seq",),
    "tc001": (".npy", ".tif", ".tiff", *HEADERLESS_SUFFIXES),
    "lepton": (".npy", ".tif", ".tiff", *HEADERLESS_SUFFIXES),
    "raw": (".npy", ".tif", ".tiff", *HEADERLESS_SUFFIXES),
}
AUTO_SUFFIXES = (*dict.fromkeys(s for suffixes in FORMAT_SUFFIXES.values() for s in suffixes), ".csq")
UNSUPPORTED = {
    ".csq": "a FLIR .csq recording holds JPEG-LS compressed frames, which no reader here decodes; "
    "export it as .seq (or as radiometric JPEGs) in FLIR's software",
}
HEADERLESS_HINT = (
    "headerless frames cannot be told apart by their content: pass --format tc001 (TOPDON TC001 / InfiRay "
    "256x384 UVC frames, 1/64 K), --format lepton (FLIR Lepton centi-kelvin, --raw-size HxW if not 120x160) or "
    "--format raw --raw-size HxW --scale S [--offset O]"
)


def magic_format(path: PathLike) -> str | None:
    """The format the first bytes of ``path`` announce, or None. Refuses an empty or unreadable file."""
    try:
        with open(path, "rb") as f:
            head = f.read(8)
    except OSError as e:
        raise ThermalDataError(path, None, f"cannot be read ({e.strerror or e})") from None
    if not head:
        raise ThermalDataError(path, None, "is empty (0 bytes)")
    return next((fmt for magic, fmt in MAGIC if head.startswith(magic)), None)


def detect_format(path: PathLike) -> str:
    """The reader ``auto`` picks for ``path``: one of npy, tiff, rjpeg, fff, seq; refuses what it cannot tell."""
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix in UNSUPPORTED:
        raise ThermalDataError(p, None, UNSUPPORTED[suffix])
    by_magic = magic_format(p)
    if by_magic == "fff":
        return "seq" if suffix == ".seq" else "fff"
    if by_magic is not None:
        return by_magic
    if suffix in HEADERLESS_SUFFIXES:
        raise ThermalDataError(p, None, HEADERLESS_HINT)
    named = next((fmt for fmt, suffixes in FORMAT_SUFFIXES.items() if suffix in suffixes), None)
    if named is not None:
        raise ThermalDataError(p, None, f"is named like a {named} file but its content is not one (damaged?)")
    raise ThermalDataError(
        p,
        None,
        "is not a recognised thermal file (by content or name); supported: .npy, .tif/.tiff, FLIR radiometric "
        ".jpg, .fff, .seq, and headerless frames with --format tc001|lepton|raw",
    )
