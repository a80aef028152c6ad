"""Ready-made pipelines: the paper's training augmentation and the plain TiAug pipeline of ``tiaug augment``.

Every step keeps temperatures in degrees Celsius: flips and crops move pixels, rotation/scale reflect the
image at its border instead of filling 0 C, and the blur runs inside :class:`~tiaug.transforms.TemperatureSafe`
(Albumentations' blur would clip every float pixel to 1.0).
"""

from __future__ import annotations

from typing import Any

import albumentations as A
import cv2

from tiaug.transforms import (
    AmbientTemperature,
    CameraDrift,
    FixedPatternNoise,
    TemperatureSafe,
    ThermalNoise,
    TiAugOcclusion,
)

PAPER_SIZE = (256, 320)
SCENE_P = 0.5  # probability of each scene-level step (room, camera drift, stripes) when scene changes are on


def paper_training_pipeline(
    height: int = PAPER_SIZE[0],
    width: int = PAPER_SIZE[1],
    p_occlusion: float = 0.5,
    p_noise: float = 0.5,
    p_blur: float = 0.5,
    occlusion: dict[str, Any] | None = None,
    noise: dict[str, Any] | None = None,
    seed: int | None = None,
    save_applied_params: bool = False,
    p_ambient: float = 0.0,
    p_drift: float = 0.0,
    p_fixed_pattern: float = 0.0,
    ambient: dict[str, Any] | None = None,
    drift: dict[str, Any] | None = None,
    fixed_pattern: dict[str, Any] | None = None,
) -> A.Compose:
    """The reference training augmentation of the SAM-CL paper, built from Albumentations plus TiAug.

    Steps, in order (the reference used h/v flips p=0.5, rotation 0..360 degrees, random scale 0.5..2, crop
    to 256x320, Gaussian blur sigma <= 1.2 p=0.5, thermal noise p=0.5, occlusion p=0.5):

    1. ``HorizontalFlip(p=0.5)``, ``VerticalFlip(p=0.5)``.
    2. ``Affine(rotate=+-180, scale=0.5..2, translate=+-10 %)``: rotation and scale in one warp (one
       interpolation instead of two, so faster than ``Rotate`` then ``RandomScale``), borders reflected.
    3. ``RandomCrop(height, width, pad_if_needed=True)`` with reflected padding: the network's input size.
    4. ``AmbientTemperature(p=p_ambient)`` (scene, beyond the poster): a new room temperature, the skin
       following partially.
    5. ``TiAugOcclusion(p=p_occlusion)``: occluders after the geometry, so they are not rotated off-frame.
    6. ``TemperatureSafe([GaussianBlur(sigma 0.1..1.2)], p=p_blur)``: optical blur acts on the whole scene,
       occluders included.
    7. ``CameraDrift(p=p_drift)`` and ``FixedPatternNoise(p=p_fixed_pattern)`` (beyond the poster): the camera's
       calibration and the sensor's stripes.
    8. ``ThermalNoise(p=p_noise)``: sensor noise last, as in a camera.

    ``occlusion``, ``noise``, ``ambient``, ``drift`` and ``fixed_pattern`` pass extra arguments to those
    transforms (e.g. ``occlusion={"mask_policy": "ignore"}``). A scene step whose probability is 0 is left out
    of the pipeline (so the paper's pipeline draws the same random numbers as without it).
    """
    reflect = cv2.BORDER_REFLECT_101
    scene = [
        (p_ambient, AmbientTemperature, ambient),
        (p_drift, CameraDrift, drift),
        (p_fixed_pattern, FixedPatternNoise, fixed_pattern),
    ]
    ambient_step, camera_steps = _optional(scene[:1]), _optional(scene[1:])
    return A.Compose(
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
            *ambient_step,
            TiAugOcclusion(**{"p": p_occlusion, **(occlusion or {})}),
            TemperatureSafe([A.GaussianBlur(blur_limit=0, sigma_limit=(0.1, 1.2), p=1.0)], p=p_blur),
            *camera_steps,
            ThermalNoise(**{"p": p_noise, **(noise or {})}),
        ],
        seed=seed,
        save_applied_params=save_applied_params,
    )


def _optional(steps: list[tuple[float, type, dict[str, Any] | None]]) -> list[A.BasicTransform]:
    """The transforms of (probability, class, extra arguments) whose probability is above 0."""
    return [cls(**{"p": p, **(kwargs or {})}) for p, cls, kwargs in steps if p > 0]


def tiaug_pipeline(
    occlusion: dict[str, Any] | None = None,
    noise: dict[str, Any] | None = None,
    seed: int | None = None,
    save_applied_params: bool = True,
    scene: bool = False,
) -> A.Compose:
    """``tiaug augment``'s default: occlusion then thermal noise, each applied to every image (``p=1`` unless
    given). With ``scene``, every copy also gets a new room temperature (before the occluders), and camera
    drift and fixed-pattern stripes (before the noise) with probability ``SCENE_P`` each."""
    p_scene = SCENE_P if scene else 0.0
    return A.Compose(
        [
            *_optional([(1.0 if scene else 0.0, AmbientTemperature, None)]),
            TiAugOcclusion(**{"p": 1.0, **(occlusion or {})}),
            *_optional([(p_scene, CameraDrift, None), (p_scene, FixedPatternNoise, None)]),
            ThermalNoise(**{"p": 1.0, **(noise or {})}),
        ],
        seed=seed,
        save_applied_params=save_applied_params,
    )
