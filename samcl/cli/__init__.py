"""Command-line entry points: ``samcl-train``, ``samcl-eval``, ``samcl-predict``.

Each command lives in its own module (``python -m samcl.cli.train_cmd`` runs it too); the functions here
import it only when called, so running one command never imports the others.
"""


def train_main() -> None:
    """``samcl-train``."""
    from samcl.cli.train_cmd import train_main as main

    main()
