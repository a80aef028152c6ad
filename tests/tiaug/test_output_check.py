"""``tiaug.safety.OutputCheck``: the last line of defence of `tiaug augment`, row by row."""

from __future__ import annotations

import albumentations as A
import numpy as np
import pytest

from tiaug.errors import UserError
from tiaug.safety import OutputCheck

CHECK = OutputCheck(A.Compose([A.HorizontalFlip(p=1.0)]))  # keeps the input range exactly


def _scene(low: float, high: float, size: tuple[int, int] = (40, 50)) -> np.ndarray:
    return np.linspace(low, high, size[0] * size[1], dtype=np.float32).reshape(size)


@pytest.mark.parametrize(("low", "high"), [(20.0, 37.0), (-10.0, 37.0), (-10.0, 0.5)])
def test_outputs_in_range_without_pinned_pixels_pass(low, high):
    image = _scene(low, high)
    CHECK(image, image[:, ::-1].copy(), "row 0", ["HorizontalFlip"])


@pytest.mark.parametrize("value", [0.0, 1.0])
def test_a_border_pinned_at_0_or_1_is_refused_even_inside_the_range(value):
    image = _scene(-10.0, 37.0)  # a cold scene: 0 and 1 degC are plausible values, the range check cannot help
    out = image.copy()
    out[:, :4] = value  # 160 pixels pinned, 8 % of the image
    with pytest.raises(UserError, match=r"row 3: 160 pixels are exactly 0 °C or 1.0 °C"):
        CHECK(image, out, "row 3", ["HorizontalFlip"])


def test_pinned_pixels_already_in_the_input_are_not_blamed_on_the_pipeline():
    image = _scene(-10.0, 37.0)
    image[:, :4] = 0.0
    CHECK(image, image.copy(), "row 0", ["HorizontalFlip"])


def test_an_output_beyond_the_pipelines_range_is_refused():
    image = _scene(20.0, 37.0)
    out = image.copy()
    out[0, 0] = 80.0
    with pytest.raises(UserError, match=r"beyond what its transforms can produce"):
        CHECK(image, out, "row 1", ["HorizontalFlip"])
