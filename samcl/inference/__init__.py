"""Inference: self-describing checkpoints (:mod:`.checkpoint`), input normalisation (:mod:`.normalization`), a
checkpoint turned into a predictor (:mod:`.predictor`), segmenting files (:mod:`.files`) and scoring a labelled
file (:mod:`.evaluation`). Submodules are imported on demand; this package imports nothing by itself."""
