"""Temperatures stay physical whatever a pipeline asks: documented parameter limits, every written row inside the
pipeline's bounds and a plausible band, and configuration files that cannot explode (YAML aliases)."""

from __future__ import annotations

import json
import time

import albumentations as A
import numpy as np
import pytest

from tiaug.config_files import MAX_CONFIG_DEPTH, ConfigFileError, read_config_data
from tiaug.errors import UserError
from tiaug.safety import PLAUSIBLE_BAND, OutputCheck, pipeline_bounds
from tiaug.transforms import CameraDrift, ThermalNoise, TiAugOcclusion

#: The attacks of the hostile-files table, each refused with a message naming the parameter and its limits.
EXTREMES = [
    (CameraDrift, {"gain_range": [10.0, 10.0]}, "gain_range"),
    (TiAugOcclusion, {"temperature_extension": 1e6}, "temperature_extension"),
    (ThermalNoise, {"max_netd": 1000.0}, "max_netd"),
]


def _config(tmp_path, transforms: list[tuple[type, dict]]) -> str:
    """A pipeline file as ``A.save`` writes it, with these transforms (class and arguments)."""
    compose = A.to_dict(A.Compose([]))
    steps = [{"__class_fullname__": cls.get_class_fullname(), "p": 1.0, **args} for cls, args in transforms]
    compose["transform"]["transforms"] = steps
    path = tmp_path / "pipeline.json"
    path.write_text(json.dumps(compose))
    return path


@pytest.mark.parametrize(("cls", "args", "word"), EXTREMES)
def test_parameters_beyond_their_limits_refused(cli, good_h5, tmp_path, cls, args, word):
    with pytest.raises(ValueError, match=rf"{word} must be .*within .*documented limits"):
        cls(**args)
    config = _config(tmp_path, [(cls, args)] * 6)
    out = tmp_path / "out.h5"
    res = cli("augment", good_h5, out, "--config", config, "--no-progress")
    assert res.exit_code == 1 and word in res.output and "Traceback" not in res.output
    assert not out.exists()


@pytest.mark.filterwarnings("ignore::tiaug.validation.NotCelsiusWarning")  # the later drifts see ~300 C
def test_rows_outside_the_plausible_band_refused_whatever_the_bounds():
    """Six drifts at the largest gain each allowed: the pipeline's own bounds reach thousands of degrees, the
    plausible band does not."""
    pipeline = A.Compose([CameraDrift(p=1.0, offset_range=(50.0, 50.0), gain_range=(2.0, 2.0))] * 6)
    image = np.linspace(0.0, 60.0, 32 * 40, dtype=np.float32).reshape(32, 40)
    low, high = pipeline_bounds(pipeline, 0.0, 60.0)
    assert low < PLAUSIBLE_BAND[0] and high > PLAUSIBLE_BAND[1]
    out = pipeline(image=image)["image"]
    assert out.max() > PLAUSIBLE_BAND[1]
    with pytest.raises(UserError, match=r"row 3: .*outside the plausible -100\.\.1000 °C"):
        OutputCheck(pipeline)(image, out, "row 3", ["CameraDrift"] * 6)
    calm = np.linspace(20.0, 21.0, 32 * 40, dtype=np.float32).reshape(32, 40)  # within the band after them
    OutputCheck(pipeline)(calm, pipeline(image=calm)["image"], "row 4", ["CameraDrift"] * 6)


def test_six_drifts_at_the_limit_write_nothing(cli, tmp_path):
    from tiaug.io import write_thermal_h5

    source = tmp_path / "wide.h5"
    images = np.tile(np.linspace(-20.0, 120.0, 48 * 60, dtype=np.float32).reshape(1, 48, 60), (2, 1, 1))
    write_thermal_h5(source, images)
    config = _config(tmp_path, [(CameraDrift, {"gain_range": [2.0, 2.0], "offset_range": [50.0, 50.0]})] * 6)
    out = tmp_path / "out.h5"
    res = cli("augment", source, out, "--config", config, "--no-progress")
    assert res.exit_code == 1 and "plausible" in res.output
    assert not out.exists()


ALIAS_BOMB = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + k)}: &{chr(98 + k)} [{', '.join([f'*{chr(97 + k)}'] * 9)}]\n" for k in range(8)
)


def test_yaml_alias_bomb_refused_at_once(cli, good_h5, tmp_path):
    assert len(ALIAS_BOMB.encode()) < 1000  # 9**9 (387 million) strings once expanded
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text(ALIAS_BOMB)
    start = time.perf_counter()
    with pytest.raises(ConfigFileError, match="YAML aliases are not accepted"):
        read_config_data(bomb)
    res = cli("augment", good_h5, tmp_path / "out.h5", "--config", bomb, "--no-progress")
    assert res.exit_code == 1 and "aliases" in res.output
    assert time.perf_counter() - start < 5.0
    assert not (tmp_path / "out.h5").exists()


def test_config_files_bounded_in_depth_and_size(tmp_path):
    deep = tmp_path / "deep.yaml"
    deep.write_text("[" * (MAX_CONFIG_DEPTH + 1) + "]" * (MAX_CONFIG_DEPTH + 1))
    with pytest.raises(ConfigFileError, match="levels deep"):
        read_config_data(deep)
    deep_json = tmp_path / "deep.json"
    deep_json.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(ConfigFileError, match="deep"):
        read_config_data(deep_json)
    big = tmp_path / "big.json"
    big.write_text(json.dumps({"x": "y" * (2 << 20)}))
    with pytest.raises(ConfigFileError, match="larger than"):
        read_config_data(big)
    fine = tmp_path / "fine.yaml"
    fine.write_text("a: &x 1\nb: 2\n")  # an anchor without an alias is harmless
    assert read_config_data(fine) == {"a": 1, "b": 2}


def test_training_config_alias_bomb_refused(tmp_path):
    config = pytest.importorskip("samcl.training.config")
    bomb = tmp_path / "train.yaml"
    bomb.write_text(ALIAS_BOMB)
    with pytest.raises(ValueError, match=r"train\.yaml: cannot read it \(YAML aliases are not accepted"):
        config.read_config_file(bomb)
