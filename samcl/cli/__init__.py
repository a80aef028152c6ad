"""The samcl command line: ``samcl-train``, ``samcl-eval``, ``samcl-predict`` and ``samcl-export``, one module each.

pyproject.toml maps the console scripts to the functions below. Without installed scripts,
``python -m samcl.cli train|eval|predict ARGS`` (or ``python -m samcl.cli.train_cmd`` for torchrun) runs the
same commands. Each function imports its command only when called, so one command never loads the others.
Albumentations' online version check (a PyPI request on import) is off in these commands unless
``NO_ALBUMENTATIONS_UPDATE`` is set: nothing is downloaded at run time.
"""

import os

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")


def train_main() -> None:
    """``samcl-train``."""
    from samcl.cli.train_cmd import train_main as main

    main()


def eval_main() -> None:
    """``samcl-eval``."""
    from samcl.cli.eval_cmd import eval_main as main

    main(prog_name="samcl-eval")


def predict_main() -> None:
    """``samcl-predict``."""
    from samcl.cli.predict_cmd import predict_main as main

    main(prog_name="samcl-predict")


def export_main() -> None:
    """``samcl-export``."""
    from samcl.cli.export_cmd import export_main as main

    main(prog_name="samcl-export")


__all__ = ["eval_main", "export_main", "predict_main", "train_main"]
