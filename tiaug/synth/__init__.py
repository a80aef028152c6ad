"""Physiologically plausible synthetic thermal faces (temperatures in degrees Celsius, masks, landmarks).

The default data of the toolkit: demos, tests and benchmarks run on it before real data arrives.

    >>> from tiaug.synth import generate_faces
    >>> batch = generate_faces(4, 256, 320, seed=0)
    >>> batch.images.shape, batch.masks.shape, batch.landmarks.shape
    ((4, 256, 320), (4, 256, 320), (4, 68, 2))

See ``tiaug.synth.thermal`` for the physiology, ``tiaug.synth.geometry`` for the face model and the landmark
order, and ``tiaug.synth.conditions`` for the real-world conditions of ``unconstrained=True``.
"""

from tiaug._lazy import lazy_exports

#: public name -> the submodule defining it, imported on first use: the command line reads
#: ``tiaug.synth.names`` without loading NumPy
_EXPORTS = dict.fromkeys(
    ("CLASSES", "FaceBatch", "SyntheticFace", "face_rng", "generate_face", "generate_faces", "iter_faces"), "faces"
)

__all__ = sorted(_EXPORTS)

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
