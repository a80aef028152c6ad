"""Inference (the checkpoint format and the input normalisation are :mod:`samcl.artifacts`): a
checkpoint turned into a predictor (:mod:`.predictor`), segmenting files (:mod:`.files`) and scoring a labelled
file (:mod:`.evaluation`). Submodules are imported on demand; this package imports nothing by itself."""
