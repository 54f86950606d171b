"""Chapter 1's explorer of the warmup model, shown as a cell's output.

:func:`warmup` returns an object that Jupyter, Colab and the book's site all display as HTML:
a ``<div class="warmup-explorer">`` container with the explorer's script and style inline
(``catapult/static/warmup-explorer.js`` and ``.css``, shipped with the package). The script
iterates the exact dynamics of the warmup model (eqs. 6-7) in the reader's browser, in float64,
with no kernel: sliders for c = ηλ0, the width n and f0 (λ0 = 1, so η = c), the loss and ηλ
against physical time, and the phase the run lands in (the rules of
:func:`catapult.warmup.classify`). Because the script travels in the output, the cell works
wherever the notebook is opened, and the site check (``catapult.book.explorer``) drives the
same output in headless Chromium against :func:`catapult.warmup.explorer_reference`.
"""

from __future__ import annotations

import html
import math
from importlib import resources

__all__ = ["Explorer", "script", "style", "warmup"]


def _static(name: str) -> str:
    return resources.files("catapult").joinpath("static", name).read_text(encoding="utf-8")


def script() -> str:
    """The explorer's JavaScript (package data)."""
    return _static("warmup-explorer.js")


def style() -> str:
    """The explorer's CSS (package data)."""
    return _static("warmup-explorer.css")


class Explorer:
    """The explorer's container with its script and style; displays as HTML (text elsewhere)."""

    def __init__(self, c: float, n: int, f0: float, steps: int) -> None:
        self.c, self.n, self.f0, self.steps = c, n, f0, steps

    def container(self) -> str:
        return (f'<div class="warmup-explorer" data-c="{self.c:g}" data-n="{self.n:d}" data-f0="{self.f0:g}" '
                f'data-steps="{self.steps:d}"></div>')

    def _repr_html_(self) -> str:
        # the container first: the script sets up every container already on the page when it runs
        return (f"<style>{html.escape(style(), quote=False)}</style>\n{self.container()}\n"
                f"<script>{script()}</script>")

    def __repr__(self) -> str:
        return (f"warmup-model explorer (c = ηλ0 = {self.c:g}, n = {self.n:d}, f0 = {self.f0:g}, {self.steps:d} steps): "
                "it needs a browser with JavaScript (the book's site, Colab or Jupyter)")


def warmup(c: float = 2.5, n: int = 1000, f0: float = 1.0, steps: int = 500) -> Explorer:
    """The explorer, its sliders starting at c = ηλ0 (0.1 to 4.5), the width n (10 to 10^6) and
    the initial output f0 (-3 to 3, not 0), each run ``steps`` steps of eqs. 6-7 (1 to 5000)."""
    c, f0 = float(c), float(f0)
    if not (math.isfinite(c) and 0.1 <= c <= 4.5):
        raise ValueError(f"c = ηλ0 must lie in [0.1, 4.5], the slider's range; got {c}")
    if isinstance(n, bool) or int(n) != n or not 10 <= int(n) <= 10**6:
        raise ValueError(f"the width n must be a whole number from 10 to 10^6, the slider's range; got {n!r}")
    if not (math.isfinite(f0) and 0 < abs(f0) <= 3):
        raise ValueError(f"f0 must be nonzero with |f0| <= 3, the slider's range; got {f0}")
    if isinstance(steps, bool) or int(steps) != steps or not 1 <= int(steps) <= 5000:
        raise ValueError(f"steps must be a whole number from 1 to 5000; got {steps!r}")
    return Explorer(c, int(n), f0, int(steps))
