"""The site check (catapult.book.site_check) on small hand-made sites: each kind of problem is found.

The browser tests need Debian's chromium (installed by .ci/run); without it they are skipped,
except under CI, where they fail.
"""

import base64
import os
from pathlib import Path

import nbformat
import pytest

from catapult.book import site_check

# A 2x2 PNG (valid), its bytes as a notebook stores them.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAIAAAD91JpzAAAAFklEQVR4nGP4z8DAwMDAxMDAwMDAAAANHQEDasKb6QAAAABJRU5ErkJggg=="
)
CHROMIUM = site_check.find_chromium()
needs_browser = pytest.mark.skipif(
    CHROMIUM is None and not os.environ.get("CI"), reason="no chromium installed (CI installs it and requires it)"
)


def page(body: str) -> str:
    return f"<!DOCTYPE html><html><head><title>t</title></head><body>{body}</body></html>"


def make_site(tmp_path: Path, chapter_body: str, figure_in_notebook: bool = False) -> Path:
    import hashlib

    out = tmp_path / "out"
    html = out / "html"
    (html / "book").mkdir(parents=True)
    (html / "_images").mkdir()
    digest = hashlib.sha256(PNG).hexdigest()
    (html / "_images" / f"{digest}.png").write_bytes(PNG)
    (html / "index.html").write_text(page('<a href="book/ch.html">chapter</a>'))
    (html / "book" / "ch.html").write_text(page(chapter_body.replace("DIGEST", digest)))
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("plot()")
    if figure_in_notebook:
        cell.outputs = [nbformat.v4.new_output("display_data", data={"image/png": base64.b64encode(PNG).decode()})]
    nb.cells = [cell]
    (out / "executed" / "book").mkdir(parents=True)
    nbformat.write(nb, out / "executed" / "book" / "ch.ipynb")
    return out


GOOD = '<p>text</p><a href="../index.html#top">home</a><a href="https://example.org">ext</a>' \
       '<img src="../_images/DIGEST.png"><script src="https://cdn.example.org/mathjax.js"></script>'


def test_a_good_site_has_no_problems(tmp_path):
    out = make_site(tmp_path, GOOD, figure_in_notebook=True)
    assert site_check.check(out, browser=None) == []


@pytest.mark.parametrize(
    "body, expected",
    [
        (GOOD + '<a href="missing.html">x</a>', "broken link: <a> missing.html"),
        (GOOD + '<img src="../_images/nothing.png">', "missing image: <img> ../_images/nothing.png"),
        (GOOD + '<div class="output stderr"><pre>warning</pre></div>', "shows output stderr"),
        (GOOD + '<div class="output traceback"><pre>x</pre></div>', "shows output traceback"),
        (GOOD + "<pre>Traceback (most recent call last):\n  File x</pre>", "shows a Python traceback"),
        ("<p>the figure's cell output is gone</p>", "figure 1 of ch.ipynb"),
    ],
)
def test_each_problem_is_found(tmp_path, body, expected):
    out = make_site(tmp_path, body, figure_in_notebook=True)
    problems = site_check.check(out, browser=None)
    assert any(p.startswith("book/ch.html: ") and expected in p for p in problems), problems


def test_toc_pages_need_a_page_and_a_provenance_box_and_results_list_every_claim(tmp_path):
    out = make_site(tmp_path, GOOD + '<div class="catapult-provenance">x</div>')
    (out / "claims").mkdir()
    (out / "claims" / "ch.json").write_text('[{"id": "claim_one"}, {"id": "claim_two"}]')
    (out / "html" / "book" / "results.html").write_text(page("<code>claim_one</code>"))
    problems = site_check.check(out, toc_pages=["book/ch", "book/gone", "book/results"], results_page="book/results",
                                chapters=["ch"], browser=None)
    assert problems == [
        "book/gone: the toc lists it but the site has no page book/gone.html",
        "book/results.html: claim claim_two of ch is not listed",
        "book/results.html: no provenance box",
    ]


def test_a_missing_browser_is_a_problem_only_when_required(tmp_path):
    out = make_site(tmp_path, GOOD)
    assert site_check.check(out, browser=None, require_browser=False) == []
    assert site_check.check(out, browser=None, require_browser=True) == [
        "no Chromium found for the browser check: install Debian's chromium package"
    ]


@needs_browser
def test_the_browser_screenshots_every_page_and_finds_images_that_do_not_load(tmp_path):
    out = make_site(tmp_path, GOOD + '<img src="../_images/broken.png">', figure_in_notebook=True)
    (out / "html" / "_images" / "broken.png").write_bytes(b"not a png")  # exists, so only a browser sees it
    assert site_check.check(out, browser=None) == []
    problems = site_check.check(out, browser=CHROMIUM)
    assert problems == ["book/ch.html: image did not load in the browser: ../_images/broken.png"]
    assert (out / "screenshots" / "index.png").stat().st_size > 0
    assert (out / "screenshots" / "book" / "ch.png").stat().st_size > 0
