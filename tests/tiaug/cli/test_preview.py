"""tiaug preview: titles name the source row; the colour range ignores hot and cold occluders; occluders are
drawn in their own colour."""

from __future__ import annotations

import numpy as np

import tiaug.plots
from tiaug.display import OCCLUDER_COLOUR, class_colour


def test_titles_name_the_source_row_and_the_colour_range_is_robust(cli, good_h5, tmp_path, monkeypatch):
    augmented = tmp_path / "aug.h5"
    res = cli("augment", good_h5, augmented, "--copies", "2", "--size-range", "0.3,0.4", "--no-progress")
    assert res.exit_code == 0, res.output
    figures = []
    monkeypatch.setattr(tiaug.plots, "_save", lambda fig, path, inputs=(), overwrite=True: figures.append(fig))
    res = cli("preview", augmented, "--png", tmp_path / "grid.png", "-n", "16")
    assert res.exit_code == 0, res.output
    axes = [ax for ax in figures[0].axes if ax.images]
    assert [ax.get_title() for ax in axes] == [f"row {i} (source row {i // 2})" for i in range(16)]
    images = np.stack([np.asarray(ax.images[0].get_array()) for ax in axes])
    low, high = axes[0].images[0].get_clim()
    assert (low, high) == tuple(np.percentile(images, [2, 98]))
    assert images.min() < low and images.max() > high  # occluders beyond the face's range do not set it
    outlines = [line for ax in axes for line in ax.lines]
    assert outlines and all(line.get_color() == OCCLUDER_COLOUR for line in outlines)
    contours = {tuple(c.get_edgecolor()[0][:3]) for ax in axes for c in ax.collections}
    assert OCCLUDER_COLOUR not in {class_colour(c) for c in range(1, 6)} and len(contours) == 5
