"""HDF5 compression of the thermal datasets: the codecs ``--compression`` offers and what a reader needs.

The per-pixel sensor noise leaves the low mantissa bits of a temperature random, so no lossless codec gets
much below 60 % of the raw size, and the classic HDF5 filters are slow for it (sizes and speeds of each codec:
``benchmarks/README.md``, section 2). Masks compress well with any codec. ``none`` is the default: files open
everywhere and random row reads (training) cost no decompression. ``blosc2-zstd`` is the one to archive with:
the smallest files, faster than gzip. The Blosc2 codecs need the optional ``hdf5plugin`` package (``pip install
'tiaug-samcl[blosc2]'``); ``tiaug.io`` loads it by itself when a file needs it, plain h5py users
``import hdf5plugin`` before opening such a file. Every codec is combined with byte shuffling.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import h5py

COMPRESSIONS = ("none", "lzf", "gzip", "blosc2-lz4", "blosc2-zstd")
DEFAULT_COMPRESSION = "none"
EXTRA = "blosc2"  # the pyproject.toml extra that installs hdf5plugin
_BLOSC2_LEVELS = {"lz4": 5, "zstd": 1}  # zstd above level 1 halves the speed for ~2 % smaller files
_PLUGIN_FILTERS = {32001: "Blosc", 32026: "Blosc2", 32015: "Zstandard", 307: "bzip2", 32004: "LZ4"}


def _hdf5plugin(reason: str) -> Any:
    try:
        import hdf5plugin
    except ImportError:
        raise ImportError(f"{reason} needs the hdf5plugin package: pip install 'tiaug-samcl[{EXTRA}]'") from None
    return hdf5plugin


def dataset_filters(compression: str | None) -> dict[str, Any]:
    """``h5py.File.create_dataset`` keyword arguments of a codec name (None means "none")."""
    name = DEFAULT_COMPRESSION if compression is None else compression
    if name == "none":
        return {}
    if name in ("lzf", "gzip"):
        return {"compression": name, "shuffle": True}
    if name.startswith("blosc2-") and name in COMPRESSIONS:
        cname = name.removeprefix("blosc2-")
        plugin = _hdf5plugin(f"compression {name!r}")
        return dict(plugin.Blosc2(cname=cname, clevel=_BLOSC2_LEVELS[cname], filters=plugin.Blosc2.SHUFFLE))
    raise ValueError(f"compression must be one of {', '.join(COMPRESSIONS)} (or None), got {compression!r}")


def missing_filter(dataset: h5py.Dataset) -> str | None:
    """Why ``dataset`` cannot be decoded here (a compression filter HDF5 lacks), or None when it can.

    Loads ``hdf5plugin`` when the dataset uses one of its filters and it is installed.
    """
    import h5py

    plist = dataset.id.get_create_plist()
    for index in range(plist.get_nfilters()):
        filter_id = plist.get_filter(index)[0]
        if h5py.h5z.filter_avail(filter_id):
            continue
        name = _PLUGIN_FILTERS.get(filter_id, f"id {filter_id}")
        try:
            _hdf5plugin(f"reading data compressed with the HDF5 {name} filter")
        except ImportError as e:
            return str(e)
        if not h5py.h5z.filter_avail(filter_id):
            return f"is compressed with the HDF5 filter {name}, which neither HDF5 nor hdf5plugin provides"
    return None
