"""Whole-or-nothing outputs: files, folders and checkpoints are written beside the target and renamed at the end.

    with atomic_output("out.h5", overwrite=False, inputs=["in.h5"]) as tmp:
        write_everything(tmp)          # any exception (Ctrl-C included) deletes tmp, out.h5 is untouched

The temporary file is ``<name>.tmp-<pid>-<random>`` in the output's folder (same file system, so the final
rename is atomic); ``atomic_folder`` stages a folder of outputs as ``.<name>.tmp-<pid>-<random>``, and
samcl's checkpoints go through ``atomic_output``. Only a hard kill (SIGKILL, power loss) can leave such a
file behind, never a partial output; the command line turns SIGTERM into a clean exit so ``kill`` cleans up.
The writer holds a lock on its temporary file for as long as it writes: the next writer of the same output
removes a leftover only when no one holds its lock (:func:`remove_stale_temporaries`), whichever
process, container or PID namespace wrote it.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import secrets
import shutil
import struct
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import h5py

from tiaug.errors import exhaustion
from tiaug.io.errors import OutputPathError

PathLike = str | os.PathLike


def _same_file(a: Path, b: Path) -> bool:
    try:
        if a.resolve() == b.resolve():
            return True
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def _inside(path: Path, folder: Path) -> bool:
    try:
        return path.resolve().is_relative_to(folder.resolve())
    except OSError:
        return False


def check_not_an_input(out: PathLike, inputs: Iterable[PathLike]) -> None:
    """Refuse an output that is one of ``inputs``, or a file inside an input folder: by name, through a symbolic
    link (resolved paths) or a hard link (same device and inode)."""
    out = Path(out)
    for src in map(Path, inputs):
        if src.is_dir() and out.exists() and not out.is_dir():
            inside = _inside(out, src) or any(_same_file(out, f) for f in src.rglob("*") if f.is_file())
            if inside:
                raise OutputPathError(
                    f"{out}: is a file of the input folder {src} (or a link to one); write the output elsewhere "
                    "(inputs are never modified)"
                )
        elif _same_file(out, src):
            raise OutputPathError(
                f"{out}: the output is the input file {src} (by name or through a link); write to a different "
                "file (inputs are never modified)"
            )


def check_output_path(path: PathLike, *, overwrite: bool = False, inputs: Iterable[PathLike] = ()) -> Path:
    """The one output check of every command: refuse an output path that is an input (or a file of an input
    folder, or a link to either), a folder, in a missing or unwritable folder, or exists without ``overwrite``.

    Returns the path as a ``Path``. Raises ``OutputPathError`` naming the path and the problem.
    """
    out = Path(path)
    check_not_an_input(out, inputs)
    if out.is_dir():
        raise OutputPathError(f"{out}: is a folder; give an output file name such as {out / 'out.h5'}")
    parent = out.parent if str(out.parent) else Path(".")
    if not parent.is_dir():
        raise OutputPathError(f"{out}: the output folder {parent} does not exist")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise OutputPathError(f"{out}: cannot write into the folder {parent} (permission denied)")
    if out.exists() and not overwrite:
        raise OutputPathError(f"{out}: the output file already exists; pass --overwrite (overwrite=True) to replace it")
    return out


_TEMPORARY = re.compile(r"^\.?(?P<name>.+)\.tmp-(?P<pid>\d+)-[0-9a-f]{8}$")


# fcntl's open-file-description lock (Linux 3.15+): held by the open file, not the process, so neither closing
# another descriptor of the file (h5py's) nor HDF5's own flock() on it interferes; struct flock on 64-bit Linux
_F_OFD_SETLK = getattr(fcntl, "F_OFD_SETLK", 37)
_WRITE_LOCK = struct.pack("hhxxxxqqixxxx", fcntl.F_WRLCK, os.SEEK_SET, 0, 0, 0)


def _lock(fd: int, folder: bool) -> None:
    """Lock the open file ``fd`` exclusively without waiting (OSError when another open file holds it)."""
    if folder:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    else:
        fcntl.fcntl(fd, _F_OFD_SETLK, _WRITE_LOCK)


def hold_lock(path: PathLike) -> int:
    """Open ``path`` (a temporary file or staging folder) and lock it; the lock lasts until the returned
    descriptor is closed (or the process ends, however it ends). It marks the file as in use across processes,
    containers and PID namespaces sharing the file system, where a PID means nothing."""
    folder = os.path.isdir(path)
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY if folder else os.O_RDWR)
    try:
        _lock(fd, folder)
    except OSError:
        os.close(fd)
        raise
    return fd


def is_locked(path: PathLike) -> bool:
    """True while some process holds :func:`hold_lock` on ``path`` (or it cannot be told: kept to be safe)."""
    try:
        os.close(hold_lock(path))
    except OSError:
        return True
    return False


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # e.g. another user's process
        return True
    return True


def remove_stale_temporaries(out: Path) -> list[Path]:
    """Delete the temporary files (and staging folders) of ``out`` left by writers that ended without cleaning
    up (a SIGKILL, a power loss); return them. A temporary file is in use while its writer holds its lock
    (:func:`hold_lock`, whatever process or container that is) or while a process of its PID runs here."""
    removed = []
    parent = out.parent if str(out.parent) else Path(".")
    with contextlib.suppress(OSError):
        for item in parent.iterdir():
            m = _TEMPORARY.match(item.name)
            if not m or m["name"] != out.name or item.is_symlink() or is_locked(item) or _alive(int(m["pid"])):
                continue
            with contextlib.suppress(OSError):
                shutil.rmtree(item) if item.is_dir() and not item.is_symlink() else item.unlink()
                removed.append(item)
    return removed


def _claim(tmp: Path, out: Path) -> int:
    """Create the empty temporary file now, so an unwritable folder is reported against ``out``, not ``tmp``, and
    lock it (:func:`hold_lock`); return the descriptor that holds the lock."""
    try:
        fd = os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o644)
    except OSError as e:
        raise OutputPathError(f"{out}: cannot create a file in {tmp.parent} ({e.strerror or e})") from None
    with contextlib.suppress(OSError):  # a file system without locks: the PID in the name still protects it here
        _lock(fd, folder=False)
    return fd


def temporary_path(out: Path, *, hidden: bool = False) -> Path:
    """``<out>.tmp-<pid>-<random>`` beside ``out`` (``.<name>...`` when ``hidden``): same file system as ``out``."""
    return out.with_name(f"{'.' if hidden else ''}{out.name}.tmp-{os.getpid()}-{secrets.token_hex(4)}")


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _commit(tmp: Path, out: Path, overwrite: bool, inputs: Iterable[PathLike]) -> None:
    """Move the finished temporary file into place; without ``overwrite`` never clobber a newer file; never
    replace an input (checked again: ``out`` may have become a link to one while the output was written)."""
    _fsync(tmp)
    check_not_an_input(out, inputs)
    if overwrite:
        os.replace(tmp, out)
        return
    try:
        os.link(tmp, out)  # fails if ``out`` appeared meanwhile
    except FileExistsError:
        raise OutputPathError(
            f"{out}: the output file appeared while it was being written; pass --overwrite to replace it"
        ) from None
    except OSError:  # file systems without hard links
        if out.exists():
            raise OutputPathError(f"{out}: the output file appeared while it was being written") from None
        os.replace(tmp, out)
        return
    tmp.unlink()


@contextlib.contextmanager
def atomic_output(path: PathLike, *, overwrite: bool = False, inputs: Iterable[PathLike] = ()) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success rename it to ``path``, on any exception delete it.

    The checks of ``check_output_path`` run first (before any work). ``BaseException`` is caught too, so
    KeyboardInterrupt and SystemExit leave no temporary file and no partial output.
    """
    inputs = list(inputs)
    out = check_output_path(path, overwrite=overwrite, inputs=inputs)
    remove_stale_temporaries(out)
    tmp = temporary_path(out)
    lock = _claim(tmp, out)
    try:
        yield tmp
        if not tmp.exists() or tmp.stat().st_size == 0:
            raise OutputPathError(f"{out}: nothing was written")
        _commit(tmp, out, overwrite, inputs)
    except BaseException as error:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        problem = exhaustion(error) if not isinstance(error, MemoryError) else None
        if problem is not None:  # a full disk: one user error naming the output, whatever raised it
            raise OutputPathError(f"{out}: cannot be written: {problem}; nothing was written") from None
        raise
    finally:
        os.close(lock)


@contextlib.contextmanager
def atomic_h5(
    path: PathLike, *, overwrite: bool = False, inputs: Iterable[PathLike] = (), **h5py_kwargs
) -> Iterator[h5py.File]:
    """``atomic_output`` for HDF5: yields an ``h5py.File`` open for writing on the temporary file.

    The file is closed (and flushed) before the rename. ``h5py_kwargs`` go to ``h5py.File`` (e.g. ``libver``).
    """
    with atomic_output(path, overwrite=overwrite, inputs=inputs) as tmp:
        f = h5py.File(tmp, "w", **h5py_kwargs)
        try:
            yield f
        finally:
            f.close()


@contextlib.contextmanager
def atomic_outputs(
    paths: Iterable[PathLike], *, overwrite: bool = False, inputs: Iterable[PathLike] = ()
) -> Iterator[list[Path]]:
    """``atomic_output`` for several files written together (e.g. a train/val split): all are checked first.

    On success they are renamed one after the other; on any exception every temporary file is deleted.
    """
    outputs = [Path(p) for p in paths]
    if len({p.resolve() for p in outputs}) != len(outputs):
        raise OutputPathError(f"output files must differ: {', '.join(map(str, outputs))}")
    for p in outputs:  # refuse before creating anything
        check_output_path(p, overwrite=overwrite, inputs=inputs)
    with contextlib.ExitStack() as stack:
        yield [stack.enter_context(atomic_output(p, overwrite=overwrite, inputs=inputs)) for p in outputs]


@contextlib.contextmanager
def atomic_folder(
    out: PathLike, names: Sequence[str], *, overwrite: bool = False, inputs: Iterable[PathLike] = ()
) -> Iterator[Path]:
    """Yield a hidden staging folder beside ``out``; on success move its files into ``out``, else delete it.

    Refused before anything is written: ``out`` being a file or one of the input folders, files among ``names``
    that are inputs (:func:`check_not_an_input`), and files among ``names`` that exist in ``out`` without
    ``overwrite``. Missing parent folders are created (and removed again, when empty, on failure).
    """
    out, sources = Path(out), [Path(p) for p in inputs]
    if out.exists() and not out.is_dir():
        raise OutputPathError(f"{out}: exists and is not a folder; --out names the folder to write into")
    if any(src.is_dir() and _same_file(out, src) for src in sources):
        raise OutputPathError(f"{out}: the output folder is the input folder; write the outputs elsewhere")
    for name in names:
        check_not_an_input(out / name, sources)
    taken = [n for n in names if (out / n).exists()]
    if any((out / n).is_dir() for n in taken):
        raise OutputPathError(f"{out}: {next(n for n in taken if (out / n).is_dir())} is a folder")
    if taken and not overwrite:
        shown = ", ".join(taken[:3]) + (f" and {len(taken) - 3} more" if len(taken) > 3 else "")
        raise OutputPathError(f"{out}: output files exist already ({shown}); pass --overwrite to replace them")
    created = []
    parent = out.absolute().parent
    while not parent.exists():
        created.append(parent)
        parent = parent.parent
    for folder in reversed(created):
        folder.mkdir()
    remove_stale_temporaries(out.absolute())
    staging = temporary_path(out.absolute(), hidden=True)
    lock = -1
    try:
        staging.mkdir()
        lock = hold_lock(staging)
        yield staging
        if not out.exists():
            os.rename(staging, out)
            return
        for item in sorted(staging.iterdir()):
            target = out / item.name
            if target.exists() and not overwrite:
                raise OutputPathError(f"{target}: appeared while the outputs were written; pass --overwrite")
            os.replace(item, target)
        staging.rmdir()
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        for folder in created:
            with contextlib.suppress(OSError):
                folder.rmdir()
        raise
    finally:
        if lock >= 0:
            os.close(lock)
