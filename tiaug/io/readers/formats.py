"""The camera formats, one :class:`FormatSpec` each: the single table that detection (:mod:`.detect`), opening
(:func:`tiaug.io.readers.open_source`) and every command line's ``--format`` choices and help are built from.

Adding a format: one entry in :data:`FORMAT_SPECS` and the reader module its ``opener`` names. This module has
no dependencies, so ``--help`` reads it without loading NumPy.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator
from dataclasses import dataclass

CAMERAS_EXTRA = "pip install 'tiaug-samcl[cameras]'"
#: ``--raw-dtype`` name -> NumPy dtype string of a headerless file's pixels.
RAW_DTYPES = {"uint16": "<u2", "uint16be": ">u2", "float32": "<f4"}
#: Names of headerless files (frames back to back without a header): only read with an explicit ``--format``.
HEADERLESS_SUFFIXES = (".bin", ".raw", ".dat", ".y16")
#: Largest frame any reader accepts, (height, width) pixels: a declared size beyond it is a damaged or hostile
#: file, refused before anything is allocated.
MAX_FRAME = (8192, 8192)


@dataclass(frozen=True)
class FormatSpec:
    """One ``--format`` choice.

    ``help``: one line for ``--help``; ``suffixes``: file names a folder scan picks up (lower case, with the
    dot); ``opener``: ``"module:function"`` called as ``function(path, name, options)`` and returning a
    ``FrameSource``; ``magic``: first bytes that announce the format to ``auto`` (none: never guessed from
    content); ``headerless``: also read from headerless files, which ``auto`` never guesses.
    """

    name: str
    help: str
    suffixes: tuple[str, ...]
    opener: str
    magic: tuple[bytes, ...] = ()
    headerless: bool = False


_ARRAYS = "tiaug.io.readers.arrays:open_array"
_FFF = "tiaug.io.readers.fff:open_fff"


def _camera_counts(name: str, help: str) -> FormatSpec:
    """A camera's raw counts: read from array files or headerless files, never guessed by ``auto``."""
    return FormatSpec(name, help, (".npy", ".tif", ".tiff", ".png", *HEADERLESS_SUFFIXES), _ARRAYS, headerless=True)


FORMAT_SPECS = (
    FormatSpec(
        "npy",
        "temperatures in degrees Celsius; integer counts need --scale/--offset",
        (".npy",),
        _ARRAYS,
        (b"\x93NUMPY",),
    ),
    FormatSpec(
        "tiff",
        "temperatures, one frame per page; integer counts need --scale/--offset",
        (".tif", ".tiff"),
        _ARRAYS,
        (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"),
    ),
    FormatSpec(
        "png",
        "single-channel integer images (e.g. 16-bit frames); need --scale/--offset",
        (".png",),
        _ARRAYS,
        (b"\x89PNG\r\n\x1a\n",),
    ),
    FormatSpec(
        "rjpeg",
        "FLIR radiometric JPEG, needs the [cameras] extra",
        (".jpg", ".jpeg"),
        "tiaug.io.readers.rjpeg:open_rjpeg",
        (b"\xff\xd8\xff",),
    ),
    FormatSpec("fff", "one FLIR FFF frame", (".fff",), _FFF, (b"FFF\x00",)),
    FormatSpec("seq", "FLIR .seq recording, a series of FFF frames", (".seq",), _FFF, (b"FFF\x00",)),
    _camera_counts("tc001", "TOPDON TC001 / InfiRay 256x384 UVC frame pairs, 1/64 K"),
    _camera_counts("lepton", "FLIR Lepton centi-kelvin, --raw-size HxW if not 120x160"),
    _camera_counts("raw", "headerless counts with --raw-size HxW and --scale S [--offset O]"),
)
SPECS = {spec.name: spec for spec in FORMAT_SPECS}
#: The ``--format`` choices; ``auto`` detects the format from the file's content and name.
FORMATS = ("auto", *SPECS)
#: Names no reader decodes, with what to do instead (a folder scan names them as skipped).
UNSUPPORTED = {
    ".csq": "a FLIR .csq recording holds JPEG-LS compressed frames, which no reader here decodes; "
    "export it as .seq (or as radiometric JPEGs) in FLIR's software",
}


def suffixes(fmt: str = "auto") -> tuple[str, ...]:
    """File names (suffixes) a folder scan picks up for ``fmt`` (``auto``: every format's, and unsupported ones,
    which are then refused by name)."""
    if fmt != "auto":
        return SPECS[fmt].suffixes
    return (*dict.fromkeys(s for spec in FORMAT_SPECS for s in spec.suffixes), *UNSUPPORTED)


def headerless_hint() -> str:
    """What to pass for a headerless file, one ``--format`` per headerless format."""
    options = ", ".join(f"--format {s.name} ({s.help})" for s in FORMAT_SPECS if s.headerless)
    return f"headerless frames cannot be told apart by their content: pass {options}"


def format_help() -> str:
    """The ``--format`` option's help: every choice with its line."""
    choices = "; ".join(f"{s.name}: {s.help}" for s in FORMAT_SPECS)
    return f"File format. auto: by content and name (headerless files are never guessed); {choices}."


def format_listing() -> str:
    """The files ``auto`` reads, one line each, for a command's help (a click ``\\b`` block)."""
    rows = [("/".join(s.suffixes), s.help) for s in FORMAT_SPECS if s.magic]
    names = ", ".join(s.name for s in FORMAT_SPECS if s.headerless)
    rows.append(("/".join(HEADERLESS_SUFFIXES), f"headerless frames: only with --format {names}"))
    width = max(len(name) for name, _ in rows)
    return "\n".join(f"  {name:<{width}}  {text}" for name, text in rows)


@contextlib.contextmanager
def pixel_limit() -> Iterator[None]:
    """While inside, PIL refuses any picture of more than :data:`MAX_FRAME`'s pixels (a decompression bomb)
    before decoding it: ``DecompressionBombError`` or ``DecompressionBombWarning`` raised as an error, which the
    reader turns into a refusal of the file. PIL's limit is process-wide; it is restored on exit."""
    from PIL import Image

    saved = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = MAX_FRAME[0] * MAX_FRAME[1]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            yield
    finally:
        Image.MAX_IMAGE_PIXELS = saved
