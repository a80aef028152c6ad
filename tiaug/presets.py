"""Ready-made pipelines from steps: the paper's training augmentation and the plain TiAug pipeline of ``tiaug augment``.

A pipeline's TiAug part is a list of :class:`Step` (a registered transform's name, its probability and its
arguments); the steps are placed by their transform's stage (:data:`tiaug.transforms.STAGES`: the room, the
occluders, the optics, the camera, the sensor), so a new transform registered in :mod:`tiaug.transforms` needs no
change here. Every step keeps temperatures in degrees Celsius: flips and crops move pixels, rotation/scale reflect
the image at its border instead of filling 0 C, and the blur runs inside :class:`~tiaug.transforms.TemperatureSafe`
(Albumentations' blur would clip every float pixel to 1.0).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import albumentations as A
import cv2

from tiaug.seeding import seed_pipeline
from tiaug.transforms import STAGES, TRANSFORMS, TemperatureSafe

PAPER_SIZE = (256, 320)
PAPER_P = 0.5  # the paper's probability of occlusion, noise and blur
SCENE_P = 0.5  # probability of each scene-level step (room, camera drift, stripes) when scene changes are on
#: Stages that come before the optics (blur) in the paper's pipeline.
_BEFORE_OPTICS = STAGES[: STAGES.index("optics")]
Arguments = Mapping[str, Mapping[str, Any]]  # step name -> extra arguments of its transform


@dataclass(frozen=True)
class Step:
    """One TiAug step: the transform registered as ``name`` (``tiaug.transforms.TRANSFORMS``), applied with
    probability ``p``, with ``args`` (its ``__init__`` arguments)."""

    name: str
    p: float = 1.0
    args: Mapping[str, Any] = field(default_factory=dict)

    def build(self) -> A.BasicTransform:
        """The transform of this step (an unknown name is refused with the registered ones)."""
        if self.name not in TRANSFORMS:
            raise ValueError(f"unknown TiAug step {self.name!r}; choose from {', '.join(TRANSFORMS)}")
        return TRANSFORMS[self.name](**{"p": self.p, **self.args})


def scene_step_names() -> list[str]:
    """The registered scene-level steps (the room and the camera), in registration order."""
    return [name for name, cls in TRANSFORMS.items() if cls.stage in ("scene", "camera")]


def training_steps(p_tiaug: float = PAPER_P, p_scene: float = 0.0, args: Arguments | None = None) -> list[Step]:
    """The paper's TiAug steps (occlusion and thermal noise at ``p_tiaug``) and, when ``p_scene`` > 0, every scene
    step at ``p_scene``; ``args`` gives extra arguments by step name."""
    args = args or {}
    names = ["occlusion", "noise", *(scene_step_names() if p_scene > 0 else [])]
    return [Step(n, p_tiaug if n in ("occlusion", "noise") else p_scene, args.get(n) or {}) for n in names]


def augment_steps(scene: bool = False, args: Arguments | None = None) -> list[Step]:
    """``tiaug augment``'s steps: occlusion and noise on every image; with ``scene``, a new room on every image
    and the camera's steps with probability ``SCENE_P`` each."""
    args = args or {}
    steps = [Step("occlusion", 1.0, args.get("occlusion") or {}), Step("noise", 1.0, args.get("noise") or {})]
    for name in scene_step_names() if scene else []:
        steps.append(Step(name, 1.0 if TRANSFORMS[name].stage == "scene" else SCENE_P, args.get(name) or {}))
    return steps


def build_steps(steps: Sequence[Step]) -> tuple[list[A.BasicTransform], list[A.BasicTransform]]:
    """The steps' transforms in the order of their stages (steps of one stage in the given order), split into
    those before the optics and those after."""
    transforms = sorted((step.build() for step in steps), key=lambda t: STAGES.index(type(t).stage))
    before = [t for t in transforms if type(t).stage in _BEFORE_OPTICS]
    return before, transforms[len(before) :]


def paper_training_pipeline(
    height: int = PAPER_SIZE[0],
    width: int = PAPER_SIZE[1],
    steps: Sequence[Step] | None = None,
    p_blur: float = PAPER_P,
    seed: int | None = None,
    save_applied_params: bool = False,
) -> A.Compose:
    """The reference training augmentation of the SAM-CL paper, built from Albumentations plus TiAug.

    Steps, in order (the reference used h/v flips p=0.5, rotation 0..360 degrees, random scale 0.5..2, crop
    to 256x320, Gaussian blur sigma <= 1.2 p=0.5, thermal noise p=0.5, occlusion p=0.5):

    1. ``HorizontalFlip(p=0.5)``, ``VerticalFlip(p=0.5)``.
    2. ``Affine(rotate=+-180, scale=0.5..2, translate=+-10 %)``: rotation and scale in one warp (one
       interpolation instead of two), borders reflected.
    3. ``RandomCrop(height, width, pad_if_needed=True)`` with reflected padding: the network's input size.
    4. The TiAug ``steps`` of the room and of the occluders (default :func:`training_steps`: occlusion at 0.5),
       after the geometry, so occluders are not rotated off-frame.
    5. ``TemperatureSafe([GaussianBlur(sigma 0.1..1.2)], p=p_blur)``: optical blur acts on the whole scene,
       occluders included.
    6. The TiAug ``steps`` of the camera and the sensor (default: thermal noise at 0.5), noise last, as in a
       camera.

    ``training_steps(p_scene=SCENE_P)`` adds the scene-level steps (beyond the poster); ``Step(name, p, args)``
    gives any step its own arguments (e.g. ``Step("occlusion", 0.5, {"mask_policy": "ignore"})``).
    """
    reflect = cv2.BORDER_REFLECT_101
    before, after = build_steps(training_steps() if steps is None else steps)
    pipeline = A.Compose(
        [
            A.HorizontalFlip(p=0.5),
            A.VerticalFlip(p=0.5),
            A.Affine(
                rotate=(-180, 180),
                scale=(0.5, 2.0),
                translate_percent=(-0.1, 0.1),
                border_mode=reflect,
                p=1.0,
            ),
            A.RandomCrop(height, width, pad_if_needed=True, border_mode=reflect),
            *before,
            TemperatureSafe([A.GaussianBlur(blur_limit=0, sigma_limit=(0.1, 1.2), p=1.0)], p=p_blur),
            *after,
        ],
        save_applied_params=save_applied_params,
    )
    return pipeline if seed is None else seed_pipeline(pipeline, seed)


def tiaug_pipeline(
    occlusion: Mapping[str, Any] | None = None,
    noise: Mapping[str, Any] | None = None,
    seed: int | None = None,
    save_applied_params: bool = True,
    scene: bool = False,
    steps: Sequence[Step] | None = None,
) -> A.Compose:
    """``tiaug augment``'s default pipeline: :func:`augment_steps` (occlusion then thermal noise on every image;
    with ``scene`` the room, camera drift and stripes too), ``occlusion`` and ``noise`` giving those two steps'
    arguments; or the given ``steps``."""
    if steps is None:
        steps = augment_steps(scene, {"occlusion": occlusion or {}, "noise": noise or {}})
    before, after = build_steps(steps)
    pipeline = A.Compose([*before, *after], save_applied_params=save_applied_params)
    return pipeline if seed is None else seed_pipeline(pipeline, seed)
