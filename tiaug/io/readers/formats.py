"""The reader layer's names, without dependencies: the ``--format`` and ``--raw-dtype`` choices of the command
line, read by ``--help`` without loading NumPy (``tiaug.io.readers.base`` uses them)."""

#: The ``--format`` choices; ``auto`` detects the format from the file's content and name.
FORMATS = ("auto", "npy", "tiff", "rjpeg", "fff", "seq", "tc001", "lepton", "raw")
CAMERAS_EXTRA = "pip install 'tiaug-samcl[cameras]'"
#: ``--raw-dtype`` name -> NumPy dtype string of a headerless file's pixels.
RAW_DTYPES = {"uint16": "<u2", "uint16be": ">u2", "float32": "<f4"}
