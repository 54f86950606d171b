"""Build the book: execute every chapter with papermill, verify it, then run Jupyter Book.

    python -m catapult build --scale {smoke,ci,paper} [--only CHAPTER ...] [--out _build]

1. Each notebook chapter of ``_toc.yml`` is executed, in order, with papermill into
   ``<out>/executed/`` (a mirror of the book's sources; ``book/`` is never written).
2. A chapter that raised stops the build, naming the chapter and the failing cell; so
   does a chapter whose claims (see :mod:`catapult.claims`) do not all hold, naming them,
   and one that wrote to stderr (warnings or TensorFlow's log noise would show on its page).
3. Each chapter's claims are written to ``<out>/claims/<notebook stem>.json``.
4. ``jupyter-book build -W -n --keep-going`` builds the site from the executed copies
   into ``<out>/html``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from . import claims as claims_mod
from .scales import SCALES

ROOT = Path(__file__).resolve().parent.parent


class BuildError(RuntimeError):
    """A chapter failed to execute, or a claim did not hold; the message says which."""


@dataclass
class ChapterResult:
    name: str
    executed: Path
    claims: list[claims_mod.Claim]
    seconds: float


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


def execute_chapter(root: Path, rel: Path, out: Path, scale: str, timeout: int | None = None) -> ChapterResult:
    """Execute one chapter with papermill into ``out/executed/rel`` and check its claims."""
    import nbformat
    import papermill as pm

    src = root / rel
    dst = out / "executed" / rel
    dst.parent.mkdir(parents=True, exist_ok=True)
    name = rel.stem
    env_backup = dict(os.environ)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # TensorFlow's C++ log noise, when a chapter imports it
    os.environ.pop("MPLBACKEND", None)  # a non-inline backend (e.g. Agg) would leave the pages without figures
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
    return ChapterResult(name, dst, found, seconds)


# ------------------------------------------------------------------ the site


def _mirror_sources(root: Path, out: Path, notebooks: Sequence[Path]) -> Path:
    """Copy the book's non-notebook sources next to the executed notebooks in ``out/executed``."""
    mirror = out / "executed"
    for name in ("_config.yml", "_toc.yml"):
        shutil.copy2(root / name, mirror / name)
    nb_set = {str(p) for p in notebooks}
    for path in (root / "book").rglob("*"):
        rel = path.relative_to(root)
        if path.is_dir() or str(rel) in nb_set or any(part.startswith((".", "_build")) for part in rel.parts):
            continue
        if path.suffix == ".ipynb":
            continue
        target = mirror / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)
    return mirror


def build_site(root: Path, out: Path, notebooks: Sequence[Path]) -> Path:
    """Run ``jupyter-book build -W -n --keep-going`` on the executed mirror; the site lands in ``out/html``."""
    missing = [str(p) for p in notebooks if not (out / "executed" / p).exists()]
    if missing:
        raise BuildError(f"cannot build the site: chapters not executed yet: {', '.join(missing)}")
    mirror = _mirror_sources(root, out, notebooks)
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


# ------------------------------------------------------------------ the CLI


def build(
    scale: str,
    only: Sequence[str] | None = None,
    out: Path | str = "_build",
    root: Path | str = ROOT,
    site: bool = True,
    timeout: int | None = None,
) -> list[ChapterResult]:
    """Execute and verify the chapters, then build the site. Raises BuildError on any failure."""
    root = Path(root).resolve()
    out = Path(out)
    out = (out if out.is_absolute() else Path.cwd() / out).resolve()
    if scale not in SCALES:
        raise BuildError(f"unknown scale {scale!r}; valid scales are: {', '.join(SCALES)}")
    notebooks = toc_notebooks(root)
    names = [p.stem for p in notebooks]
    if only:
        unknown = [c for c in only if c not in names]
        if unknown:
            raise BuildError(f"unknown chapter {', '.join(map(repr, unknown))}; valid chapters are: {', '.join(names)}")
        chosen = [p for p in notebooks if p.stem in only]
    else:
        chosen = notebooks
    out.mkdir(parents=True, exist_ok=True)
    results = []
    total = time.perf_counter()
    for i, rel in enumerate(chosen, 1):
        print(f"[{i}/{len(chosen)}] {rel.stem}: executing at scale {scale!r} ...", flush=True)
        res = execute_chapter(root, rel, out, scale, timeout)
        held = sum(c.holds for c in res.claims)
        print(f"[{i}/{len(chosen)}] {rel.stem}: done in {res.seconds:.1f} s; {held}/{len(res.claims)} claims hold", flush=True)
        results.append(res)
    missing = [p.stem for p in notebooks if not (out / "executed" / p).exists()]
    if site and only and missing:
        print(f"site not built: not executed yet: {', '.join(missing)} (build without --only first)", flush=True)
    elif site:
        print("building the site with jupyter-book ...", flush=True)
        t0 = time.perf_counter()
        html = build_site(root, out, notebooks)
        print(f"site built in {time.perf_counter() - t0:.1f} s: {html / 'index.html'}", flush=True)
    print(f"total {time.perf_counter() - total:.1f} s", flush=True)
    return results


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m catapult", description="Build the catapult book.")
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="execute every chapter with papermill, check its claims, build the site")
    b.add_argument("--scale", default="ci", help=f"one of: {', '.join(SCALES)} (default: ci)")
    b.add_argument("--only", nargs="+", metavar="CHAPTER", help="execute only these chapters (notebook stems)")
    b.add_argument("--out", default="_build", help="output folder (default: _build)")
    b.add_argument("--no-site", action="store_true", help="execute and verify only; skip jupyter-book")
    b.add_argument("--timeout", type=int, default=None, help="per-cell time limit in seconds (default: none)")
    args = parser.parse_args(argv)
    try:
        build(args.scale, args.only, args.out, site=not args.no_site, timeout=args.timeout)
    except BuildError as err:
        print(f"build failed: {err}", file=sys.stderr, flush=True)
        return 1
    return 0
