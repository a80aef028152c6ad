"""An HDF5 input that stays inside itself: checked before any of its data is read.

HDF5 lets a file point outside itself: a dataset's bytes may live in other files (external storage, e.g. a local
text file or ``/dev/zero``), a link may lead into another file (external links), a virtual dataset maps other
files' datasets. A file from elsewhere could so copy a local file into an output, or read without end. A dataset
may also declare far more rows than it holds (1e9 declared, 20 written: the rest reads as fill values), and an
attribute may be made huge. :func:`check_contained` refuses all of these, naming the object; ``trusted=True``
allows the first three for files one made oneself.
"""

from __future__ import annotations

import math

import h5py

from tiaug.io.errors import ThermalDataError
from tiaug.io.h5.atomic import PathLike

#: Largest attribute read from an input (bytes as stored): class names, provenance JSON and units are far smaller.
MAX_ATTRIBUTE_BYTES = 1 << 20
#: Largest number of objects (groups, datasets, links) walked in an input: the contract needs a handful.
MAX_OBJECTS = 10_000


def _check_attributes(path: PathLike, name: str, obj: h5py.HLObject) -> None:
    for key in obj.attrs:
        size = obj.attrs.get_id(key).get_storage_size()
        if size > MAX_ATTRIBUTE_BYTES:
            where = key if name == "/" else f"{name.strip('/')}/{key}"
            raise ThermalDataError(
                path, where, f"attribute holds {size} bytes, more than {MAX_ATTRIBUTE_BYTES} (damaged or hostile)"
            )


def _written_fraction_problem(ds: h5py.Dataset) -> str | None:
    """Why the rows ``ds`` declares are not all backed by stored bytes (None when they are, or cannot tell)."""
    if ds.size == 0:
        return None
    if ds.chunks is not None:
        expected = math.prod(math.ceil(n / c) for n, c in zip(ds.shape, ds.chunks, strict=True))
        written = ds.id.get_num_chunks()
        if written < expected:
            return f"declares shape {ds.shape} but holds {written} of its {expected} chunks (rows never written)"
        return None
    layout = ds.id.get_create_plist().get_layout()
    if layout == h5py.h5d.CONTIGUOUS and ds.id.get_storage_size() < ds.size * ds.dtype.itemsize:
        return f"declares shape {ds.shape} but stores {ds.id.get_storage_size()} bytes (rows never written)"
    return None


def _check_dataset(path: PathLike, name: str, ds: h5py.Dataset, trusted: bool) -> None:
    key = name.strip("/")
    plist = ds.id.get_create_plist()
    if not trusted and plist.get_external_count() > 0:
        raise ThermalDataError(path, key, "is stored in other files (HDF5 external storage); refused for safety")
    if not trusted and ds.is_virtual:
        raise ThermalDataError(path, key, "is a virtual dataset mapping other files; refused for safety")
    if plist.get_external_count() == 0 and not ds.is_virtual:
        problem = _written_fraction_problem(ds)
        if problem:
            raise ThermalDataError(path, key, problem)
    _check_attributes(path, name, ds)


def check_contained(path: PathLike, f: h5py.File, trusted: bool = False) -> None:
    """Refuse an input whose data reaches outside the file (unless ``trusted``), declares rows it does not hold,
    or carries oversized attributes; walks every link by name without following external ones."""
    seen: set[int] = set()
    stack: list[tuple[str, h5py.Group]] = [("/", f)]
    count = 0
    _check_attributes(path, "/", f)
    while stack:
        prefix, group = stack.pop()
        for name in group:
            count += 1
            if count > MAX_OBJECTS:
                raise ThermalDataError(path, None, f"holds more than {MAX_OBJECTS} objects (damaged or hostile)")
            full = f"{prefix}{name}"
            link = group.get(name, getlink=True)
            if isinstance(link, h5py.ExternalLink):
                if not trusted:
                    raise ThermalDataError(
                        path, full.strip("/"), f"is a link into another file ({link.filename}); refused for safety"
                    )
                continue
            if isinstance(link, h5py.SoftLink):
                continue  # its target inside the file is reached by its own hard link
            obj = group.get(name)
            address = h5py.h5o.get_info(obj.id).addr if obj is not None else -1
            if obj is None or address in seen:
                continue
            seen.add(address)
            if isinstance(obj, h5py.Dataset):
                _check_dataset(path, full, obj, trusted)
            elif isinstance(obj, h5py.Group):
                _check_attributes(path, full, obj)
                stack.append((f"{full}/", obj))
