"""Training: the ``samcl-train`` loop (:mod:`.loop`), its configuration (:mod:`.config`), data and sampling
(:mod:`.data`), multi-process set-up (:mod:`.distributed`) and training curves (:mod:`.plots`)."""
