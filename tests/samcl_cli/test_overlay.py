"""Prediction pictures: an opaque class map beside the thermal panel, a legend of class names, the colour bar on
the thermal panel, colour-coded masks; the shared palette and robust colour range."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from samcl.cli.predict_cmd import predict_main
from samcl.inference.files import overlay_figure, read_mask_png
from tests.samcl_cli.conftest import CLASSES, listing
from tiaug.display import (
    BACKGROUND_COLOUR,
    OCCLUDER_COLOUR,
    class_colour,
    class_palette,
    colourbar_extend,
    robust_range,
)


def _scene() -> tuple[np.ndarray, np.ndarray]:
    """A 40x48 'face' (classes 1..5 in blocks) in a 22 C room, the face at 34 C, one 80 C pixel."""
    mask = np.zeros((40, 48), np.uint8)
    mask[5:35, 8:40] = 1
    mask[26:30, 18:30] = 2
    mask[12:15, 12:18] = mask[12:15, 30:36] = 3
    mask[9:11, 12:36] = 4
    mask[16:24, 22:26] = 5
    image = np.where(mask > 0, 34.0, 22.0).astype(np.float32)
    image[0, 0] = 80.0
    return image, mask


def _panels(fig):
    fig.draw_without_rendering()  # run the constrained layout
    images = [ax for ax in fig.axes if ax.images]
    thermal = next(ax for ax in images if ax.images[0].get_array().ndim == 2)
    classes = next(ax for ax in images if ax.images[0].get_array().ndim == 3)
    bar = next(ax for ax in fig.axes if ax not in images)
    return thermal, classes, bar


def test_class_map_is_opaque_and_beside_the_thermal_panel_with_its_colour_bar():
    image, mask = _scene()
    thermal, classes, bar = _panels(overlay_figure(image, mask, CLASSES))
    np.testing.assert_array_equal(classes.images[0].get_array(), class_palette()[mask])
    np.testing.assert_array_equal(  # the same classes look the same whatever the temperatures under them
        _panels(overlay_figure(image + 10, mask, CLASSES))[1].images[0].get_array(), classes.images[0].get_array()
    )
    t, c, b = thermal.get_position(), classes.get_position(), bar.get_position()
    assert t.x1 <= b.x0 and b.x1 <= c.x0  # thermal | colour bar | class map
    assert bar.get_ylabel() == "temperature (°C)"
    assert len(thermal.collections) == 5  # one outline per predicted class (skin ... nose)


def test_legend_names_every_class_with_its_share_of_the_pixels():
    image, mask = _scene()
    (legend,) = overlay_figure(image, mask, CLASSES).legends
    labels = [text.get_text() for text in legend.get_texts()]
    shares = [100 * np.mean(mask == c) for c in range(len(CLASSES))]
    assert labels == [f"{name} {share:.1f}%" for name, share in zip(CLASSES, shares, strict=True)]
    colours = [tuple(patch.get_facecolor()[:3]) for patch in legend.get_patches()]
    assert colours == [tuple(class_palette()[c] / 255) for c in range(len(CLASSES))]


def test_colour_masks_beside_the_index_masks(invoke, checkpoint, faces, tmp_path):
    stack = tmp_path / "stack.npy"
    np.save(stack, faces.images[:2])
    out = tmp_path / "pred"
    res = invoke(
        predict_main, "-c", checkpoint, stack, "--out", out, "--no-progress", "--no-overlays", "--colour-masks"
    )
    assert res.exit_code == 0, res.output
    assert listing(out) == sorted(
        [f"stack_{k:05d}_{kind}.png" for k in range(2) for kind in ("mask", "mask_colour")] + ["stack_regions.csv"]
    )
    for k in range(2):
        labels = read_mask_png(out / f"stack_{k:05d}_mask.png")
        with Image.open(out / f"stack_{k:05d}_mask_colour.png") as im:
            assert im.mode == "RGB"
            np.testing.assert_array_equal(np.asarray(im), class_palette()[labels])
    helped = invoke(predict_main, "--help")
    text = " ".join(helped.output.split())
    assert "--colour-masks" in text and "black" in text  # why a _mask.png looks black, and what to do


def test_palette_tells_classes_and_occluders_apart():
    colours = [class_colour(c) for c in range(6)]
    assert colours[0] == BACKGROUND_COLOUR and len({*colours, OCCLUDER_COLOUR}) == 7
    rgb = class_palette(7).astype(int)
    assert min(np.abs(rgb[i] - rgb[j]).sum() for i in range(7) for j in range(i)) > 100
    with pytest.raises(ValueError, match="class index"):
        class_colour(-1)


def test_robust_range_ignores_a_few_extreme_pixels():
    image, _ = _scene()
    image[:30, -1] = -20.0  # a cold occluder on 1.6 % of the pixels, a hot cup on 0.05 %
    low, high = robust_range(image)
    assert (low, high) == (22.0, 34.0)
    assert colourbar_extend(image, low, high) == "both"
    assert colourbar_extend(image, -20.0, 80.0) == "neither"
    assert robust_range(np.full((4, 4), 30.0)) == (29.5, 30.5)  # a flat image still gets a 1 C scale
    with pytest.raises(ValueError, match="finite"):
        robust_range(np.full((2, 2), np.nan))
