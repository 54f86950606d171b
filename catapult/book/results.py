"""The results page: every chapter's claims in one table, from ``<out>/claims/*.json``.

The build writes it (MyST markdown) into the executed mirror of the book as the page the
toc lists as ``book/results`` (see :data:`catapult.book.toc.RESULTS_PAGE`), so a reader sees in
one place what this run of the book confirmed: chapter, claim, where the paper makes it,
predicted, measured and whether it holds.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from .. import claims as claims_mod

__all__ = ["Chapter", "escape", "notebook_title", "page"]

_ESCAPE = "\\`*_{}[]<>()#+!|$~"


def escape(text: str) -> str:
    """Text for a MyST table cell: markdown and math characters escaped, no line breaks."""
    text = " ".join(str(text).split())
    return "".join("\\" + ch if ch in _ESCAPE else ch for ch in text)


@dataclass
class Chapter:
    doc: str  # toc path without suffix, e.g. "book/01_warmup_model"
    title: str
    claims: list[claims_mod.Claim] | None  # None: not executed in this build


def notebook_title(path: Path) -> str:
    """The first '# ' heading of a notebook's markdown cells, else its stem."""
    import nbformat

    nb = nbformat.read(str(path), as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return path.stem


def page(chapters: Sequence[Chapter], page_doc: str, scale: str) -> str:
    """The results page's MyST source; ``page_doc`` is its own toc path (links are made relative to it)."""
    here = posixpath.dirname(page_doc)
    listed = [c for c in chapters if c.claims is not None]
    every = [cl for c in listed for cl in c.claims]
    held = sum(cl.holds for cl in every)
    lines = [
        "# Results",
        "",
        f"Every claim of every chapter, as checked by the run that built this site at scale `{escape(scale)}`: "
        f"**{held} of {len(every)}** claims hold across {len(listed)} chapters. Each chapter ends with the "
        "same claims in context; *paper* says where the paper makes the prediction.",
        "",
        ":::{div} catapult-results",
        "| Chapter | Claim | Paper | Predicted | Measured | Holds |",
        "|:--|:--|:--|:--|:--|:--|",
    ]
    for ch in chapters:
        title = "".join(c for c in " ".join(ch.title.split()) if c not in "`<>|")
        link = f"{{doc}}`{title} <{posixpath.relpath(ch.doc, here or '.')}>`"
        if ch.claims is None:
            lines.append(f"| {link} | not executed in this build | | | | |")
            continue
        for cl in ch.claims:
            mark = "✓" if cl.holds else "✗ fails"
            cells = [
                link,
                f"{escape(cl.statement)} (`{cl.id}`)",
                escape(cl.source),
                escape(claims_mod._fmt(cl.predicted)),
                escape(claims_mod._fmt(cl.measured)),
                mark,
            ]
            lines.append("| " + " | ".join(cells) + " |")
    lines += [":::", ""]
    return "\n".join(lines)
