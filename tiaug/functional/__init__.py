"""Pure array functions of TiAug. No global random state: every random choice comes from the
``numpy.random.Generator`` passed in. Images are temperatures in degrees Celsius, (H, W) or (H, W, 1), float32 or
float64 (dtype and shape preserved); inputs are never modified.

One calling convention for every augmentation (occlusion, noise, ambient temperature, camera drift, fixed
pattern), each with the config dataclass of its module:

    new_image, new_mask, params = name(image, mask=None, *, rng, config=None)

``config`` None means the config's defaults; the result is an :class:`Augmented` (image, mask, params), where
``mask`` is the input mask unless the function relabels it (only :func:`occlude`, by its ``mask_policy``) and
``params`` the sampled parameters as JSON. Each one-call function is split into ``sample_*(..., rng, config)``
(every random choice, into a plan or JSON parameters) and ``apply_*`` (deterministic), which the Albumentations
transforms of :mod:`tiaug.transforms` call; and ``*_bounds(config, low, high)`` gives the temperatures it can
produce from inputs in [low, high] (what :mod:`tiaug.safety` checks every output row against).
"""

from tiaug.functional.augmented import Augmented
from tiaug.functional.face import FaceStats, face_statistics
from tiaug.functional.noise import NoiseConfig, apply_thermal_noise, noise_bounds, sample_thermal_noise, thermal_noise
from tiaug.functional.occluded import MASK_POLICIES, apply_mask_policy, occluded_keypoints, occluded_pixels
from tiaug.functional.occlusion import (
    CONFIGURATIONS,
    RELATIONS,
    OcclusionConfig,
    OcclusionPlan,
    occlude,
    occlusion_bounds,
    render_occlusion,
    sample_occlusion,
    temperature_band,
)
from tiaug.functional.polygon import random_outline
from tiaug.functional.raster import AREA_TOLERANCE_PX, AREA_TOLERANCE_REL, area_tolerance
from tiaug.functional.scene import (
    AmbientConfig,
    DriftConfig,
    FixedPatternConfig,
    ambient_bounds,
    ambient_temperature,
    camera_drift,
    drift_bounds,
    fixed_pattern_bounds,
    fixed_pattern_noise,
)

__all__ = [
    "AREA_TOLERANCE_PX",
    "AREA_TOLERANCE_REL",
    "CONFIGURATIONS",
    "MASK_POLICIES",
    "RELATIONS",
    "AmbientConfig",
    "Augmented",
    "DriftConfig",
    "FaceStats",
    "FixedPatternConfig",
    "NoiseConfig",
    "OcclusionConfig",
    "OcclusionPlan",
    "ambient_bounds",
    "ambient_temperature",
    "apply_mask_policy",
    "apply_thermal_noise",
    "area_tolerance",
    "camera_drift",
    "drift_bounds",
    "face_statistics",
    "fixed_pattern_bounds",
    "fixed_pattern_noise",
    "noise_bounds",
    "occlude",
    "occluded_keypoints",
    "occluded_pixels",
    "occlusion_bounds",
    "random_outline",
    "render_occlusion",
    "sample_occlusion",
    "sample_thermal_noise",
    "temperature_band",
    "thermal_noise",
]
