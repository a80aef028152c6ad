"""Recover the sampled TiAug parameters of each augmented image, as plain JSON.

Build the pipeline with ``A.Compose([...], save_applied_params=True)``; the result then carries
``applied_transforms``, a list of (transform name, params) that :func:`applied_params` turns into
JSON-serialisable records.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np


def _plain(value: Any) -> Any:
    """``value`` as JSON-able Python data, or None when it is not (arrays of pixels, plans...)."""
    if isinstance(value, (bool, int, float, str)) or value is None:
        return value
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (list, tuple)):
        items = [_plain(v) for v in value]
        return None if any(i is None and v is not None for i, v in zip(items, value, strict=True)) else items
    if isinstance(value, dict):
        return {str(k): p for k, v in value.items() if (p := _plain(v)) is not None or v is None}
    return None


def _provenance_key(transform: str) -> str | None:
    """The params entry holding a TiAug transform's JSON provenance: its step name (None for other transforms)."""
    from tiaug.thermal_transform import TRANSFORMS  # filled by tiaug.transforms, imported with the pipeline

    return next((name for name, cls in TRANSFORMS.items() if cls.__name__ == transform), None)


def applied_params(result: dict[str, Any]) -> list[dict[str, Any]]:
    """One {"transform": name, "params": {...}} record per transform applied, in order.

    TiAug transforms give their full provenance (configuration, polygons in pixel (x, y), temperatures in
    degrees Celsius, NETD); other Albumentations transforms give their JSON-able scalar parameters.
    """
    if "applied_transforms" not in result:
        raise KeyError("no 'applied_transforms' in the result: build the pipeline with save_applied_params=True")
    records = []
    for name, params in result["applied_transforms"]:
        key = _provenance_key(name)
        if key is not None and key in params:
            payload = params[key]
        else:
            payload = {k: p for k, v in params.items() if k != "shape" and (p := _plain(v)) is not None}
        records.append({"transform": name, "params": payload})
    return records


def applied_params_json(result: dict[str, Any]) -> str:
    """:func:`applied_params` as one compact JSON string (one per HDF5 row in ``tiaug/params``)."""
    return json.dumps(applied_params(result), separators=(",", ":"))
