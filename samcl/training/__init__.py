"""Training: the ``samcl-train`` loop (:mod:`.loop`), the checks before it (:mod:`.preflight`), its configuration
(:mod:`.config`), the training add-ons (:mod:`.addons`: the protocol and SAM-CL), one step's forward pass
(:mod:`.step`), data and sampling (:mod:`.data`), the checkpoints' training state (:mod:`.checkpoints`),
``metrics.csv`` (:mod:`.metrics_log`), multi-process set-up (:mod:`.distributed`) and training curves
(:mod:`.plots`)."""
