r"""Check the built site the way a reader sees it: every page, in headless Chromium.

    python -m catapult check-site [--out _build]     # also the last step of `python -m catapult build`

For every HTML page of ``<out>/html`` (outside ``_static``-like folders):

- no Python traceback and no stderr block (myst-nb's ``output traceback`` / ``output stderr``);
- no MyST markup left in the text a reader sees (a role such as ``{glue:text}``, a directive's
  fence, a target; in inline code, a bare role), code blocks apart;
- every internal link, image, script and stylesheet points to a file of the site;
- a chapter page shows every figure its executed notebook (``<out>/executed``) produced: each
  image output is found on the page by its content hash (myst-nb names images by SHA-256);
- every page the toc lists exists and ends with its provenance box; the results page lists every
  claim of ``<out>/claims/*.json`` for the toc's chapters;
- in the browser (Debian's ``chromium``; skipped when none is installed, unless ``CI`` is set),
  each page is opened at two widths, a desktop window (1300 px) and a phone (390 px), and a small
  probe script run in a copy of the page, after MathJax has typeset it, reports:

  - every local image has loaded (``naturalWidth > 0``);
  - no TeX is left in the text a reader sees: ``\(``, ``\[`` or ``$$`` outside code means math that
    MathJax did not render (its file missing, or a TeX error);
  - nothing is cut off: no box or line of text runs past the right edge of the content column
    (``article.bd-article``) or the window, unless it is inside a scrolling box (``overflow-x:
    auto``) that itself fits, such as a wide table's or a code cell's;
  - at 1300 px the results table and the chapters' claims tables (:data:`MUST_FIT`) fit the
    column without sideways scrolling;

  and saves a screenshot of each page to ``<out>/screenshots/`` (1300 px) and
  ``<out>/screenshots/390px/``.

The site serves MathJax itself (copied from a pinned package by :mod:`catapult.book.site`), and
every external resource is blocked in the browser, so the check gives the same answer offline and
online, and its screenshots show the math as a reader sees it.
"""

from __future__ import annotations

import base64
import concurrent.futures
import hashlib
import html as html_mod
import json
import os
import re
import shutil
import subprocess
import tempfile
from html.parser import HTMLParser
from pathlib import Path
from typing import Sequence
from urllib.parse import quote, unquote, urlsplit

from . import explorer, headless

__all__ = [
    "CHROMIUM_FLAGS", "MUST_FIT", "WIDTHS", "SiteError", "browser_problems", "check", "figure_hashes",
    "find_chromium", "pages", "screenshot_path", "static_problems",
]

#: Flags that keep headless Chromium quiet, sandbox-free (root in containers) and offline.
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--host-resolver-rules=MAP * ~NOTFOUND",
]
_EXTERNAL = ("http:", "https:", "//", "mailto:", "javascript:", "data:", "tel:", "about:")
_FIGURE_MIMES = ("image/png", "image/jpeg", "image/svg+xml")
_HIDDEN_TAGS = {"remove-cell", "remove-output"}
_CHECK_ID = "catapult-site-check"
#: The widths every page is checked at: a desktop window and a phone.
WIDTHS = (1300, 390)
#: Elements that must fit the content column without sideways scrolling at the desktop width: the results
#: table and the chapters' claims tables.
MUST_FIT = ".catapult-results, .catapult-claims"
# The probe: run in a copy of each page once it has loaded and MathJax has typeset it (and its fonts are
# in), it writes what it measured as JSON into a hidden <pre>, which the check reads from --dump-dom.
_PROBE = r"""<script>
(function () {
  var ID = "__ID__", MUST_FIT = "__MUST_FIT__", done = false;
  function describe(el) {
    var s = el.tagName.toLowerCase(), cls = (el.getAttribute("class") || "").trim().split(/\s+/);
    if (el.id) s += "#" + el.id;
    cls = cls.filter(Boolean).slice(0, 3);
    return cls.length ? s + "." + cls.join(".") : s;
  }
  function snippet(text) {
    text = (text || "").replace(/\s+/g, " ").trim();
    return text.length > 60 ? text.slice(0, 57) + "..." : text;
  }
  function shown(el) {
    return el.getClientRects().length > 0 && getComputedStyle(el).visibility !== "hidden";
  }
  // TeX delimiters left in the text a reader sees: math MathJax did not render (code is skipped)
  function texLeft() {
    var found = [], re = /\\\(|\\\[|\$\$/, literal = /^(SCRIPT|STYLE|PRE|CODE|TEXTAREA|KBD|SAMP|NOSCRIPT)$/;
    var walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    while (walk.nextNode() && found.length < 5) {
      var node = walk.currentNode, at = node.nodeValue.search(re), skip = false;
      if (at < 0) continue;
      for (var a = node.parentElement; a && !skip; a = a.parentElement) skip = literal.test(a.tagName) || a.id === ID;
      if (!skip && shown(node.parentElement)) found.push(snippet(node.nodeValue.slice(at)));
    }
    return found;
  }
  function scrolls(el) {
    var o = getComputedStyle(el).overflowX;
    return o === "auto" || o === "scroll";
  }
  // Boxes and text whose right edge runs past the content column (or the window), outside any
  // scrolling box that itself fits: content a reader cannot see or reach
  function column() {
    return document.querySelector("article.bd-article") || document.querySelector("article") ||
           document.querySelector("main") || document.body;
  }
  function edge() {  // the right edge of the content column (or the window), plus a pixel of rounding
    return Math.min(column().getBoundingClientRect().right, document.documentElement.clientWidth) + 1;
  }
  function overflow() {
    var col = column(), limit = edge();
    var found = [], seen = [];
    function inkRight(text) {  // the right edge of the text's visible characters (not hanging spaces)
      var right = -Infinity, range = document.createRange(), s = text.nodeValue;
      for (var k = 0; k < s.length && k < 50000; k++) {
        if (!s[k].trim()) continue;
        range.setStart(text, k);
        range.setEnd(text, k + 1);
        right = Math.max(right, range.getBoundingClientRect().right);
      }
      return right;
    }
    function consider(el, right, from, text) {
      if (right <= limit) return;
      for (var a = from; a && a !== col; a = a.parentElement)
        if (scrolls(a) && a.getBoundingClientRect().right <= limit) return;
      if (text && (right = inkRight(text)) <= limit) return;
      if (!shown(el)) return;
      // report the block it is part of (the <pre>, not a highlighted token in it), once
      while (el !== col && el.parentElement && getComputedStyle(el).display.indexOf("inline") === 0)
        el = el.parentElement;
      var by = Math.round(right - limit + 1);
      for (var j = 0; j < seen.length; j++) if (seen[j].contains(el)) {
        found[j].by = Math.max(found[j].by, by);
        return;
      }
      seen.push(el);
      found.push({what: describe(el), text: snippet(el.textContent), by: by});
    }
    var all = col.querySelectorAll("*");
    for (var i = 0; i < all.length && found.length < 5; i++) {
      var el = all[i];
      if (el.id === ID || el.closest("mjx-assistive-mml, script, style, template")) continue;
      var r = el.getBoundingClientRect();
      if (r.width || r.height) consider(el, r.right, el.parentElement);
      for (var c = el.firstChild; c; c = c.nextSibling) {  // a long line in a <pre>, a long word
        if (c.nodeType !== 3 || !c.nodeValue.trim()) continue;
        var range = document.createRange();
        range.selectNodeContents(c);
        var t = range.getBoundingClientRect();
        if (t.width) consider(el, t.right, el, c);
      }
    }
    return found;
  }
  // MUST_FIT elements (tables) that run past the content column, scrolling boxes or not
  function unfit(limit) {
    var found = [];
    document.querySelectorAll(MUST_FIT).forEach(function (box) {
      if (!shown(box)) return;
      var right = box.getBoundingClientRect().right;
      box.querySelectorAll("*").forEach(function (el) {
        var r = el.getBoundingClientRect();
        if (r.width) right = Math.max(right, r.right);
      });
      if (right > limit) found.push({what: describe(box), by: Math.round(right - limit + 1)});
    });
    return found;
  }
  function report(note) {
    if (done) return;
    done = true;
    var mj = window.MathJax, pre = document.createElement("pre");
    pre.id = ID;
    pre.style.display = "none";
    pre.textContent = JSON.stringify({
      note: typeof note === "string" ? note : "",
      images: Array.prototype.map.call(document.images, function (im) {
        return {src: im.getAttribute("src"), ok: im.complete && im.naturalWidth > 0};
      }),
      mathjax: mj && mj.version ? mj.version : null,
      tex: texLeft(),
      overflow: overflow(),
      unfit: unfit(edge()),
      window: document.documentElement.clientWidth,
      page: document.documentElement.scrollWidth
    });
    document.body.appendChild(pre);
    if (window.parent !== window) window.parent.postMessage(ID + ":" + pre.textContent, "*");
  }
  window.addEventListener("load", function () {
    var mj = window.MathJax;
    var typeset = mj && mj.startup && mj.startup.promise ? mj.startup.promise : Promise.resolve();
    typeset.catch(function () {}).then(function () { return document.fonts && document.fonts.ready; })
      .then(report, report);
    setTimeout(function () { report("MathJax had not finished typesetting after 8 s"); }, 8000);
  });
})();
</script>"""
_CHECK_SCRIPT = _PROBE.replace("__ID__", _CHECK_ID).replace("__MUST_FIT__", MUST_FIT)
#: Headless Chromium's narrowest window: a page is checked at a narrower width inside an iframe that
#: wide (its media queries see the iframe's width), in a page that copies the probe's report out of it.
MIN_WINDOW = 500
_FRAME = """<!DOCTYPE html><html><head><meta charset="utf-8"><style>
html, body { margin: 0; padding: 0; background: #fff; }
iframe { display: block; border: 0; width: __WIDTH__px; height: 8990px; }
</style></head><body><iframe src="__SRC__"></iframe><script>
window.addEventListener("message", function (e) {
  var head = "__ID__:";
  if (typeof e.data !== "string" || e.data.indexOf(head) !== 0) return;
  var pre = document.createElement("pre");
  pre.id = "__ID__";
  pre.style.display = "none";
  pre.textContent = e.data.slice(head.length);
  document.body.appendChild(pre);
});
</script></body></html>
"""


class SiteError(RuntimeError):
    """The site has problems; the message lists them, page by page."""


class _Page(HTMLParser):
    """Collects a page's URLs, its images and its traceback / stderr blocks."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.refs: list[tuple[str, str]] = []  # (tag, url)
        self.images: list[str] = []
        self.bad_blocks: list[str] = []
        self.text: list[str] = []  # what a reader reads: outside code blocks, scripts, styles and inline code
        self.inline_code: list[str] = []  # the text of each inline <code> outside code blocks
        self._skip = 0
        self._code = 0

    def handle_endtag(self, tag):
        if tag in _NOT_PROSE and self._skip:
            self._skip -= 1
        if tag == "code" and self._code:
            self._code -= 1

    def handle_starttag(self, tag, attrs):
        if tag in _NOT_PROSE:
            self._skip += 1
        if tag == "code" and not self._skip:
            self._code += 1
            self.inline_code.append("")
        a = dict(attrs)
        for key in ("href", "src"):
            if a.get(key) and tag in ("a", "link", "img", "script", "source", "iframe"):
                self.refs.append((tag, a[key]))
        if tag == "img" and a.get("src"):
            self.images.append(a["src"])
        tokens = set((a.get("class") or "").split())
        if "output" in tokens and tokens & {"stderr", "traceback"} or tokens & {"stderr"}:
            self.bad_blocks.append(" ".join(sorted(tokens)))

    def handle_data(self, data):
        if "Traceback (most recent call last)" in data:
            self.bad_blocks.append("a Python traceback")
        if self._skip:
            return
        if self._code:
            self.inline_code[-1] += data
        else:
            self.text.append(data)


#: Elements whose text is not prose: code blocks and cell sources, scripts, styles.
_NOT_PROSE = {"pre", "script", "style"}
#: MyST markup left in a page's text: a role (``{glue:text}`name` ``), a directive fence or a target.
#: Math (``\mathrm{crit}``) does not match. Inline code may show markup (the manual does), but not a
#: bare role alone (:data:`_BARE_ROLE`): what a stray backtick makes of ``{glue:text}`name` ``.
_MYST_LEFT = re.compile(r"\{(?:glue|cite|ref|doc|numref|eq|download|term|abbr)(?::[\w-]+)?\}|\{[a-z][\w-]*(?::[\w-]+)?\}`"
                        r"|(?:```|:::)\{[\w-]+\}|^\([\w.-]+\)=$", re.M)
_BARE_ROLE = re.compile(r"\s*\{[a-z][\w-]*(?::[\w-]+)?\}\s*")


def pages(html_root: Path) -> list[Path]:
    """Every HTML page of the site, skipping folders whose name starts with '_' (static files, sources)."""
    return sorted(
        p for p in html_root.rglob("*.html") if not any(part.startswith("_") for part in p.relative_to(html_root).parts[:-1])
    )


def _local_target(html_root: Path, page: Path, url: str) -> Path | None:
    """The file an internal URL points to (None for external or same-page URLs)."""
    if not url or url.startswith("#") or url.lower().startswith(_EXTERNAL):
        return None
    parts = urlsplit(url)
    if parts.scheme or parts.netloc:
        return None
    if not parts.path:
        return None
    target = (page.parent / unquote(parts.path)).resolve()
    if target.is_dir():
        target = target / "index.html"
    return target


def figure_hashes(executed: Path) -> list[str]:
    """SHA-256 of every figure the executed notebook shows (outputs of cells not removed from the page)."""
    import nbformat

    nb = nbformat.read(str(executed), as_version=4)
    found = []
    for cell in nb.cells:
        if cell.cell_type != "code" or _HIDDEN_TAGS & set(cell.metadata.get("tags", [])):
            continue
        for out in cell.get("outputs", []):
            if out.get("output_type") not in ("display_data", "execute_result") or "scrapbook" in out.get("metadata", {}):
                continue
            for mime in _FIGURE_MIMES:
                if mime in out.get("data", {}):
                    data = out["data"][mime]
                    data = "".join(data) if isinstance(data, list) else data
                    raw = data.encode("utf-8") if mime == "image/svg+xml" else base64.b64decode(data)
                    found.append(hashlib.sha256(raw).hexdigest())
                    break
    return found


def static_problems(html_root: Path, page: Path, executed: Path | None = None) -> list[str]:
    """What is wrong with one page, read from its HTML alone."""
    parser = _Page()
    parser.feed(page.read_text(encoding="utf-8", errors="replace"))
    problems = [f"shows {b}" for b in dict.fromkeys(parser.bad_blocks)]
    text = "\n".join(parser.text)
    for m in dict.fromkeys(m.group(0) for m in _MYST_LEFT.finditer(text)):
        at = text.find(m)
        problems.append(f"shows MyST markup instead of what it stands for: {text[max(0, at - 40):at + 60].strip()!r}")
    for code in dict.fromkeys(c for c in parser.inline_code if _BARE_ROLE.fullmatch(c)):
        problems.append(f"shows MyST markup instead of what it stands for: a bare role in inline code, {code.strip()!r}")
    root = html_root.resolve()
    for tag, url in dict.fromkeys(parser.refs):
        target = _local_target(html_root, page, url)
        if target is None:
            continue
        if root not in target.parents or not target.is_file():
            kind = "missing image" if tag == "img" else "broken link"
            problems.append(f"{kind}: <{tag}> {url}")
    if executed is not None and executed.exists():
        srcs = " ".join(parser.images)
        for i, digest in enumerate(figure_hashes(executed), 1):
            if f"_images/{digest}." not in srcs:
                problems.append(f"figure {i} of {executed.name} (sha256 {digest[:12]}...) is not on the page")
    return problems


def find_chromium() -> str | None:
    for name in (os.environ.get("CATAPULT_CHROMIUM"), "chromium", "chromium-browser", "google-chrome"):
        if name and shutil.which(name):
            return shutil.which(name)
    return None


def _chromium(browser: str, args: list[str], timeout: float = 120) -> subprocess.CompletedProcess:
    """One headless Chromium run with :data:`CHROMIUM_FLAGS`; a hung browser is killed and retried
    (:func:`catapult.book.headless.run`)."""
    return headless.run(browser, CHROMIUM_FLAGS, args, timeout=timeout)


def _crop(png: Path, width: int) -> None:
    """Cut a screenshot down to its left ``width`` pixels (the iframe a narrow page was shown in)."""
    try:
        from PIL import Image
    except ImportError:  # the screenshot keeps the blank strip right of the frame
        return
    with Image.open(png) as im:
        im.load()
    if im.width > width:
        im.crop((0, 0, width, im.height)).save(png)


def screenshot_path(shots: Path, rel: Path, width: int) -> Path:
    """Where the screenshot of page ``rel`` at ``width`` goes: ``shots/<rel>.png`` at the desktop width
    (the first of :data:`WIDTHS`), ``shots/<width>px/<rel>.png`` at the others."""
    shot = rel.with_suffix(".png")
    return shots / shot if width == WIDTHS[0] else shots / f"{width}px" / shot


def browser_problems(browser: str, html_root: Path, page: Path, probe_copy: Path, screenshot: Path,
                     width: int = WIDTHS[0]) -> list[str]:
    """Load ``probe_copy`` (``page`` plus the probe script) once, in a window ``width`` px wide: save its
    screenshot, report images that did not load, TeX that MathJax did not render, content cut off
    at the right edge of the content column (or the window), and, at the desktop width, a table of
    :data:`MUST_FIT` that needs sideways scrolling."""
    problems = []
    screenshot.parent.mkdir(parents=True, exist_ok=True)
    target = probe_copy
    if width < MIN_WINDOW:
        target = probe_copy.with_name(f"{probe_copy.stem}.{width}px-frame.html")
        target.write_text(_FRAME.replace("__WIDTH__", str(width)).replace("__SRC__", quote(probe_copy.name))
                          .replace("__ID__", _CHECK_ID), encoding="utf-8")
    try:
        proc = _chromium(browser, [f"--screenshot={screenshot}", f"--window-size={max(width, MIN_WINDOW)},9000",
                                   "--virtual-time-budget=15000", "--run-all-compositor-stages-before-draw",
                                   "--dump-dom", target.resolve().as_uri()])
    except subprocess.TimeoutExpired:
        return [f"the browser timed out on the page ({width} px), three times"]
    if not screenshot.exists() or screenshot.stat().st_size == 0:
        problems.append(f"the browser saved no screenshot ({width} px)")
    elif width < MIN_WINDOW:
        _crop(screenshot, width)
    match = re.search(rf'<pre id="{_CHECK_ID}"[^>]*>(.*?)</pre>', proc.stdout, re.S)
    if not match:
        return problems + [f"the page did not finish loading in the browser ({width} px)"]
    found = json.loads(html_mod.unescape(match.group(1)))
    for img in found["images"]:
        if not img["ok"] and _local_target(html_root, page, img["src"] or "") is not None:
            problems.append(f"image did not load in the browser: {img['src']}")
    if found["tex"]:
        why = "MathJax did not load" if not found["mathjax"] else f"MathJax {found['mathjax']} left it"
        if found["note"]:
            why += "; " + found["note"]
        problems.append(f"shows TeX instead of math ({why}): " + " | ".join(found["tex"]))
    for item in found["overflow"]:
        problems.append(f"content cut off at {width} px: <{item['what']}> runs {item['by']} px past the content "
                        f"column, outside any scrolling box ({item['text']!r})")
    if width == WIDTHS[0]:
        for item in found["unfit"]:
            problems.append(f"<{item['what']}> is {item['by']} px too wide for the content column at {width} px "
                            "(it must fit without sideways scrolling)")
    return problems


def check(
    out: Path,
    toc_pages: Sequence[str] | None = None,
    results_page: str | None = None,
    chapters: Sequence[str] | None = None,
    browser: str | None = "auto",
    require_browser: bool = False,
    workers: int | None = None,
) -> list[str]:
    """Every problem of the site in ``out/html`` as 'page: problem' lines (empty: all good).

    ``toc_pages``: toc entries (e.g. 'book/intro') that must have a page with a provenance box;
    ``results_page``: the toc entry of the results page, which must list every claim of ``chapters``
    (notebook stems, read from ``out/claims``); ``browser``: a Chromium executable, 'auto' to look
    for one, None to skip the browser; ``require_browser``: a missing browser is a problem.
    """
    out = Path(out)
    html_root = out / "html"
    if not (html_root / "index.html").exists():
        return [f"{html_root}: no site here (index.html missing); build it first"]
    problems: list[str] = []
    all_pages = pages(html_root)
    executed = {p: out / "executed" / p.relative_to(html_root).with_suffix(".ipynb") for p in all_pages}
    for page in all_pages:
        rel = page.relative_to(html_root)
        problems += [f"{rel}: {p}" for p in static_problems(html_root, page, executed[page])]
    for entry in toc_pages or []:
        page = html_root / f"{entry}.html"
        if not page.exists():
            problems.append(f"{entry}: the toc lists it but the site has no page {page.relative_to(html_root)}")
        elif "catapult-provenance" not in page.read_text(encoding="utf-8"):
            problems.append(f"{entry}.html: no provenance box")
    if results_page:
        page = html_root / f"{results_page}.html"
        text = page.read_text(encoding="utf-8") if page.exists() else ""
        for stem in chapters or []:
            path = out / "claims" / f"{stem}.json"
            if not path.exists():
                problems.append(f"{results_page}.html: no claims file {path} for chapter {stem}")
                continue
            for claim in json.loads(path.read_text(encoding="utf-8")):
                if f">{claim['id']}<" not in text:
                    problems.append(f"{results_page}.html: claim {claim['id']} of {stem} is not listed")

    exe = find_chromium() if browser == "auto" else browser
    if exe is None:
        if require_browser:
            problems.append("no Chromium found for the browser check: install Debian's chromium package")
        return sorted(problems)
    shots = out / "screenshots"
    if shots.exists():
        shutil.rmtree(shots)
    with tempfile.TemporaryDirectory(prefix="catapult-site-") as tmp:
        probe_root = Path(tmp) / "html"
        shutil.copytree(html_root, probe_root)
        # chapter 1's in-page explorer against catapult.warmup's runs, exported by the build
        for page in all_pages:
            if 'class="warmup-explorer"' in page.read_text(encoding="utf-8", errors="replace"):
                rel = page.relative_to(html_root)
                problems += [f"{rel}: {p}" for p in explorer.check_page(exe, probe_root, rel, CHROMIUM_FLAGS)]
        jobs = {}
        # one browser a core, three at most: more only makes each page slower to load
        workers = workers or max(1, min(3, os.cpu_count() or 1))
        with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
            for page in all_pages:
                rel = page.relative_to(html_root)
                probe = probe_root / rel
                text = probe.read_text(encoding="utf-8", errors="replace")
                text = text.replace("</body>", _CHECK_SCRIPT + "</body>", 1) if "</body>" in text else text + _CHECK_SCRIPT
                probe.write_text(text, encoding="utf-8")
                for width in WIDTHS:
                    shot = screenshot_path(shots, rel, width)
                    jobs[pool.submit(browser_problems, exe, html_root, page, probe, shot, width)] = rel
            for job in concurrent.futures.as_completed(jobs):
                problems += [f"{jobs[job]}: {p}" for p in job.result()]
    return sorted(dict.fromkeys(problems))
