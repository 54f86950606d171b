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
_no_browser = pytest.mark.skipif(
    CHROMIUM is None and not os.environ.get("CI"), reason="no chromium installed (CI installs it and requires it)"
)


def needs_browser(test):
    """Marked `browser` (deselect with -m "not browser") and skipped without Chromium, unless CI is set."""
    return pytest.mark.browser(_no_browser(test))


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


def test_markup_in_code_blocks_and_math_is_not_prose(tmp_path):
    body = GOOD + ("<pre>claims.glue('x', 1)  # {glue:text}`x` in the prose</pre><p>\\(\\eta_\\mathrm{crit}\\)</p>"
                   "<script>var a = '{cite}`x`';</script><p>the manual shows <code>{glue:text}`name`</code></p>")
    assert site_check.check(make_site(tmp_path, body, figure_in_notebook=True), browser=None) == []


@pytest.mark.parametrize(
    "body, expected",
    [
        (GOOD + '<a href="missing.html">x</a>', "broken link: <a> missing.html"),
        (GOOD + '<img src="../_images/nothing.png">', "missing image: <img> ../_images/nothing.png"),
        (GOOD + '<div class="output stderr"><pre>warning</pre></div>', "shows output stderr"),
        (GOOD + '<div class="output traceback"><pre>x</pre></div>', "shows output traceback"),
        (GOOD + "<pre>Traceback (most recent call last):\n  File x</pre>", "shows a Python traceback"),
        ("<p>the figure's cell output is gone</p>", "figure 1 of ch.ipynb"),
        # MyST left in the text: chapter 5 once read "built at scale {glue:text}scale_name``"
        (GOOD + "<p>built at scale <code>{glue:text}</code>scale_name``</p>", "MyST markup"),
        (GOOD + "<p>as {cite}<code>lewkowycz2020large</code> found</p>", "MyST markup"),
        (GOOD + "<p>```{admonition} Title</p>", "MyST markup"),
        (GOOD + "<p>(app-c1-relu)=</p>", "MyST markup"),
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


# --- math and layout, in the browser -------------------------------------------------------------

MATH = (
    '<script>window.MathJax = {"options": {"processHtmlClass": "tex2jax_process|mathjax_process|math|output_area"}}'
    '</script><script defer src="../_static/mathjax/tex-chtml-full.js"></script>'
    '<p>The critical rate <span class="math notranslate nohighlight">\\(\\eta_\\mathrm{crit} = 2/\\lambda_0\\)</span>.</p>'
    '<div class="math notranslate nohighlight">\\[\\lambda_t \\to \\frac{2}{\\eta}\\]</div>'
    "<pre><code>label = r'$$\\eta$$'  # code may hold TeX</code></pre>"
)


def column(body: str, width: str = "600px") -> str:
    """``body`` in a content column like the book theme's (``article.bd-article``), ``width`` wide."""
    return f'<article class="bd-article" style="width: {width}; max-width: 100%">{body}</article>'


def math_site(tmp_path: Path) -> Path:
    from catapult.book import site

    out = make_site(tmp_path, column(MATH))
    site.install_mathjax(out / "html")
    return out


def test_mathjax_is_copied_from_its_pinned_package_component_fonts_and_licence(tmp_path):
    from catapult.book import site

    files = site.install_mathjax(tmp_path)
    rels = {p.relative_to(tmp_path / "_static").as_posix() for p in files}
    assert site.MATHJAX_PATH in rels and "mathjax/LICENSE" in rels
    assert sum(r.endswith(".woff") for r in rels) >= 20
    assert sum(p.stat().st_size for p in files) < 3_000_000  # one combined component and its fonts, not all of MathJax
    config = (Path(__file__).resolve().parent.parent / "_config.yml").read_text()
    assert f"mathjax_path: {site.MATHJAX_PATH}\n" in config


@needs_browser
def test_math_renders_offline_from_the_sites_own_mathjax(tmp_path):
    out = math_site(tmp_path)
    assert site_check.check(out, browser=CHROMIUM) == []
    from PIL import Image

    with Image.open(out / "screenshots" / "390px" / "book" / "ch.png") as shot:
        assert shot.width == 390  # a phone-wide page, cut from the iframe it was shown in


@needs_browser
def test_a_page_whose_mathjax_is_missing_is_reported_for_its_tex(tmp_path):
    out = math_site(tmp_path)
    (out / "html" / "_static" / "mathjax" / "tex-chtml-full.js").unlink()
    problems = site_check.check(out, browser=CHROMIUM)
    assert "book/ch.html: broken link: <script> ../_static/mathjax/tex-chtml-full.js" in problems
    tex = [p for p in problems if "shows TeX instead of math" in p]
    assert len(tex) == 1 and "MathJax did not load" in tex[0], problems
    assert "\\(\\eta_\\mathrm{crit}" in tex[0] and "\\[\\lambda_t" in tex[0] and "$$" not in tex[0]


WIDE_TABLE = '<table style="width: 1000px"><tr><td>chapter</td><td>claim</td><td>measured</td></tr></table>'
LONG_LINE = "<pre>" + "x = 1  " * 150 + "</pre>"


@needs_browser
@pytest.mark.parametrize(
    "body, expected",
    [
        (column(WIDE_TABLE), ["content cut off at 1300 px: <table> runs", "content cut off at 390 px: <table> runs"]),
        (column(f'<div style="overflow-x: auto">{WIDE_TABLE}</div>'), []),
        (column(LONG_LINE), ["content cut off at 1300 px: <pre> runs", "content cut off at 390 px: <pre> runs"]),
        (column(f'<div style="overflow: hidden">{LONG_LINE}</div>'), ["at 1300 px: <pre> runs", "at 390 px: <pre> runs"]),
        (column(f'<pre style="overflow-x: auto">{LONG_LINE[5:]}'), []),
        (column(f'<pre style="white-space: pre-wrap">{LONG_LINE[5:]}'), []),
        (column('<div style="width: 500px">fits a desktop, not a phone</div>', "100%"),
         ["content cut off at 390 px: <div> runs 126 px past"]),
        (column(f'<div class="catapult-results"><div style="overflow-x: auto">{WIDE_TABLE}</div></div>'),
         ["<div.catapult-results> is 400 px too wide for the content column at 1300 px"]),
    ],
    ids=["table", "table-in-scroller", "pre", "pre-clipped", "pre-scrolls", "pre-wraps", "phone", "results-table"],
)
def test_content_cut_off_at_either_width_is_reported_unless_it_scrolls_in_a_box_that_fits(tmp_path, body, expected):
    out = make_site(tmp_path, body)
    problems = [p for p in site_check.check(out, browser=CHROMIUM) if p.startswith("book/ch.html: ")]
    assert len(problems) == len(expected), problems
    for want in expected:
        assert any(want in p for p in problems), (want, problems)


def _fake_browser(tmp_path: Path, hangs: int) -> str:
    """A 'browser' that hangs (with a child process holding its output open) on its first ``hangs``
    runs, then prints its arguments."""
    count = tmp_path / "runs"
    script = tmp_path / "fake-chromium"
    script.write_text(
        "#!/bin/sh\n"
        f'n=$(cat "{count}" 2>/dev/null || echo 0); n=$((n+1)); echo $n > "{count}"\n'
        f'if [ "$n" -le {hangs} ]; then sleep 60 & sleep 60; fi\n'
        'echo "ran $n: $*"\n'
    )
    script.chmod(0o755)
    return str(script)


def test_a_hung_browser_is_killed_with_its_children_and_tried_again(tmp_path):
    import subprocess
    import time

    from catapult.book import headless

    browser = _fake_browser(tmp_path, hangs=2)
    start = time.monotonic()
    proc = headless.run(browser, ["--headless"], ["page.html"], timeout=1, attempts=3)
    assert proc.stdout.startswith("ran 3: --headless --user-data-dir=") and proc.stdout.rstrip().endswith("page.html")
    assert time.monotonic() - start < 20  # the children holding the pipe were killed, not waited for

    always = tmp_path / "always"
    always.mkdir()
    with pytest.raises(subprocess.TimeoutExpired):  # a browser that always hangs: the page times out
        headless.run(_fake_browser(always, hangs=9), [], ["p"], timeout=0.5, attempts=2)
    with pytest.raises(ValueError, match="attempts"):
        headless.run(browser, [], [], attempts=0)
    assert headless.budgets(120, 3) == [30, 60, 120]  # a hang costs a quarter of the time a slow page may take
