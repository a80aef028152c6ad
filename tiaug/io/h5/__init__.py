"""The HDF5 data contract: :mod:`.reader` (validating, streaming), :mod:`.writer` (appending, whole or nothing),
:mod:`.codecs` (compression), :mod:`.direct_rows` (rows written past the page cache) and :mod:`.atomic`
(temporary name + rename for every file or folder a command writes). Public names are re-exported by
:mod:`tiaug.io`."""
