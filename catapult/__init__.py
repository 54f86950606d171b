"""catapult: the shared library of catapult-book.

One module per idea:

- :mod:`catapult.warmup`   the warmup model of Sec. 2.1 (exact dynamics, GD, phases, sweeps)
- :mod:`catapult.claims`   the paper's predictions checked against measurements
- :mod:`catapult.plotting` the book's figure style and phase-diagram helpers
- :mod:`catapult.scales`   every chapter's settings at the smoke / ci / paper scales
- :mod:`catapult.fits`     line and power-law fits for scaling laws
- :mod:`catapult.colab`    what a chapter's first cell runs in Google Colab
- :mod:`catapult.book`     the build (a package of its own, never imported by a chapter): papermill
                           execution, verification, Jupyter Book, the site check
"""

from .scales import SCALES, settings

__version__ = "0.2.0"
__all__ = ["SCALES", "settings", "__version__"]
