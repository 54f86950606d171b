"""``python -m catapult build --scale ci``: see :mod:`catapult.book` (the command line is :mod:`catapult.book.cli`)."""

import sys

from .book.cli import main

if __name__ == "__main__":
    sys.exit(main())
