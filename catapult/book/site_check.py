"""Check the built site the way a reader sees it: every page, in headless Chromium.

    python -m catapult check-site [--out _build]     # also the last step of `python -m catapult build`

For every HTML page of ``<out>/html`` (outside ``_static``-like folders):

- no Python traceback and no stderr block (myst-nb's ``output traceback`` / ``output stderr``);
- every internal link, image, script and stylesheet points to a file of the site;
- a chapter page shows every figure its executed notebook (``<out>/executed``) produced: each
  image output is found on the page by its content hash (myst-nb names images by SHA-256);
- every page the toc lists exists and ends with its provenance box; the results page lists every
  claim of ``<out>/claims/*.json`` for the toc's chapters;
- in the browser (Debian's ``chromium``; skipped when none is installed, unless ``CI`` is set): a
  screenshot of each page is saved to ``<out>/screenshots/``, and every local image of the page
  has loaded (``naturalWidth > 0``, read by a small script run in a copy of the page).

External resources (MathJax from its CDN) are blocked in the browser, so the check gives the
same answer offline and online; math therefore shows as TeX in the screenshots.
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
from urllib.parse import unquote, urlsplit

__all__ = [
    "CHROMIUM_FLAGS", "WINDOW", "SiteError", "browser_problems", "check", "figure_hashes", "find_chromium", "pages",
    "static_problems",
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
WINDOW = "1300,9000"
_EXTERNAL = ("http:", "https:", "//", "mailto:", "javascript:", "data:", "tel:", "about:")
_FIGURE_MIMES = ("image/png", "image/jpeg", "image/svg+xml")
_HIDDEN_TAGS = {"remove-cell", "remove-output"}
_CHECK_ID = "catapult-site-check"
_CHECK_SCRIPT = f"""<script>
window.addEventListener("load", function () {{
  var imgs = Array.prototype.map.call(document.images, function (im) {{
    return {{src: im.getAttribute("src"), ok: im.complete && im.naturalWidth > 0}};
  }});
  var pre = document.createElement("pre");
  pre.id = "{_CHECK_ID}";
  pre.style.display = "none";
  pre.textContent = JSON.stringify({{images: imgs}});
  document.body.appendChild(pre);
}});
</script>"""


class SiteError(RuntimeError):
    """The site has problems; the message lists them, page by page."""


class _Page(HTMLParser):
    """Collects a page's URLs, its images and its traceback / stderr blocks."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.refs: list[tuple[str, str]] = []  # (tag, url)
        self.images: list[str] = []
        self.bad_blocks: list[str] = []

    def handle_starttag(self, tag, attrs):
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
    with tempfile.TemporaryDirectory(prefix="catapult-chromium-") as profile:
        return subprocess.run(
            [browser, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args],
            capture_output=True,
            text=True,
            timeout=timeout,
        )


def browser_problems(browser: str, html_root: Path, page: Path, probe_copy: Path, screenshot: Path) -> list[str]:
    """Load ``probe_copy`` (``page`` plus the probe script) once: save its screenshot, report images that did not load."""
    problems = []
    screenshot.parent.mkdir(parents=True, exist_ok=True)
    try:
        proc = _chromium(browser, [f"--screenshot={screenshot}", f"--window-size={WINDOW}", "--virtual-time-budget=10000",
                                   "--run-all-compositor-stages-before-draw", "--dump-dom", probe_copy.resolve().as_uri()])
    except subprocess.TimeoutExpired:
        return ["the browser timed out on the page"]
    if not screenshot.exists() or screenshot.stat().st_size == 0:
        problems.append("the browser saved no screenshot")
    match = re.search(rf'<pre id="{_CHECK_ID}"[^>]*>(.*?)</pre>', proc.stdout, re.S)
    if not match:
        return problems + ["the page did not finish loading in the browser"]
    for img in json.loads(html_mod.unescape(match.group(1)))["images"]:
        if not img["ok"] and _local_target(html_root, page, img["src"] or "") is not None:
            problems.append(f"image did not load in the browser: {img['src']}")
    return problems


def check(
    out: Path,
    toc_pages: Sequence[str] | None = None,
    results_page: str | None = None,
    chapters: Sequence[str] | None = None,
    browser: str | None = "auto",
    require_browser: bool = False,
    workers: int = 3,
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
        jobs = {}
        with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
            for page in all_pages:
                rel = page.relative_to(html_root)
                probe = probe_root / rel
                text = probe.read_text(encoding="utf-8", errors="replace")
                text = text.replace("</body>", _CHECK_SCRIPT + "</body>", 1) if "</body>" in text else text + _CHECK_SCRIPT
                probe.write_text(text, encoding="utf-8")
                shot = shots / rel.with_suffix(".png")
                jobs[pool.submit(browser_problems, exe, html_root, page, probe, shot)] = rel
            for job in concurrent.futures.as_completed(jobs):
                problems += [f"{jobs[job]}: {p}" for p in job.result()]
    return sorted(problems)
