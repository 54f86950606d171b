"""The build command: execution with papermill, failures named, claims written, the site built.

Each test builds a tiny book of its own in a temporary folder.
"""

import json
import shutil
from pathlib import Path

import nbformat
import pytest

from catapult import book

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent

CLAIM_CELL = """
from catapult import claims
claims.report([claims.at_most("value_small", "the value is small", "Sec. 0", bound=1.0, measured=value)])
"""


def chapter(*cells: str) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    params = nbformat.v4.new_code_cell('scale = "ci"')
    params.metadata["tags"] = ["parameters"]
    nb.cells = [nbformat.v4.new_markdown_cell("# A chapter"), params]
    nb.cells += [nbformat.v4.new_code_cell(src) for src in cells]
    return nb


def make_book(tmp_path: Path, chapters: dict[str, nbformat.NotebookNode]) -> Path:
    root = tmp_path / "src"
    (root / "book").mkdir(parents=True)
    shutil.copy(ROOT / "_config.yml", root / "_config.yml")
    shutil.copy(ROOT / "book" / "references.bib", root / "book" / "references.bib")
    (root / "book" / "intro.md").write_text("# Intro\n\nA test book {cite:p}`lewkowycz2020large`.\n")
    (root / "book" / "references.md").write_text("# References\n\n```{bibliography}\n```\n")
    toc = "format: jb-book\nroot: book/intro\nchapters:\n"
    for name, nb in chapters.items():
        nbformat.write(nb, root / "book" / f"{name}.ipynb")
        toc += f"  - file: book/{name}\n"
    toc += "  - file: book/references\n"
    (root / "_toc.yml").write_text(toc)
    return root


def test_good_chapters_execute_and_write_claims(tmp_path, capsys):
    root = make_book(tmp_path, {"ch_a": chapter("value = 0.5", CLAIM_CELL), "ch_b": chapter("value = 0.25", CLAIM_CELL)})
    src_before = (root / "book" / "ch_a.ipynb").read_text()
    out = tmp_path / "out"
    results = book.build("smoke", out=out, root=root, site=False)
    assert [r.name for r in results] == ["ch_a", "ch_b"]
    data = json.loads((out / "claims" / "ch_a.json").read_text())
    assert data == [
        {"id": "value_small", "statement": "the value is small", "source": "Sec. 0", "predicted": "≤ 1",
         "measured": 0.5, "tolerance": "≤ 1", "holds": True}
    ]
    executed = nbformat.read(out / "executed" / "book" / "ch_a.ipynb", as_version=4)
    assert executed.metadata.papermill.parameters == {"scale": "smoke"}
    assert (root / "book" / "ch_a.ipynb").read_text() == src_before  # sources never change
    printed = capsys.readouterr().out
    assert "[1/2] ch_a: done in" in printed and "1/1 claims hold" in printed


def test_a_raising_chapter_names_the_chapter_and_cell(tmp_path):
    root = make_book(tmp_path, {"ch_ok": chapter("value = 0.5", CLAIM_CELL),
                                "ch_bad": chapter("x = 1", "raise RuntimeError('boom in cell two')", CLAIM_CELL)})
    with pytest.raises(book.BuildError) as err:
        book.build("smoke", out=tmp_path / "out", root=root, site=False)
    msg = str(err.value)
    assert "chapter ch_bad failed in code cell 3" in msg
    assert "RuntimeError: boom in cell two" in msg and "raise RuntimeError" in msg


def test_a_failing_claim_fails_the_build_naming_the_claim(tmp_path, capsys):
    root = make_book(tmp_path, {"ch_claim": chapter("value = 3.0", CLAIM_CELL)})
    with pytest.raises(book.BuildError, match=r"1 of 1 claims do not hold(.|\n)*value_small: the value is small"):
        book.build("smoke", out=tmp_path / "out", root=root, site=False)
    # The claims are still written, so the failure can be inspected.
    assert json.loads((tmp_path / "out" / "claims" / "ch_claim.json").read_text())[0]["holds"] is False


def test_a_chapter_without_claims_fails(tmp_path):
    root = make_book(tmp_path, {"ch_silent": chapter("value = 0.5")})
    with pytest.raises(book.BuildError, match="reported no claims"):
        book.build("smoke", out=tmp_path / "out", root=root, site=False)


def test_stderr_output_fails_the_build(tmp_path):
    root = make_book(tmp_path, {"ch_noisy": chapter("import sys; sys.stderr.write('noise from a library')", "value = 0.5", CLAIM_CELL)})
    with pytest.raises(book.BuildError, match="ch_noisy wrote to stderr in code cell 2(.|\n)*noise from a library"):
        book.build("smoke", out=tmp_path / "out", root=root, site=False)


def test_unknown_scale_and_chapter_exit_nonzero_listing_valid_ones(capsys):
    assert book.main(["build", "--scale", "huge", "--no-site"]) == 1
    assert "valid scales are: smoke, ci, paper" in capsys.readouterr().err
    assert book.main(["build", "--scale", "smoke", "--only", "nope", "--no-site"]) == 1
    assert "valid chapters are: 01_warmup_model" in capsys.readouterr().err


def test_the_site_is_built_from_the_executed_copies(tmp_path):
    root = make_book(tmp_path, {"ch_a": chapter("value = 0.5", "print('hello from the kernel')", CLAIM_CELL)})
    out = tmp_path / "out"
    book.build("smoke", out=out, root=root, site=True)
    page = (out / "html" / "book" / "ch_a.html").read_text()
    assert "hello from the kernel" in page and "value_small" in page and "✓ holds" in page
    assert (out / "html" / "index.html").exists()
