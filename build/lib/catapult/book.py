"""Build the book: execute every chapter with papermill, verify it, run Jupyter Book, check the site.

    python -m catapult build --scale {smoke,ci,paper} [--only CHAPTER ...] [--out _build] [--force]
    python -m catapult check-site [--out _build]
    python -m catapult colab-cell [NOTEBOOK ...]

1. Each notebook chapter of ``_toc.yml`` is executed, in order, with papermill into
   ``<out>/executed/`` (a mirror of the book's sources; ``book/`` is never written), in a
   kernel that runs this interpreter (:func:`kernel_spec_dir`), unless its cached copy is
   still valid: a chapter is re-executed only when its notebook, the ``catapult`` sources,
   ``requirements.txt`` or the scale changed (content hash in ``<out>/executed/<chapter>.hash.json``,
   written only after a successful run; ``--force`` re-executes everything).
2. A chapter that raised stops the build, naming the chapter and the failing cell; so
   does a chapter whose claims (see :mod:`catapult.claims`) do not all hold, naming them,
   and one that wrote to stderr (warnings or log noise would show on its page).
3. Each chapter's claims are written to ``<out>/claims/<notebook stem>.json``, and a
   provenance box (:mod:`catapult.provenance`) is appended to its executed copy.
4. The other pages get a build-wide provenance box, the results page (:mod:`catapult.results`)
   is generated, and ``jupyter-book build -W -n --keep-going`` builds the site from the
   executed mirror into ``<out>/html`` (incrementally: Sphinx re-reads only changed pages).
5. :mod:`catapult.site_check` opens every page in headless Chromium and fails the build on a
   missing figure, a traceback or stderr block, or a broken link or image.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from . import claims as claims_mod
from . import provenance, results, site_check
from .scales import SCALES

ROOT = Path(__file__).resolve().parent.parent
#: The catapult sources whose content is part of every chapter's cache key.
PACKAGE_DIR = Path(__file__).resolve().parent
#: The toc entry of the generated results page.
RESULTS_PAGE = "book/results"
#: Bump when the executed copies' format changes without a change of the catapult sources.
CACHE_FORMAT = 1


class BuildError(RuntimeError):
    """A chapter failed to execute, or a claim did not hold; the message says which."""


@dataclass
class ChapterResult:
    name: str
    executed: Path
    claims: list[claims_mod.Claim]
    seconds: float
    cached: bool = False


# ------------------------------------------------------------------ the toc


def toc_entries(root: Path) -> list[str]:
    """Every ``file`` of ``_toc.yml`` (root first), in reading order, without suffixes."""
    import yaml

    toc_path = root / "_toc.yml"
    if not toc_path.exists():
        raise BuildError(f"no _toc.yml in {root}: run the build from the book's root folder.")
    toc = yaml.safe_load(toc_path.read_text(encoding="utf-8"))
    files = [toc["root"]] if "root" in toc else []

    def walk(node):
        if isinstance(node, dict):
            if "file" in node:
                files.append(node["file"])
            for key in ("parts", "chapters", "sections"):
                for child in node.get(key, []) or []:
                    walk(child)
        elif isinstance(node, list):
            for child in node:
                walk(child)

    walk({k: v for k, v in toc.items() if k != "root"})
    return [str(Path(f).with_suffix("")) if Path(f).suffix in (".ipynb", ".md") else f for f in files]


def toc_notebooks(root: Path) -> list[Path]:
    """The chapters that are notebooks (paths relative to ``root``), in toc order."""
    return [Path(f + ".ipynb") for f in toc_entries(root) if (root / (f + ".ipynb")).exists()]


# ------------------------------------------------------------- execution


_PAPERMILL_TAGS = {"injected-parameters", "papermill-error-cell-tag"}


def _source_code_cells(nb):
    """(1-based position among the source notebook's code cells, cell), skipping papermill's own cells."""
    position = 0
    for cell in nb.cells:
        if cell.cell_type != "code" or _PAPERMILL_TAGS & set(cell.metadata.get("tags", [])):
            continue
        position += 1
        yield position, cell


def _failing_cell(nb) -> tuple[int, str]:
    """(position among source code cells, first lines) of the cell that raised."""
    for position, cell in _source_code_cells(nb):
        if any(out.get("output_type") == "error" for out in cell.get("outputs", [])):
            src = cell.source.strip().splitlines()
            head = "\n".join(f"    | {line}" for line in src[:6])
            more = f"\n    | ... ({len(src) - 6} more lines)" if len(src) > 6 else ""
            return position, head + more
    return -1, "    | (the failing cell could not be located)"


def _stderr_outputs(nb) -> list[tuple[int, str]]:
    """(position among source code cells, text) of every stderr stream output."""
    return [
        (position, out.get("text", "").strip())
        for position, cell in _source_code_cells(nb)
        for out in cell.get("outputs", [])
        if out.get("output_type") == "stream" and out.get("name") == "stderr"
    ]


def kernel_spec_dir(out: Path) -> Path:
    """A Jupyter data folder whose ``python3`` kernel runs this interpreter (``sys.executable``).

    Put first on ``JUPYTER_PATH`` while chapters execute, it shadows any ``python3`` kernel
    spec of the developer's machine (e.g. in ``~/.local/share/jupyter``) that would run
    another Python, so every chapter runs in the environment that runs the build.
    """
    folder = out / "jupyter"
    spec = folder / "kernels" / "python3" / "kernel.json"
    content = json.dumps(
        {
            "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "display_name": "Python 3 (ipykernel)",
            "language": "python",
        },
        indent=1,
    )
    if not spec.exists() or spec.read_text(encoding="utf-8") != content:
        spec.parent.mkdir(parents=True, exist_ok=True)
        spec.write_text(content, encoding="utf-8")
    return folder


# ------------------------------------------------------------------ the cache


def input_hash(root: Path, rel: Path, scale: str) -> str:
    """SHA-256 over what a chapter's execution depends on: its notebook, every ``catapult/*.py``,
    ``requirements.txt`` (of the book's root) and the scale."""
    h = hashlib.sha256()

    def add(label: str, data: bytes) -> None:
        h.update(label.encode() + b"\0" + hashlib.sha256(data).digest())

    add("format", str(CACHE_FORMAT).encode())
    add("scale", scale.encode())
    add("notebook", (root / rel).read_bytes())
    req = root / "requirements.txt"
    add("requirements.txt", req.read_bytes() if req.exists() else b"(none)")
    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        add("catapult/" + path.relative_to(PACKAGE_DIR).as_posix(), path.read_bytes())
    return h.hexdigest()


def cache_record_path(out: Path, rel: Path) -> Path:
    return out / "executed" / rel.with_suffix(".hash.json")


def cached_chapter(root: Path, rel: Path, out: Path, scale: str) -> ChapterResult | None:
    """The chapter's previous result if its executed copy is still valid for these inputs, else None."""
    record_path = cache_record_path(out, rel)
    executed = out / "executed" / rel
    claims_path = out / "claims" / f"{rel.stem}.json"
    if not (record_path.exists() and executed.exists() and claims_path.exists()):
        return None
    try:
        record = json.loads(record_path.read_text(encoding="utf-8"))
        found = claims_mod.load(claims_path)
    except (ValueError, OSError):
        return None
    if record.get("hash") != input_hash(root, rel, scale) or not found or claims_mod.failures(found):
        return None
    return ChapterResult(rel.stem, executed, found, float(record.get("seconds", 0.0)), cached=True)


def execute_chapter(root: Path, rel: Path, out: Path, scale: str, timeout: int | None = None) -> ChapterResult:
    """Execute one chapter with papermill into ``out/executed/rel``, check it, and record it in the cache."""
    import nbformat
    import papermill as pm

    src = root / rel
    dst = out / "executed" / rel
    dst.parent.mkdir(parents=True, exist_ok=True)
    name = rel.stem
    record_path = cache_record_path(out, rel)
    record_path.unlink(missing_ok=True)  # a chapter that fails below is never cached
    key = input_hash(root, rel, scale)  # hashed before the run: an edit during it is not cached as done
    env_backup = dict(os.environ)
    os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")  # ipykernel 6's debugpy notice on Python >= 3.11
    os.environ.pop("MPLBACKEND", None)  # a non-inline backend (e.g. Agg) would leave the pages without figures
    jupyter_path = [str(kernel_spec_dir(out))] + [p for p in os.environ.get("JUPYTER_PATH", "").split(os.pathsep) if p]
    os.environ["JUPYTER_PATH"] = os.pathsep.join(jupyter_path)
    start = time.perf_counter()
    try:
        pm.execute_notebook(
            str(src),
            str(dst),
            parameters={"scale": scale},
            cwd=str(src.parent),
            kernel_name="python3",
            progress_bar=False,
            log_output=False,
            execution_timeout=timeout,
            report_mode=False,
        )
    except pm.PapermillExecutionError as err:
        position, source = _failing_cell(nbformat.read(str(dst), as_version=4))
        raise BuildError(
            f"chapter {name} failed in code cell {position} (execution count {err.exec_count}): "
            f"{err.ename}: {err.evalue}\n{source}\n"
            f"The partially executed notebook is {dst}."
        ) from None
    except Exception as err:  # kernel death, timeout, missing parameters cell, ...
        raise BuildError(f"chapter {name} could not be executed: {type(err).__name__}: {err}") from None
    finally:
        os.environ.clear()
        os.environ.update(env_backup)
    seconds = time.perf_counter() - start

    nb = nbformat.read(str(dst), as_version=4)
    if nb.metadata.get("papermill", {}).get("exception"):
        raise BuildError(f"chapter {name}: papermill recorded an exception; see {dst}.")
    noisy = _stderr_outputs(nb)
    if noisy:
        position, text = noisy[0]
        raise BuildError(
            f"chapter {name} wrote to stderr in code cell {position}, which would show on its page:\n"
            f"    | {text[:600]}\nFix the warning, or silence it where it arises (e.g. redirect file "
            f"descriptor 2 around a noisy import); see {dst}."
        )
    found = claims_mod.from_notebook(nb)
    if not found:
        raise BuildError(
            f"chapter {name} reported no claims: every chapter must end with catapult.claims.report(...)."
        )
    claims_mod.save(found, out / "claims" / f"{name}.json")
    bad = claims_mod.failures(found)
    if bad:
        lines = "\n".join(
            f"  - {c.id}: {c.statement} ({c.source}); predicted {c.predicted}, measured {c.measured}, "
            f"tolerance {c.tolerance}"
            for c in bad
        )
        raise BuildError(f"chapter {name}: {len(bad)} of {len(found)} claims do not hold at scale {scale!r}:\n{lines}")
    prov = provenance.record(root, scale, seconds)
    provenance.append_to_notebook(nb, prov)
    nbformat.write(nb, str(dst))
    record = {"hash": key, "scale": scale, "seconds": round(seconds, 1), "provenance": prov}
    record_path.write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
    return ChapterResult(name, dst, found, seconds)


# ------------------------------------------------------------------ the site


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


def chapter_provenance(out: Path, rel: Path) -> dict | None:
    """The provenance recorded when the chapter's executed copy was made (None if unknown)."""
    path = cache_record_path(out, rel)
    try:
        return json.loads(path.read_text(encoding="utf-8")).get("provenance")
    except (OSError, ValueError):
        return None


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
        if path.is_dir() or str(rel) in nb_set or str(rel) in generated or path.suffix == ".ipynb":
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
    return html


def check_site(root: Path, out: Path, require_browser: bool | None = None) -> None:
    """Run :func:`catapult.site_check.check` on ``out/html`` for the book in ``root``; BuildError on problems.

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


# ------------------------------------------------------------------ the CLI


def build(
    scale: str,
    only: Sequence[str] | None = None,
    out: Path | str = "_build",
    root: Path | str = ROOT,
    site: bool = True,
    timeout: int | None = None,
    force: bool = False,
    check: bool = True,
) -> list[ChapterResult]:
    """Execute (or reuse from the cache) and verify the chapters, build the site, check it.

    Raises BuildError on any failure. ``force`` re-executes every chosen chapter; ``check``
    runs the site check (:func:`check_site`) after building the site.
    """
    root = Path(root).resolve()
    out = Path(out)
    out = (out if out.is_absolute() else Path.cwd() / out).resolve()
    if scale not in SCALES:
        raise BuildError(f"unknown scale {scale!r}; valid scales are: {', '.join(SCALES)}")
    notebooks = toc_notebooks(root)
    names = [p.stem for p in notebooks]
    if only:
        only = [Path(c).stem if c.endswith(".ipynb") else c for c in only]
        unknown = [c for c in only if c not in names]
        if unknown:
            raise BuildError(f"unknown chapter {', '.join(map(repr, unknown))}; valid chapters are: {', '.join(names)}")
        chosen = [p for p in notebooks if p.stem in only]
    else:
        chosen = notebooks
    out.mkdir(parents=True, exist_ok=True)
    results_ = []
    total = time.perf_counter()
    for i, rel in enumerate(chosen, 1):
        res = None if force else cached_chapter(root, rel, out, scale)
        if res is not None:
            print(f"[{i}/{len(chosen)}] {rel.stem}: cached (inputs unchanged; ran in {res.seconds:.1f} s); "
                  f"{len(res.claims)}/{len(res.claims)} claims hold", flush=True)
        else:
            print(f"[{i}/{len(chosen)}] {rel.stem}: executing at scale {scale!r} ...", flush=True)
            res = execute_chapter(root, rel, out, scale, timeout)
            held = sum(c.holds for c in res.claims)
            print(f"[{i}/{len(chosen)}] {rel.stem}: done in {res.seconds:.1f} s; {held}/{len(res.claims)} claims hold",
                  flush=True)
        results_.append(res)
    missing = [p.stem for p in notebooks if not (out / "executed" / p).exists()]
    if site and only and missing:
        print(f"site not built: not executed yet: {', '.join(missing)} (build without --only first)", flush=True)
    elif site:
        print("building the site with jupyter-book ...", flush=True)
        t0 = time.perf_counter()
        html = build_site(root, out, notebooks, scale)
        print(f"site built in {time.perf_counter() - t0:.1f} s: {html / 'index.html'}", flush=True)
        if check:
            t0 = time.perf_counter()
            check_site(root, out)
            print(f"site checked in {time.perf_counter() - t0:.1f} s: every page, screenshots in {out / 'screenshots'}",
                  flush=True)
    print(f"total {time.perf_counter() - total:.1f} s", flush=True)
    return results_


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m catapult", description="Build the catapult book.")
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="execute every chapter with papermill, check its claims, build the site")
    b.add_argument("--scale", default="ci", help=f"one of: {', '.join(SCALES)} (default: ci)")
    b.add_argument("--only", nargs="+", metavar="CHAPTER", help="execute only these chapters (notebook stems)")
    b.add_argument("--out", default="_build", help="output folder (default: _build)")
    b.add_argument("--no-site", action="store_true", help="execute and verify only; skip jupyter-book")
    b.add_argument("--timeout", type=int, default=None, help="per-cell time limit in seconds (default: none)")
    b.add_argument("--force", action="store_true", help="re-execute every chapter, even those whose cached copy is valid")
    b.add_argument("--no-check", action="store_true", help="skip the site check (headless Chromium) after building")
    c = sub.add_parser("check-site", help="check the built site in headless Chromium (the build's last step)")
    c.add_argument("--out", default="_build", help="the build's output folder (default: _build)")
    n = sub.add_parser("colab-cell", help="insert or update the Colab install cell as every notebook's first cell")
    n.add_argument("notebooks", nargs="*", metavar="NOTEBOOK", help="notebooks to update (default: every toc chapter)")
    args = parser.parse_args(argv)
    try:
        if args.command == "build":
            build(args.scale, args.only, args.out, site=not args.no_site, timeout=args.timeout, force=args.force,
                  check=not args.no_check)
        elif args.command == "check-site":
            out = Path(args.out).resolve()
            mirror = out / "executed"  # the sources the site was built from
            check_site(mirror if (mirror / "_toc.yml").exists() else ROOT, out)
            print(f"site check passed: {Path(args.out) / 'html'}", flush=True)
        else:
            from . import colab

            return colab.main(args.notebooks, ROOT)
    except (BuildError, ValueError) as err:
        print(f"{args.command} failed: {err}", file=sys.stderr, flush=True)
        return 1
    return 0
