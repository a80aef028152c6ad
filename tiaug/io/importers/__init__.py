"""Existing thermal data into the HDF5 contract: :mod:`.folder` (a folder of camera files and masks, and the
helpers every importer shares), :mod:`.video` (one recording), :mod:`.tfdb` (the Thermal Face Database) with
:mod:`.landmarks` (its menpo landmark files to masks)."""
