"""The checkout's root and what tests compare files by: a sha256, a digest of many files, a folder's listing."""

from __future__ import annotations

import hashlib
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def sha256(path: Path) -> str:
    """Hex sha256 of the bytes of ``path``."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def digest(*paths: Path) -> dict[str, str]:
    """sha256 of every file given, and of every file inside the folders given."""
    found = {}
    for path in map(Path, paths):
        for item in sorted(path.rglob("*")) if path.is_dir() else [path]:
            if item.is_file():
                found[str(item)] = sha256(item)
    return found


def listing(folder: Path) -> list[str]:
    """Every path under ``folder`` (hidden ones and temporary files included), relative, sorted."""
    return sorted(str(p.relative_to(folder)) for p in Path(folder).rglob("*"))
