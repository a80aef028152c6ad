"""The input normalisation modes by name, without dependencies: ``samcl-train --help`` shows them without loading
torch (:class:`~samcl.artifacts.normalization.Normalization` and ``TrainConfig`` take them from here)."""

#: ``dataset``: one mean/std of the training set (absolute temperatures); ``image``: each frame's median and
#: robust spread.
INPUT_NORMS = ("dataset", "image")
DEFAULT_INPUT_NORM = "dataset"
