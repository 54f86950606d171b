"""The site: the executed mirror of the book's sources, ``jupyter-book build``, and its check.

:func:`build_site` copies the book's non-notebook sources next to the executed chapters in
``<out>/executed`` (writing only what changed), generates the results page
(:mod:`catapult.book.results`) and a build-wide provenance box for every markdown page, then
runs ``jupyter-book build -W -n --keep-going`` on that mirror into ``<out>/html``, and copies
MathJax into the site (:func:`install_mathjax`), so that its math renders offline too.
:func:`check_site` runs :mod:`catapult.book.site_check` on the result.
"""

from __future__ import annotations

import os
import posixpath
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Sequence

from .. import claims as claims_mod
from . import explorer, provenance, results, site_check
from .errors import BuildError
from .execute import chapter_provenance
from .toc import RESULTS_PAGE, toc_entries, toc_notebooks

__all__ = ["MATHJAX_DIST", "MATHJAX_PATH", "build_site", "check_site", "install_mathjax", "mathjax_files"]

#: The PyPI package the site's MathJax comes from (pinned in requirements.txt): MathJax 3.2.2, Apache 2.0.
MATHJAX_DIST = "django-static-mathjax"
#: Where the site serves MathJax, relative to ``_static/``: what _config.yml's ``sphinx.config.mathjax_path`` names.
MATHJAX_PATH = "mathjax/tex-chtml-full.js"
_MATHJAX_ES5 = "mathjax/static/mathjax/es5"  # MathJax's ready-made components, inside the package


def mathjax_files() -> dict[str, Path]:
    """What the site needs of MathJax, as {path under ``_static/``: installed file}: the combined
    TeX-to-CommonHTML component with every TeX extension (so it loads nothing else), its web fonts
    and MathJax's licence (about 1.7 MB in all)."""
    from importlib import metadata

    try:
        dist = metadata.distribution(MATHJAX_DIST)
    except metadata.PackageNotFoundError:
        raise BuildError(
            f"MathJax is not installed: the site serves its own copy from the PyPI package {MATHJAX_DIST} "
            "(pip install --no-deps -r requirements.txt)"
        ) from None
    es5 = Path(dist.locate_file(_MATHJAX_ES5))
    base = posixpath.dirname(MATHJAX_PATH)
    files = {MATHJAX_PATH: es5 / posixpath.basename(MATHJAX_PATH), f"{base}/LICENSE": es5.parent / "LICENSE"}
    fonts = "output/chtml/fonts/woff-v2"  # MathJax's default fontURL, relative to the component
    files.update({f"{base}/{fonts}/{f.name}": f for f in sorted((es5 / fonts).glob("*.woff"))})
    missing = [str(src) for src in files.values() if not src.is_file()]
    if missing or len(files) < 10:
        raise BuildError(f"the installed {MATHJAX_DIST} lacks MathJax files: {', '.join(missing) or es5 / fonts}")
    return files


def install_mathjax(html: Path) -> list[Path]:
    """Copy MathJax (:func:`mathjax_files`) into the built site's ``_static/``; the copied files.

    Not through ``html_static_path``: Jupyter Book loads every .js file found there on every page.
    """
    copied = []
    for rel, src in mathjax_files().items():
        _copy_if_changed(src, html / "_static" / rel)
        copied.append(html / "_static" / rel)
    return copied


def _write_if_changed(path: Path, text: str) -> None:
    """Write ``text`` unless the file already holds it (Sphinx re-reads a page when its mtime changes)."""
    if path.exists() and path.read_text(encoding="utf-8") == text:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def _copy_if_changed(src: Path, dst: Path) -> None:
    if dst.exists() and dst.stat().st_size == src.stat().st_size and dst.read_bytes() == src.read_bytes():
        return
    dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(src, dst)

def _generated_pages(root: Path, out: Path, notebooks: Sequence[Path], scale: str) -> dict[str, str]:
    """MyST text of the toc's markdown pages as the site shows them: the results page generated from
    ``out/claims``, and every page followed by this build's provenance box."""
    entries = toc_entries(root)
    box = provenance.box_html(
        provenance.build_record(root, scale, [chapter_provenance(out, p) for p in notebooks]), what="This build"
    )
    pages: dict[str, str] = {}
    if RESULTS_PAGE in entries:
        chapters = []
        for rel in notebooks:
            claims_path = out / "claims" / f"{rel.stem}.json"
            found = claims_mod.load(claims_path) if claims_path.exists() else None
            chapters.append(results.Chapter(str(rel.with_suffix("")), results.notebook_title(root / rel), found))
        pages[RESULTS_PAGE + ".md"] = results.page(chapters, RESULTS_PAGE, scale)
    for entry in entries:
        md = entry + ".md"
        if md not in pages and (root / md).exists():
            pages[md] = (root / md).read_text(encoding="utf-8")
    return {md: text.rstrip("\n") + "\n\n" + box + "\n" for md, text in pages.items()}


def _mirror_sources(root: Path, out: Path, notebooks: Sequence[Path], scale: str) -> Path:
    """Copy the book's non-notebook sources next to the executed notebooks in ``out/executed``,
    writing only files that changed, so that Jupyter Book rebuilds only what changed."""
    mirror = out / "executed"
    for name in ("_config.yml", "_toc.yml"):
        _copy_if_changed(root / name, mirror / name)
    generated = _generated_pages(root, out, notebooks, scale)
    nb_set = {str(p) for p in notebooks}
    sources = [p for folder in ("book", "_static") if (root / folder).is_dir() for p in (root / folder).rglob("*")]
    for path in sources:
        rel = path.relative_to(root)
        if not path.is_file() or str(rel) in nb_set or str(rel) in generated or path.suffix == ".ipynb":
            continue
        if any(part.startswith((".", "_build")) for part in rel.parts):
            continue
        _copy_if_changed(path, mirror / rel)
    for rel, text in generated.items():
        _write_if_changed(mirror / rel, text)
    return mirror


def build_site(root: Path, out: Path, notebooks: Sequence[Path], scale: str = "ci") -> Path:
    """Run ``jupyter-book build -W -n --keep-going`` on the executed mirror; the site lands in ``out/html``.

    The Sphinx environment in ``out/site`` is kept between builds, so a build where only some
    pages changed re-reads only those.
    """
    missing = [str(p) for p in notebooks if not (out / "executed" / p).exists()]
    if missing:
        raise BuildError(f"cannot build the site: chapters not executed yet: {', '.join(missing)}")
    mirror = _mirror_sources(root, out, notebooks, scale)
    site_root = out / "site"
    cmd = [
        sys.executable,
        "-c",
        "import sys; from jupyter_book.cli.main import main; sys.exit(main())",
        "build",
        str(mirror),
        "--path-output",
        str(site_root),
        "-W",
        "-n",
        "--keep-going",
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    log = out / "jupyter-book.log"
    log.write_text(proc.stdout + "\n" + proc.stderr, encoding="utf-8")
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-30:])
        raise BuildError(f"jupyter-book build failed (full log: {log}):\n{tail}")
    html = out / "html"
    if html.is_symlink() or html.is_file():
        html.unlink()
    elif html.exists():
        shutil.rmtree(html)
    shutil.copytree(site_root / "_build" / "html", html)
    install_mathjax(html)
    explorer.export_reference(html)  # catapult.warmup's runs, which the site check compares chapter 1's explorer with
    return html


def check_site(root: Path, out: Path, require_browser: bool | None = None) -> None:
    """Run :func:`catapult.book.site_check.check` on ``out/html`` for the book in ``root``; BuildError on problems.

    Without Chromium the browser part is skipped with a notice, unless ``require_browser``
    (default: when the environment variable ``CI`` is set), which makes that a failure.
    """
    if require_browser is None:
        require_browser = os.environ.get("CI", "").lower() not in ("", "0", "false")
    entries = toc_entries(root)
    notebooks = toc_notebooks(root)
    browser = site_check.find_chromium()
    if browser is None and not require_browser:
        print("browser check skipped: no chromium found (install Debian's chromium package); "
              "checking the HTML only", flush=True)
    problems = site_check.check(
        out,
        toc_pages=entries,
        results_page=RESULTS_PAGE if RESULTS_PAGE in entries else None,
        chapters=[p.stem for p in notebooks],
        browser=browser,
        require_browser=require_browser,
    )
    if problems:
        shown = "\n".join(f"  - {p}" for p in problems[:40])
        more = f"\n  ... and {len(problems) - 40} more" if len(problems) > 40 else ""
        raise BuildError(f"the site check found {len(problems)} problems in {out / 'html'}:\n{shown}{more}")
