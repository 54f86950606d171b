"""The chapters as Colab shows them: each executed chapter rendered for CommonMark.

Colab renders a notebook's markdown as CommonMark (with ``$`` math) and shows the outputs saved
in it; it knows nothing of MyST, so the source notebooks would show ``{glue:text}`name` `` where
a number belongs. :func:`render` turns an executed chapter into the notebook the site's Colab
buttons open:

- ``{glue:text}`name` `` becomes the value the build glued, marked :data:`MARK` (the published
  run's number; a banner under the title says which run that was);
- ``{cite}`key` `` becomes "(Author et al., year)" linked to the paper (``book/references.bib``),
  ``{ref}`label` `` the title of the section it names, linked to the site;
- ``(label)=`` targets are dropped and an ``{admonition}`` becomes a quoted block under its title;
- code cells hidden on the site (``remove-cell``, ``hide-input``) become Colab form cells: they
  run, their code folded under a title; the Colab cell follows the title and the banner;
- the glue records leave the outputs (Colab cannot show them): run in Colab, the cells that glue
  print the reader's own values instead (:func:`catapult.claims.glue` without myst-nb).

Any other role or directive is an error, so new markup cannot reach Colab unnoticed;
:func:`problems` renders a notebook's markdown as Colab does (CommonMark, markdown-it-py) and
lists what would show as markup. :func:`write_all` writes ``<out>/colab/book/*.ipynb``; the site
carries them under ``colab/`` and the publish workflow pushes them to the :data:`BRANCH` branch,
which the Colab buttons open (:func:`catapult.book.site.site_config`).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any, Mapping, Sequence

from .errors import BuildError

__all__ = ["BRANCH", "MARK", "Bibliography", "banner", "glued_values", "labels", "plain_glue", "problems", "render",
           "render_markdown", "write_all"]

#: The branch the publish workflow writes the rendered chapters to; the Colab buttons open it.
BRANCH = "colab"
#: After every number the published build glued into the text.
MARK = "†"

_ROLE = re.compile(r"\{(?P<role>[a-z][\w:-]*)\}`(?P<body>[^`]*)`")
_TARGET = re.compile(r"^\((?P<label>[\w.-]+)\)=[ \t]*\n?", re.M)
_FENCE = re.compile(r"^(?P<fence>`{3,}|:{3,})\{(?P<name>[\w:-]+)\}[ \t]*(?P<arg>[^\n]*)\n(?P<body>.*?)^(?P=fence)[ \t]*$",
                    re.M | re.S)
_ADMONITIONS = {"admonition": "", "note": "Note", "tip": "Tip", "important": "Important", "warning": "Warning",
                "caution": "Caution", "seealso": "See also"}
_HIDDEN = ("remove-cell", "remove-input", "hide-input", "hide-cell")


# ------------------------------------------------------------------ what the prose refers to


class Bibliography:
    """The entries of a BibTeX file as author-year citations (last names, year, url)."""

    def __init__(self, text: str) -> None:
        self.entries: dict[str, dict[str, str]] = {}
        for match in re.finditer(r"@\w+\s*\{\s*([^,\s]+)\s*,(.*?)\n\}", text, re.S):
            fields = dict((k.lower(), " ".join(v.split())) for k, v in re.findall(r"(\w+)\s*=\s*\{(.*?)\}\s*,?\s*$",
                                                                                   match.group(2), re.M))
            self.entries[match.group(1)] = fields

    @classmethod
    def read(cls, path: Path) -> "Bibliography":
        return cls(Path(path).read_text(encoding="utf-8")) if Path(path).exists() else cls("")

    def authors(self, key: str) -> str:
        entry = self.entries.get(key)
        if entry is None or "author" not in entry or "year" not in entry:
            raise BuildError(f"cannot cite {key!r} in Colab: no entry with author and year in the bibliography")
        last = [name.split(",")[0].strip() for name in entry["author"].split(" and ")]
        last = [re.sub(r"[{}\\]", "", name) for name in last]
        return last[0] if len(last) == 1 else f"{last[0]} and {last[1]}" if len(last) == 2 else f"{last[0]} et al."

    def cite(self, keys: str, textual: bool = False) -> str:
        """Markdown for ``{cite}`keys` `` (parenthetical) or ``{cite:t}`` (textual)."""
        parts = []
        for key in [k.strip() for k in keys.split(",") if k.strip()]:
            who, year, url = self.authors(key), self.entries[key]["year"], self.entries[key].get("url", "")
            text = f"{who} ({year})" if textual else f"{who}, {year}"
            parts.append(f"[{text}]({url})" if url else text)
        return "; ".join(parts) if textual else f"({'; '.join(parts)})"


def labels(sources: Mapping[str, Any]) -> dict[str, tuple[str, str]]:
    """{label: (chapter stem, section title)} for every ``(label)=`` target followed by a heading,
    over ``sources`` ({stem: notebook})."""
    found: dict[str, tuple[str, str]] = {}
    for stem, nb in sources.items():
        for cell in nb.cells:
            if cell.cell_type != "markdown":
                continue
            for m in re.finditer(r"^\(([\w.-]+)\)=[ \t]*\n+#+[ \t]+(.+)$", cell.source, re.M):
                found[m.group(1)] = (stem, m.group(2).strip())
    return found


def glued_values(nb) -> dict[str, str]:
    """{name: text/plain} of every value the executed notebook glued (myst-nb's records)."""
    values = {}
    for cell in nb.cells:
        for out in cell.get("outputs", []) if cell.cell_type == "code" else []:
            record = out.get("metadata", {}).get("scrapbook")
            if not record:
                continue
            data = out.get("data", {})
            key = record.get("mime_prefix", "") + "text/plain"
            if key in data:
                text = data[key]
                values[record["name"]] = "".join(text) if isinstance(text, list) else text
    return values


def plain_glue(text: str, spec: str = "") -> str:
    """What ``{glue:text}`name:spec` `` shows for a glued text/plain value (myst-nb's rule: the text
    is read as a Python literal where it is one, then formatted with ``spec``)."""
    try:
        value = ast.literal_eval(text)
    except (SyntaxError, ValueError, TypeError, MemoryError, RecursionError):
        value = text
    if not spec:
        return str(value)
    kind = spec[-1]
    if kind in "bcdoxX":
        value = int(value)
    elif kind in "eEfFgGn%":
        value = float(value)
    elif kind == "s":
        value = str(value)
    return format(value, spec)


# ------------------------------------------------------------------ markdown


def render_markdown(text: str, *, values: Mapping[str, str], bib: Bibliography,
                    targets: Mapping[str, tuple[str, str]], site: str = "", where: str = "") -> str:
    """One markdown cell's MyST as CommonMark (see the module's docstring); BuildError on markup
    this renderer does not know, or on a glued name the run did not glue."""

    def fence(m: re.Match) -> str:
        name, arg, body = m.group("name"), m.group("arg").strip(), m.group("body")
        if name not in _ADMONITIONS:
            raise BuildError(f"{where}: the {{{name}}} directive has no Colab form (catapult/book/colab_pages.py)")
        lines = [ln for ln in body.rstrip("\n").split("\n") if not re.match(r"^:[\w-]+:", ln)]
        title = arg or _ADMONITIONS[name]
        quoted = ([f"> **{title}**", ">"] if title else []) + [f"> {ln}".rstrip() for ln in lines]
        return "\n".join(quoted)

    def role(m: re.Match) -> str:
        name, body = m.group("role"), m.group("body")
        if name in ("glue", "glue:text", "glue:"):
            key, _, spec = body.partition(":")
            if key not in values:
                raise BuildError(f"{where}: {{glue:text}}`{key}` was not glued by the run")
            shown = plain_glue(values[key], spec)
            if not shown.strip():
                raise BuildError(f"{where}: {{glue:text}}`{key}` was glued empty")
            return shown + MARK
        if name in ("cite", "cite:p", "cite:ps"):
            return bib.cite(body)
        if name in ("cite:t", "cite:ts"):
            return bib.cite(body, textual=True)
        if name in ("ref", "doc"):
            explicit = re.match(r"^(.*?)\s*<([^>]+)>$", body)
            text, label = (explicit.group(1), explicit.group(2)) if explicit else ("", body)
            if name == "ref":
                if label not in targets:
                    raise BuildError(f"{where}: {{ref}}`{body}` names no section of the book")
                stem, title = targets[label]
                text = text or f"“{title}”"
                return f"[{text}]({site}/book/{stem}.html#{label})" if site else text
            page = label.split("/")[-1]
            return f"[{text or page}]({site}/book/{page}.html)" if site else (text or page)
        raise BuildError(f"{where}: the {{{name}}} role has no Colab form (catapult/book/colab_pages.py)")

    text = _FENCE.sub(fence, text)
    text = _TARGET.sub("", text)
    return _ROLE.sub(role, text)


# ------------------------------------------------------------------ code cells


def _title(cell) -> str:
    """The title of the form a hidden cell becomes: its first comment line (which it then replaces),
    or what the cell does."""
    first, _, rest = cell.source.lstrip().partition("\n")
    if first.startswith("#") and not first.startswith("# @title"):
        cell.source = rest
        return first.lstrip("# ").rstrip(".")
    if any("image/png" in o.get("data", {}) for o in cell.get("outputs", [])):
        return "The code of this figure"
    if "glue" in cell.source:
        return f"Numbers for the text (the published run's are marked {MARK}; this prints yours)"
    return "Code (folded, as on the site)"


def _form(cell, title: str):
    cell.source = f"# @title {title}\n{cell.source}"
    cell.metadata["cellView"] = "form"
    return cell


def _is_glue_record(out) -> bool:
    return bool(out.get("metadata", {}).get("scrapbook")) or any(
        k.startswith("application/papermill.record/") for k in out.get("data", {}))


def banner(stem: str, provenance: Mapping[str, Any] | None, site: str = "") -> str:
    """The markdown cell under a chapter's title in Colab: which run the marked numbers come from."""
    rec = dict(provenance or {})
    book = f"[The catapult mechanism, executed]({site}/book/{stem}.html)" if site else "The catapult mechanism, executed"
    run = ", ".join(str(x) for x in (
        f"scale `{rec['scale']}`" if rec.get("scale") else "",
        f"seed {rec['seed']}" if rec.get("seed") else "",
        f"commit `{rec['commit']}`" if rec.get("commit") else "",
        rec.get("date", ""), rec.get("device", "")) if x)
    return (
        f"> **This is the Colab edition of a chapter of {book}.** The text, its numbers and the outputs\n"
        f"> below come from the published build{f' ({run})' if run else ''}: every number marked {MARK} was\n"
        "> measured by that run. *Runtime → Run all* runs the chapter here: the first code cell installs\n"
        "> the book's package, the `parameters` cell chooses the scale (`\"smoke\"` runs in a few minutes,\n"
        "> `\"ci\"` is the published build), and the folded cells print this run's numbers, the ones the\n"
        f"> text marks {MARK}."
    )


# ------------------------------------------------------------------ a chapter


def render(executed, *, stem: str, bib: Bibliography, targets: Mapping[str, tuple[str, str]], site: str = "",
           provenance: Mapping[str, Any] | None = None, pin: tuple[str, str] | None = None):
    """The Colab form of an executed chapter (a new notebook; ``executed`` is left as it is).

    ``pin`` = (release tag, full commit sha): the Colab cell then installs ``catapult`` at the
    commit the chapter ran from instead of the tag, so the package matches the notebook."""
    import copy

    import nbformat

    nb = copy.deepcopy(executed)
    values = glued_values(nb)
    cells, install = [], None
    for i, cell in enumerate(nb.cells):
        tags = set(cell.metadata.get("tags", []))
        cell.metadata.pop("papermill", None)
        cell.metadata.pop("execution", None)
        if cell.cell_type == "markdown":
            cell.source = render_markdown(cell.source, values=values, bib=bib, targets=targets, site=site,
                                          where=f"{stem}, cell {i}")
            cells.append(cell)
            continue
        if cell.cell_type != "code":
            cells.append(cell)
            continue
        if "injected-parameters" in tags:
            continue  # papermill's values for the published build; the reader's come from the parameters cell
        cell.outputs = [o for o in cell.get("outputs", []) if not _is_glue_record(o)]
        if "colab" in tags:
            if pin is not None:
                tag, sha = pin
                if f"@{tag}\"" not in cell.source:
                    raise BuildError(f"{stem}: its Colab cell does not install {tag}: run python -m catapult colab-cell")
                cell.source = cell.source.replace(f"@{tag}\"", f"@{sha}\"")
            install = _form(cell, "Colab: install the book's package (run this first; elsewhere it does nothing)")
            continue
        if "parameters" in tags:
            cells.append(cell)  # the reader's choice of scale and seed: shown
        elif tags & set(_HIDDEN):
            cells.append(_form(cell, _title(cell)))
        else:
            cells.append(cell)
    head = next((k for k, c in enumerate(cells) if c.cell_type == "markdown" and c.source.lstrip().startswith("# ")), -1)
    extra = [nbformat.v4.new_markdown_cell(banner(stem, provenance, site))] + ([install] if install is not None else [])
    for k, cell in enumerate(extra):
        cell.id = cell.get("id") or f"colab-{k}"
    nb.cells = cells[: head + 1] + extra + cells[head + 1:]
    nb.metadata.pop("papermill", None)
    nb.metadata["colab"] = {"provenance": [], "toc_visible": True}
    return nb


def problems(nb) -> list[str]:
    """What Colab would show as markup in ``nb``: its markdown rendered as CommonMark (markdown-it-py),
    math and code left out, searched for MyST roles, directives, targets and empty placeholders;
    glue records in outputs; an empty HTML container (a widget that needs a script)."""
    from markdown_it import MarkdownIt

    md = MarkdownIt("commonmark")
    found = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            if any(_is_glue_record(o) for o in cell.get("outputs", [])):
                found.append(f"cell {i}: a glue record among the outputs")
            continue
        if cell.cell_type != "markdown":
            continue
        source = re.sub(r"\$\$.*?\$\$|\$[^$\n]+\$", " ", cell.source, flags=re.S)  # Colab typesets math
        html = md.render(source)
        if re.search(r'class="language-\{', html):
            found.append(f"cell {i}: a MyST directive shown as a code block")
        text = re.sub(r"<pre>.*?</pre>", " ", html, flags=re.S)
        for pattern, what in ((r"\{[a-z][\w-]*(?::[\w-]+)?\}\s*<code>", "a MyST role"),
                              (r"\{glue|\{cite|\{ref\}|\{doc\}|\{numref\}|\{eq\}", "a MyST role"),
                              (r"<p>\([\w.-]+\)=</p>", "a MyST target"), (r"^:{3,}", "a colon fence"),
                              (r"<div[^>]*>\s*</div>", "an empty HTML container"),
                              (r"\{\{[^}]*\}\}", "a substitution")):
            if re.search(pattern, text, re.M):
                found.append(f"cell {i}: {what} left: {re.search(pattern, text, re.M).group(0)[:60]!r}")
    return found


def _clean_head(root: Path) -> str | None:
    """The full sha of HEAD when the working tree is clean (what a published build runs from), else None."""
    import subprocess

    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True)
        dirty = subprocess.run(["git", "status", "--porcelain"], cwd=root, capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        return None
    return None if dirty.stdout.strip() else sha.stdout.strip() or None


def write_all(root: Path, out: Path, notebooks: Sequence[Path]) -> list[Path]:
    """Render every executed chapter (``<out>/executed/<rel>``) into ``<out>/colab/<rel>``; the paths
    written. From a clean checkout the Colab cell installs ``catapult`` at HEAD's commit (the one the
    publish workflow pushes), else at the release tag. BuildError if a rendered chapter would
    still show markup (:func:`problems`)."""
    import nbformat

    from .execute import chapter_provenance
    from .project import project

    proj = project(root)
    site, sha = proj.site, _clean_head(root)
    bib = Bibliography.read(root / "book" / "references.bib")
    from .toc import toc_notebooks

    every = dict.fromkeys([*toc_notebooks(root), *map(Path, notebooks)])  # {ref}s may name another chapter's section
    sources = {Path(rel).stem: nbformat.read(str(root / rel), as_version=4) for rel in every}
    targets = labels(sources)
    written, bad = [], []
    for rel in notebooks:
        rel = Path(rel)
        executed = nbformat.read(str(out / "executed" / rel), as_version=4)
        nb = render(executed, stem=rel.stem, bib=bib, targets=targets, site=site,
                    provenance=chapter_provenance(out, rel), pin=(proj.release, sha) if sha else None)
        bad += [f"{rel.stem}: {p}" for p in problems(nb)]
        path = out / "colab" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        text = nbformat.writes(nb) + "\n"
        tmp = path.with_suffix(".ipynb.tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
        written.append(path)
    if bad:
        raise BuildError("the Colab notebooks would show markup:\n" + "\n".join(f"  - {p}" for p in bad))
    return written
