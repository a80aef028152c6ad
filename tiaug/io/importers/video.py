"""Import a recording (FLIR ``.seq``, a TC001 / Lepton / raw stream, an npy or tiff stack) into the HDF5 contract.

Frames are read one at a time and appended as they come, so memory stays one frame whatever the recording's
length; the output is written whole or not at all (a bad frame or Ctrl-C leaves no OUT). Each row records
``source_file``, ``frame_index`` (frame number in the recording) and ``source_meta`` (JSON: format, camera,
emissivity, timestamp where the file has them).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable
from pathlib import Path

from tiaug.io.errors import ThermalDataError
from tiaug.io.h5.atomic import PathLike, atomic_h5, check_output_path
from tiaug.io.h5.writer import ThermalH5Writer
from tiaug.io.importers.folder import FOLDER_COLUMNS, Size, center_crop, resize
from tiaug.io.readers import Frame, ReadOptions, open_source
from tiaug.progress import ProgressCallback, reported


def frame_count(count: int, start: int, every: int, max_frames: int | None) -> int:
    """How many frames ``start, start + every, ...`` (at most ``max_frames``) a source of ``count`` gives."""
    n = max(0, math.ceil((count - start) / every))
    return n if max_frames is None else min(n, max_frames)


def import_video(
    recording: PathLike,
    out: PathLike,
    *,
    fmt: str = "auto",
    options: ReadOptions | None = None,
    every: int = 1,
    start: int = 0,
    max_frames: int | None = None,
    crop: Size | None = None,
    size: Size | None = None,
    overwrite: bool = False,
    compression: str | None = "lzf",
    progress: ProgressCallback | None = None,
) -> dict[str, int]:
    """Every ``every``-th frame of ``recording`` from frame ``start`` (at most ``max_frames``) into ``out``.

    Returns {out: number of frames}. Raises ThermalDataError naming the file, frame and problem.
    """
    if every < 1 or start < 0 or (max_frames is not None and max_frames < 1):
        raise ValueError(f"need every >= 1, start >= 0, max_frames >= 1; got {every}, {start}, {max_frames}")
    path = Path(recording)
    check_output_path(out, overwrite=overwrite, inputs=[path])
    with open_source(path, fmt, options) as source:
        total = frame_count(source.count or 0, start, every, max_frames)
        if total == 0:
            raise ThermalDataError(path, None, f"holds {source.count} frame(s): none from frame {start} on")
        frames: Iterable[Frame] = itertools.islice(source.frames(start=start, step=every), max_frames)
        frames = reported(frames, progress, total)
        attrs = {
            "tiaug/import": {
                "source": "recording",
                "recording": str(path),
                "format": source.format,
                "every": every,
                "start": start,
                "crop": crop,
                "resize": size,
            }
        }
        with atomic_h5(out, overwrite=overwrite, inputs=[path]) as f:
            writer = None
            for frame in frames:
                image = frame.image
                if crop is not None:
                    image = center_crop(image, crop, path=source.where(frame.index))[0]
                if size is not None:
                    image = resize(image, size)[0]
                if writer is None:
                    writer = ThermalH5Writer(f, *image.shape, masks=False, compression=compression, attrs=attrs)
                    for key, dtype in FOLDER_COLUMNS.items():
                        writer.add_column(key, dtype)
                extra = {"source_file": [path.name], "frame_index": [frame.index], "source_meta": [frame.meta]}
                writer.append(image[None], extra=extra)
            assert writer is not None  # a recording without frames is refused above
            n = writer.finish()
    return {str(out): n}
