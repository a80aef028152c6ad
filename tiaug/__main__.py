"""`python -m tiaug` runs the `tiaug` command line."""

from tiaug.cli import run

if __name__ == "__main__":
    run()
