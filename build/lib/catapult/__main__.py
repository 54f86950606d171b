"""``python -m catapult build --scale ci``: see :mod:`catapult.book`."""

import sys

from .book import main

if __name__ == "__main__":
    sys.exit(main())
