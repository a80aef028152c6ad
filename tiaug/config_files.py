"""Configuration files (JSON or YAML) read as plain data, bounded: at most ``MAX_CONFIG_BYTES`` bytes, nesting at most
``MAX_CONFIG_DEPTH`` deep, and YAML without aliases (a few hundred bytes of nested aliases expand to gigabytes)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

MAX_CONFIG_BYTES = 1 << 20  # a pipeline or training configuration is a few kilobytes
MAX_CONFIG_DEPTH = 64


class ConfigFileError(ValueError):
    """A configuration file that is too large, too deep, uses YAML aliases or does not parse."""


class _BoundedLoader(yaml.SafeLoader):
    """PyYAML's safe loader that refuses aliases and nesting beyond ``MAX_CONFIG_DEPTH``."""

    depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            where = f"line {event.start_mark.line + 1}"
            raise ConfigFileError(f"YAML aliases are not accepted (*{event.anchor} at {where}); write the values out")
        self.depth += 1
        if self.depth > MAX_CONFIG_DEPTH:
            raise ConfigFileError(f"nested more than {MAX_CONFIG_DEPTH} levels deep")
        try:
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


def parse_config_text(text: str, yaml_format: bool) -> Any:
    """The data of a JSON or YAML text (``ConfigFileError`` when it does not parse or breaks a bound)."""
    if len(text.encode()) > MAX_CONFIG_BYTES:
        raise ConfigFileError(f"larger than {MAX_CONFIG_BYTES} bytes")
    try:
        if yaml_format:
            return yaml.load(text, Loader=_BoundedLoader)  # a SafeLoader subclass: plain data only
        return json.loads(text)
    except ConfigFileError:
        raise
    except RecursionError:
        raise ConfigFileError("nested too deep") from None
    except (yaml.YAMLError, json.JSONDecodeError) as e:
        raise ConfigFileError(" ".join(str(e).split())) from None


def read_config_data(path: str | Path) -> Any:
    """The data of a ``.yaml``/``.yml`` (YAML) or other (JSON) file, read within ``MAX_CONFIG_BYTES``."""
    path = Path(path)
    with path.open("rb") as f:
        raw = f.read(MAX_CONFIG_BYTES + 1)
    if len(raw) > MAX_CONFIG_BYTES:
        raise ConfigFileError(f"larger than {MAX_CONFIG_BYTES} bytes")
    try:
        text = raw.decode()
    except UnicodeDecodeError:
        raise ConfigFileError("not UTF-8 text") from None
    return parse_config_text(text, path.suffix.lower() in {".yaml", ".yml"})
