"""Transform constructors generated from a functional config dataclass, so every default lives in one place.

``__init__ = init_from_config(AmbientConfig, p=0.5)`` in an Albumentations transform's class body gives it an
``__init__(self, <every config field with its default>, p=0.5)`` whose signature Albumentations reads to
derive the init-argument names (``A.to_dict`` / ``A.from_dict`` round trips), which stores each argument as an
attribute and builds ``self.config`` (the config validates itself and raises a ``ValueError`` naming the bad
argument). Sequences given for tuple fields (e.g. lists from YAML) are turned back into tuples; anything else
(a number, a string) is left for the config to refuse.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable, Iterable
from typing import Any

from albumentations.core.transforms_interface import BasicTransform


def init_from_config(config_cls: type, p: float) -> Callable[..., None]:
    """An ``__init__`` taking ``config_cls``'s fields (same names and defaults) and ``p``."""
    fields = dataclasses.fields(config_cls)
    parameters = [inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
    parameters += [
        inspect.Parameter(f.name, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=f.default) for f in fields
    ]
    parameters.append(inspect.Parameter("p", inspect.Parameter.POSITIONAL_OR_KEYWORD, default=p))
    signature = inspect.Signature(parameters)

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        bound = signature.bind(self, *args, **kwargs)
        bound.apply_defaults()
        values = dict(bound.arguments)
        del values["self"]
        chance = values.pop("p")
        for f in fields:
            value = values[f.name]
            if isinstance(f.default, tuple) and isinstance(value, Iterable) and not isinstance(value, str):
                values[f.name] = tuple(value)
        if not 0.0 <= chance <= 1.0:
            raise ValueError(f"p must be a probability in [0, 1], got {chance}")
        self.config = config_cls(**values)
        BasicTransform.__init__(self, p=chance)
        for name, value in values.items():
            setattr(self, name, value)

    __init__.__signature__ = signature  # type: ignore[attr-defined]
    __init__.__doc__ = f"Arguments: the fields of :class:`{config_cls.__name__}` (same defaults) and ``p``."
    return __init__
