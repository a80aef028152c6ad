"""The base of every TiAug transform: its step name and stage, its arguments' schema built from the functional
config dataclass, its temperature bounds, and every Albumentations target (see :mod:`tiaug.transforms`)."""

from __future__ import annotations

import dataclasses
import inspect
import typing
from typing import Any, ClassVar, Literal

import numpy as np
from albumentations.core.transforms_interface import BaseTransformInitSchema
from pydantic import BaseModel, create_model, model_validator

from tiaug.validation import warn_if_not_celsius

#: Where a step sits in the imaging chain, in order: the room, objects in front of the face, the optics (blur),
#: the camera's calibration, the sensor's own noise. Pipelines order their TiAug steps by it.
Stage = Literal["scene", "occluder", "optics", "camera", "sensor"]
STAGES: tuple[Stage, ...] = typing.get_args(Stage)
#: Every TiAug transform by step name (``Step("ambient", p=0.5)``), in definition order.
TRANSFORMS: dict[str, type[ThermalTransform]] = {}
DEFAULT_P = 0.5
UNIT_CHECKS, UNIT_CHECK_EVERY = 8, 64  # the degrees-Celsius check: the first 8 images, then every 64th

Arguments = dict[str, tuple[Any, Any]]  # argument name -> (type, default), in signature order


def config_arguments(config: type, replace: dict[str, Arguments] | None = None, **extra: tuple[Any, Any]) -> Arguments:
    """A transform's arguments from a functional config dataclass: its fields (types and defaults), in order.

    ``replace`` maps a field to the argument(s) standing in its place; ``extra`` are appended after the fields.
    """
    hints = typing.get_type_hints(config, include_extras=True)
    arguments: Arguments = {}
    for f in dataclasses.fields(config):
        arguments.update((replace or {}).get(f.name, {f.name: (hints[f.name], f.default)}))
    return {**arguments, **extra}


def init_schema(arguments: Arguments, check: typing.Callable[[BaseModel], object]) -> type[BaseTransformInitSchema]:
    """The pydantic ``InitSchema`` of a transform with these arguments; ``check(schema)`` validates them together."""

    def _check(self: BaseModel) -> BaseModel:
        check(self)  # raises ValueError naming the bad argument
        return self

    fields: dict[str, Any] = {name: (kind, ...) for name, (kind, _) in arguments.items()}
    validators: dict[str, Any] = {"_check_together": model_validator(mode="after")(_check)}
    return create_model("InitSchema", __base__=BaseTransformInitSchema, __validators__=validators, **fields)


def config_from(config: type, args: Any) -> Any:
    """``config(**fields)`` from the attributes of ``args`` named like the config's fields (lists become tuples)."""
    fields = {f.name: getattr(args, f.name) for f in dataclasses.fields(config)}
    return config(**{k: tuple(v) if isinstance(v, list) else v for k, v in fields.items()})


def config_checker(config: type) -> typing.Callable[[BaseModel], object]:
    return lambda schema: config_from(config, schema)


def config_schema(config: type) -> type[BaseTransformInitSchema]:
    """The ``InitSchema`` of a transform whose arguments are the fields of ``config`` (checked by building it)."""
    return init_schema(config_arguments(config), config_checker(config))


def first_frame(data: dict[str, Any]) -> tuple[np.ndarray, np.ndarray | None]:
    """The image (the first frame of ``images``) and the mask (the first of ``masks``) a plan is drawn from."""
    image = data["image"] if "image" in data else data["images"][0]
    mask = data.get("mask")
    if mask is None and data.get("masks") is not None and len(data["masks"]):
        mask = data["masks"][0]
    return image, mask


class ThermalTransform:
    """What every TiAug transform has: a step ``name``, a ``stage``, the functional ``config_class`` its
    arguments build (``self.config``), its ``bounds`` function, and every Albumentations target."""

    name: ClassVar[str]
    stage: ClassVar[Stage]
    config_class: ClassVar[type]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "name" in cls.__dict__:
            TRANSFORMS[cls.name] = cls

    def _configure(self, **arguments: Any) -> None:
        """Store the arguments as attributes and build ``self.config`` from them."""
        for name, value in arguments.items():
            setattr(self, name, value)
        self.config = self._make_config()

    def _make_config(self) -> Any:
        return config_from(self.config_class, self)

    @staticmethod
    def bounds(config: Any, low: float, high: float) -> tuple[float, float]:
        """The functional module's ``*_bounds(config, low, high)`` (each transform sets its own)."""
        raise NotImplementedError

    def get_transform_init_args_names(self) -> tuple[str, ...]:
        return tuple(inspect.signature(type(self).__init__).parameters)[1:-1]  # all but self and p

    def temperature_bounds(self, low: float, high: float) -> tuple[float, float]:
        """Temperatures (degrees Celsius) this transform can output from inputs in [low, high]."""
        return type(self).bounds(self.config, low, high)

    def plan_image(self, data: dict[str, Any]) -> tuple[np.ndarray, np.ndarray | None]:
        """The frame and mask the plan is drawn from; warns when the frame is not plausible °C (checked on the first
        ``UNIT_CHECKS`` calls, then every ``UNIT_CHECK_EVERY``-th)."""
        image, mask = first_frame(data)
        self._frames_seen = getattr(self, "_frames_seen", 0) + 1
        if self._frames_seen <= UNIT_CHECKS or self._frames_seen % UNIT_CHECK_EVERY == 0:  # unit errors are systematic
            warn_if_not_celsius(image, type(self).__name__)
        return image, mask

    def apply_to_images(self, images: np.ndarray, **params: Any) -> np.ndarray:
        """Every frame with the same plan, or with its own entry of ``params["frames"]`` (sensor noise)."""
        frames = params.get("frames")
        apply = typing.cast(Any, self).apply  # the Albumentations base class's
        out = [apply(image, **({**params, **frames[k]} if frames else params)) for k, image in enumerate(images)]
        return np.stack(out)

    @property
    def targets(self) -> dict[str, typing.Callable[..., Any]]:
        """The Albumentations targets of the base class, keypoints and bboxes (passed through) included."""
        base = super().targets  # type: ignore[misc]
        return {**base, "keypoints": self.apply_to_keypoints, "bboxes": self.apply_to_bboxes}

    def apply_to_keypoints(self, keypoints: np.ndarray, **params: Any) -> np.ndarray:
        return keypoints

    def apply_to_bboxes(self, bboxes: np.ndarray, **params: Any) -> np.ndarray:
        return bboxes
