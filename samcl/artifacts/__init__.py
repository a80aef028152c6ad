"""Model artefacts that training writes and inference reads: the self-describing checkpoint format
(:mod:`.checkpoint`) and the network's input normalisation (:mod:`.normalization`, its modes by name in
:mod:`.input_norms`). Submodules are imported on demand; this package imports nothing by itself."""
