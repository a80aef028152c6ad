"""Pure array functions of TiAug: (image, mask, rng, parameters) -> arrays and a JSON-able parameter dict.

No global random state: every random choice comes from the ``numpy.random.Generator`` passed in.
Images are temperatures in degrees Celsius, (H, W) or (H, W, 1), float32 or float64 (dtype preserved).
"""

from tiaug.functional.face import FaceStats, face_statistics
from tiaug.functional.noise import apply_thermal_noise, sample_thermal_noise, thermal_noise
from tiaug.functional.occlusion import (
    CONFIGURATIONS,
    MASK_POLICIES,
    RELATIONS,
    OcclusionConfig,
    OcclusionPlan,
    apply_mask_policy,
    occlude,
    occluded_pixels,
    render_occlusion,
    sample_occlusion,
    temperature_band,
)
from tiaug.functional.polygon import random_outline
from tiaug.functional.raster import AREA_TOLERANCE_PX, AREA_TOLERANCE_REL, area_tolerance

__all__ = [
    "AREA_TOLERANCE_PX",
    "AREA_TOLERANCE_REL",
    "CONFIGURATIONS",
    "MASK_POLICIES",
    "RELATIONS",
    "FaceStats",
    "OcclusionConfig",
    "OcclusionPlan",
    "apply_mask_policy",
    "apply_thermal_noise",
    "area_tolerance",
    "face_statistics",
    "occlude",
    "occluded_pixels",
    "random_outline",
    "render_occlusion",
    "sample_occlusion",
    "sample_thermal_noise",
    "temperature_band",
    "thermal_noise",
]
