"""Library code shown on a chapter's page, next to what it produced.

A chapter keeps its cells short by calling the library; :func:`source` puts the code of those
calls on the page, so a reader sees the experiment (the model, λ0, the rates, the training
call) and the definition of each measured quantity without opening ``catapult/``. The result
displays as a Python code block: markdown for Jupyter, Colab and the book's site (myst-nb
renders it), plain text elsewhere. It is read from the installed package, so it is the code
that ran.
"""

from __future__ import annotations

import inspect
import textwrap
from typing import Any

__all__ = ["Listing", "source"]


class Listing:
    """The source of some functions or classes, shown as one Python code block."""

    def __init__(self, text: str) -> None:
        self.text = text

    def _repr_markdown_(self) -> str:
        fence = "```"
        while fence in self.text:
            fence += "`"
        return f"{fence}python\n{self.text}\n{fence}"

    def __repr__(self) -> str:
        return self.text


def source(*objects: Any) -> Listing:
    """The source code of ``objects`` (functions, classes or methods of the library), one after
    another, each headed by a comment naming where it lives."""
    if not objects:
        raise ValueError("source() needs at least one function or class to show")
    parts = []
    for obj in objects:
        target = inspect.unwrap(obj)
        try:
            code = inspect.getsource(target)
        except (OSError, TypeError) as err:
            raise ValueError(f"cannot show the source of {obj!r}: {err}") from None
        where = f"{target.__module__}.{target.__qualname__}"
        parts.append(f"# {where}\n{textwrap.dedent(code).rstrip()}")
    return Listing("\n\n\n".join(parts))
