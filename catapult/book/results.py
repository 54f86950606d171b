"""The results page: every chapter's claims in one table, from ``<out>/claims/*.json``.

The build writes it (MyST markdown) into the executed mirror of the book as the page the
toc lists as ``book/results`` (see :data:`catapult.book.toc.RESULTS_PAGE`), so a reader sees in
one place what this run of the book confirmed: chapter, claim, where the paper makes it,
predicted, measured, its chance to fail at another seed and its status. Predictions a scale
measures but does not claim are listed too, with their status ("unresolved at this scale",
"contradicts the paper at this scale"), so the page never reads as if everything reproduced.
"""

from __future__ import annotations

import collections
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
    claimed = [cl for cl in every if cl.claimed]
    measured = [cl for cl in every if not cl.claimed]
    held = sum(cl.holds for cl in claimed)
    estimated = [cl.chance for cl in claimed if cl.chance is not None]
    total = sum(estimated)
    counts = collections.Counter(claims_mod.status(cl) for cl in measured)
    lines = [
        "# Results",
        "",
        f"Every prediction of every chapter, as measured by the run that built this site at scale `{escape(scale)}`: "
        f"**{held} of {len(claimed)}** claims hold across {len(listed)} chapters. Each chapter ends with the "
        "same claims in context; *paper* says where the paper makes the prediction.",
        "",
        f"A claim's *chance* is the chance that it fails when its chapter is rebuilt at other seeds or on another "
        f"CPU (whose float rounding is another draw), estimated conservatively from this run's own per-seed values. "
        f"A scale claims a prediction only where a pilot at other seeds put that chance at or below "
        f"{100 * claims_mod.CLAIM_CHANCE:g} %; the book's total stays at or below {100 * claims_mod.BOOK_CHANCE:g} %. "
        f"Here the sum over the {len(estimated)} claims with an estimate is "
        f"**{claims_mod._chance(total) if total < 1 else f'{100 * total:.0f} %'}**"
        + (" (above the book's limit: these claims are fixed by pilots still to be run at the seeds that "
           "decide them)" if total > claims_mod.BOOK_CHANCE else "")
        + (f"; {len(claimed) - len(estimated)} claims do not carry an estimate yet (–)." if len(estimated) < len(claimed)
           else "."),
        "",
    ]
    if measured:
        lines += [
            f"Besides the claims, {len(measured)} predictions are measured but not claimed at this scale: "
            + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) + ". They are listed below the claims.",
            "",
        ]
    lines += [
        ":::{div} catapult-results",
        "| Chapter | Claim | Paper | Predicted | Measured | Chance to fail | Status |",
        "|:--|:--|:--|:--|:--|:--|:--|",
    ]

    def link(ch: Chapter) -> str:
        title = "".join(c for c in " ".join(ch.title.split()) if c not in "`<>|")
        return f"{{doc}}`{title} <{posixpath.relpath(ch.doc, here or '.')}>`"

    for ch in chapters:
        if ch.claims is None:
            lines.append(f"| {link(ch)} | not executed in this build | | | | | |")
    for want in (True, False):
        for ch in listed:
            for cl in ch.claims:
                if cl.claimed != want:
                    continue
                st = claims_mod.status(cl)
                mark = ("✓ " if cl.holds else "✗ ") + st if cl.claimed else st
                cells = [
                    link(ch),
                    f"{escape(cl.statement)} (`{cl.id}`)",
                    escape(cl.source),
                    escape(claims_mod._fmt(cl.predicted)),
                    escape(claims_mod._fmt(cl.measured) + (f" (n = {cl.n})" if cl.n else "")),
                    escape(claims_mod._chance(cl.chance)),
                    escape(mark + (f": {cl.reason}" if cl.reason and not cl.claimed else "")),
                ]
                lines.append("| " + " | ".join(cells) + " |")
    lines += [":::", ""]
    return "\n".join(lines)
