"""The chapters as Colab shows them (``catapult.book.colab_pages``): MyST rendered to CommonMark.

Every chapter's rendering is checked where the chapter is executed (``tests/test_chapters.py``)
and by the build (``write_all`` fails on markup left); here, on a small executed notebook.
"""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest

from catapult.book import colab_pages as cp
from catapult.book import toc_notebooks
from catapult.book.errors import BuildError

ROOT = Path(__file__).resolve().parents[1]
BIB = cp.Bibliography.read(ROOT / "book" / "references.bib")
SITE = "https://example.org/book-site"


def glue_output(name: str, text: str) -> dict:
    prefix = "application/papermill.record/"
    return nbformat.v4.new_output("display_data", data={prefix + "text/plain": text},
                                  metadata={"scrapbook": {"name": name, "mime_prefix": prefix}})


def executed() -> nbformat.NotebookNode:
    cells = [
        nbformat.v4.new_code_cell("# Google Colab only\ninstall('git+https://github.com/o/n@v1.0\")",
                                  metadata={"tags": ["remove-cell", "colab"]}),
        nbformat.v4.new_markdown_cell("# A chapter\n\nAs {cite}`lewkowycz2020large` found, λ0 = {glue:text}`lam0`."),
        nbformat.v4.new_code_cell('scale = "ci"', metadata={"tags": ["parameters", "remove-cell"]}),
        nbformat.v4.new_code_cell('scale = "smoke"', metadata={"tags": ["injected-parameters"]}),
        nbformat.v4.new_code_cell("claims.glue_all(rec)", metadata={"tags": ["remove-cell"]},
                                  outputs=[glue_output("lam0", "12.3"), glue_output("pair", "'1, 2'")]),
        nbformat.v4.new_markdown_cell("(sec-a)=\n## Section A\n\nThe pair is {glue:text}`pair`; see {ref}`sec-a`.\n\n"
                                      "```{admonition} The book corrects the paper\n:class: note\nIt is $2 - \\epsilon$.\n```"),
        nbformat.v4.new_code_cell("fig, ax = plotting.panels(1)", metadata={"tags": ["hide-input"]},
                                  outputs=[nbformat.v4.new_output("display_data", data={"image/png": "iVBOR"})]),
        nbformat.v4.new_code_cell("x = 1  # shown", outputs=[nbformat.v4.new_output("stream", name="stdout", text="1\n")]),
    ]
    return nbformat.v4.new_notebook(cells=cells)


def render(nb=None, **kw):
    kw = {"stem": "07_test", "bib": BIB, "targets": {"sec-a": ("07_test", "Section A")}, "site": SITE,
          "provenance": {"scale": "ci", "commit": "abc1234", "date": "2026-12-07 08:00 UTC"}, **kw}
    return cp.render(nb if nb is not None else executed(), **kw)


def test_markup_becomes_commonmark_with_the_published_numbers_marked():
    nb = render()
    md = [c.source for c in nb.cells if c.cell_type == "markdown"]
    assert md[0] == ("# A chapter\n\nAs ([Lewkowycz et al., 2020](https://arxiv.org/abs/2003.02218)) found, "
                     f"λ0 = 12.3{cp.MARK}.")
    assert "scale `ci`" in md[1] and "commit `abc1234`" in md[1] and cp.MARK in md[1], "the banner says which run"
    assert md[2].startswith("## Section A\n\nThe pair is 1, 2" + cp.MARK + "; see [“Section A”]"
                            f"({SITE}/book/07_test.html#sec-a).")
    assert "> **The book corrects the paper**\n>\n> It is $2 - \\epsilon$." in md[2] and ":class:" not in md[2]
    assert cp.problems(nb) == []


def test_cells_hidden_on_the_site_run_folded_and_glue_records_leave_the_outputs():
    nb = render()
    kinds = [(c.cell_type, c.metadata.get("cellView"), c.source.split("\n")[0]) for c in nb.cells]
    assert kinds[0][0] == "markdown" and kinds[1][0] == "markdown", "the title, then the banner"
    assert kinds[2] == ("code", "form", "# @title Colab: install the book's package (run this first; "
                                         "elsewhere it does nothing)"), "then the Colab cell"
    assert kinds[3] == ("code", None, 'scale = "ci"'), "the reader chooses the scale; papermill's cell is gone"
    glue_cell = nb.cells[4]
    assert glue_cell.metadata["cellView"] == "form" and glue_cell.outputs == []
    assert nb.cells[6].source.startswith("# @title The code of this figure\n") and nb.cells[6].outputs
    assert nb.cells[7].source == "x = 1  # shown" and nb.cells[7].outputs[0]["text"] == "1\n"
    assert not any("injected-parameters" in c.metadata.get("tags", []) for c in nb.cells)


def test_the_colab_cell_installs_the_built_commit_when_pinned():
    sha = "0123456789abcdef0123456789abcdef01234567"
    nb = render(pin=("v1.0", sha))
    assert f"@{sha}\")" in nb.cells[2].source and "@v1.0" not in nb.cells[2].source
    with pytest.raises(BuildError, match="colab-cell"):
        render(pin=("v2.0", sha))


@pytest.mark.parametrize("source, match", [
    ("λ0 = {glue:text}`missing`.", "was not glued"),
    ("See {numref}`fig-1`.", "no Colab form"),
    ("```{figure} a.png\n:name: f\n```", "no Colab form"),
    ("See {ref}`nowhere`.", "names no section"),
    ("As {cite}`nobody2031`.", "no entry"),
])
def test_markup_without_a_colab_form_fails_the_rendering(source, match):
    nb = executed()
    nb.cells[1].source = source
    with pytest.raises(BuildError, match=match):
        render(nb)


@pytest.mark.parametrize("rel", toc_notebooks(ROOT), ids=lambda p: p.stem)
def test_the_check_sees_the_myst_of_every_source_chapter(rel):
    """The control: the sources themselves, as Colab would show them unrendered, fail the check."""
    found = cp.problems(nbformat.read(str(ROOT / rel), as_version=4))
    assert any("MyST role" in p for p in found), found


@pytest.mark.parametrize("text, what", [
    ("A {glue:text}`x` left.", "MyST role"), ("(sec-a)=\n## A", "MyST target"),
    ("```{note}\nbody\n```", "MyST directive"), (':::{note}\nbody\n:::', "colon fence"),
    ('<div class="warmup-explorer" data-c="2.5"></div>', "empty HTML container"),
])
def test_problems_names_what_colab_would_show_as_markup(text, what):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(text)])
    assert any(what in p for p in cp.problems(nb)), cp.problems(nb)


def test_math_is_left_to_colab():
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(
        "$\\eta_\\mathrm{crit} = 2/\\lambda_0$ and $$\\frac{a}{b}$$")])
    assert cp.problems(nb) == []


def test_write_all_renders_every_executed_chapter_and_refuses_markup(tmp_path, monkeypatch):
    from catapult.book.project import project

    sha = "89abcdef" * 5
    monkeypatch.setattr(cp, "_clean_head", lambda root: sha)  # a clean checkout: the cell installs the built commit
    nb = executed()
    nb.cells[0].source = nb.cells[0].source.replace("@v1.0", "@" + project(ROOT).release)
    nb.cells[1].source = "# Chapter\n\nSee {ref}`ntk-normalization`; λ0 = {glue:text}`lam0`."
    nb.cells[5].source = "## A section of another book's chapter"
    rel = Path("book") / "02_full_model.ipynb"
    (tmp_path / "executed" / "book").mkdir(parents=True)
    nbformat.write(nb, str(tmp_path / "executed" / rel))
    [path] = cp.write_all(ROOT, tmp_path, [rel])
    text = json.loads(path.read_text(encoding="utf-8"))
    md = "".join(text["cells"][0]["source"])
    assert "book/02_full_model.html#ntk-normalization" in md and f"12.3{cp.MARK}" in md
    install = next(c for c in text["cells"] if c.get("metadata", {}).get("cellView") == "form")
    assert f"@{sha}\")" in "".join(install["source"])
    monkeypatch.setattr(cp, "_clean_head", lambda root: None)  # a dirty tree: the release tag, as in the source
    [path] = cp.write_all(ROOT, tmp_path, [rel])
    assert "@" + project(ROOT).release in path.read_text(encoding="utf-8")
    nb.cells[1].source = "<div class='x'></div>"
    nbformat.write(nb, str(tmp_path / "executed" / rel))
    with pytest.raises(BuildError, match="empty HTML container"):
        cp.write_all(ROOT, tmp_path, [rel])
