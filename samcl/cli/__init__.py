"""The samcl command line: ``samcl-eval`` and ``samcl-predict`` (and ``samcl-train``), one module each.

setup.cfg maps the console scripts to ``samcl.cli:eval_main``, ``samcl.cli:predict_main`` and
``samcl.cli:train_main``. Without installed scripts, ``python -m samcl.cli eval|predict|train ARGS`` runs the
same commands.
"""

from samcl.cli.eval_cmd import eval_main
from samcl.cli.predict_cmd import predict_main

# samcl-train: the training module adds ``train_main`` here (the console script samcl.cli:train_main).

__all__ = ["eval_main", "predict_main"]
