"""`python -m tiaug` runs the `tiaug` command line."""

from tiaug.cli import main

if __name__ == "__main__":
    main()
