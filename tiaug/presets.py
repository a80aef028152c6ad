"""Ready-made pipelines: the paper's training augmentation and the plain TiAug pipeline of ``tiaug augment``.

Every step keeps temperatures in degrees Celsius: flips and crops move pixels, rotation/scale reflect the
image at its border instead of filling 0 C, and the blur runs inside :class:`~tiaug.transforms.TemperatureSafe`
(Albumentations' blur would clip every float pixel to 1.0).
"""

from __future__ import annotations

from typing import Any

import albumentations as A
import cv2

from tiaug.transforms import TemperatureSafe, ThermalNoise, TiAugOcclusion

PAPER_SIZE = (256, 320)


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
) -> A.Compose:
    """The reference training augmentation of the SAM-CL paper, built from Albumentations plus TiAug.

    Steps, in order (the reference used h/v flips p=0.5, rotation 0..360 degrees, random scale 0.5..2, crop
    to 256x320, Gaussian blur sigma <= 1.2 p=0.5, thermal noise p=0.5, occlusion p=0.5):

    1. ``HorizontalFlip(p=0.5)``, ``VerticalFlip(p=0.5)``.
    2. ``Affine(rotate=+-180, scale=0.5..2, translate=+-10 %)``: rotation and scale in one warp (one
       interpolation instead of two, ~2x faster than ``Rotate`` then ``RandomScale``), borders reflected.
    3. ``RandomCrop(height, width, pad_if_needed=True)`` with reflected padding: the network's input size.
    4. ``TiAugOcclusion(p=p_occlusion)``: occluders after the geometry, so they are not rotated off-frame.
    5. ``TemperatureSafe([GaussianBlur(sigma 0.1..1.2)], p=p_blur)``: optical blur acts on the whole scene,
       occluders included.
    6. ``ThermalNoise(p=p_noise)``: sensor noise last, as in a camera.

    ``occlusion`` and ``noise`` pass extra arguments to the TiAug transforms (e.g. ``{"mask_policy": "ignore"}``).
    """
    reflect = cv2.BORDER_REFLECT_101
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
            TiAugOcclusion(**{"p": p_occlusion, **(occlusion or {})}),
            TemperatureSafe([A.GaussianBlur(blur_limit=0, sigma_limit=(0.1, 1.2), p=1.0)], p=p_blur),
            ThermalNoise(**{"p": p_noise, **(noise or {})}),
        ],
        seed=seed,
        save_applied_params=save_applied_params,
    )


def tiaug_pipeline(
    occlusion: dict[str, Any] | None = None,
    noise: dict[str, Any] | None = None,
    seed: int | None = None,
    save_applied_params: bool = True,
) -> A.Compose:
    """Occlusion then thermal noise, each applied to every image (``p=1`` unless given): ``tiaug augment``'s default."""
    return A.Compose(
        [TiAugOcclusion(**{"p": 1.0, **(occlusion or {})}), ThermalNoise(**{"p": 1.0, **(noise or {})})],
        seed=seed,
        save_applied_params=save_applied_params,
    )
