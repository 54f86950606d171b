"""The command line: ``python -m catapult build | check-site | colab-cell``, and :func:`build`, the whole build.

    python -m catapult build --scale {smoke,ci,paper} [--only CHAPTER ...] [--out _build] [--force]
    python -m catapult check-site [--out _build]
    python -m catapult colab-cell [NOTEBOOK ...]

:func:`build` executes (or reuses from the cache) every chapter of the toc in order
(:mod:`catapult.book.execute`), then builds the site and checks it (:mod:`catapult.book.site`).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Sequence

from ..scales import SCALES
from .errors import BuildError
from .execute import ChapterResult, cached_chapter, execute_chapter
from .site import build_site, check_site
from .toc import ROOT, toc_notebooks

__all__ = ["build", "main"]


def build(
    scale: str,
    only: Sequence[str] | None = None,
    out: Path | str = "_build",
    root: Path | str = ROOT,
    site: bool = True,
    timeout: int | None = None,
    force: bool = False,
    check: bool = True,
    seed: int = 0,
) -> list[ChapterResult]:
    """Execute (or reuse from the cache) and verify the chapters, build the site, check it.

    Raises BuildError on any failure. ``force`` re-executes every chosen chapter; ``check``
    runs the site check (:func:`check_site`) after building the site. ``seed`` shifts every seed
    of every chapter's settings (model, data subset, minibatch order) by that much: an
    independent repeat of the book, recorded in the provenance boxes and the claims files.
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
        res = None if force else cached_chapter(root, rel, out, scale, seed)
        if res is not None:
            print(f"[{i}/{len(chosen)}] {rel.stem}: cached (inputs unchanged; ran in {res.seconds:.1f} s); "
                  f"{len(res.claims)}/{len(res.claims)} claims hold", flush=True)
        else:
            at = f"scale {scale!r}" + (f", seeds shifted by {seed:+d}" if seed else "")
            print(f"[{i}/{len(chosen)}] {rel.stem}: executing at {at} ...", flush=True)
            res = execute_chapter(root, rel, out, scale, timeout, seed)
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
    """``python -m catapult ...``: run one command; returns the exit status (1 with a message on stderr on failure)."""
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
    b.add_argument("--seed", type=int, default=0, metavar="K",
                   help="shift every seed of every chapter's settings by K: an independent repeat (default: 0)")
    c = sub.add_parser("check-site", help="check the built site in headless Chromium (the build's last step)")
    c.add_argument("--out", default="_build", help="the build's output folder (default: _build)")
    n = sub.add_parser("colab-cell", help="insert or update the Colab install cell as every notebook's first cell")
    n.add_argument("notebooks", nargs="*", metavar="NOTEBOOK", help="notebooks to update (default: every toc chapter)")
    args = parser.parse_args(argv)
    try:
        if args.command == "build":
            build(args.scale, args.only, args.out, site=not args.no_site, timeout=args.timeout, force=args.force,
                  check=not args.no_check, seed=args.seed)
        elif args.command == "check-site":
            out = Path(args.out).resolve()
            mirror = out / "executed"  # the sources the site was built from
            check_site(mirror if (mirror / "_toc.yml").exists() else ROOT, out)
            print(f"site check passed: {Path(args.out) / 'html'}", flush=True)
        else:
            from . import colab_cell

            return colab_cell.main(args.notebooks, ROOT)
    except (BuildError, ValueError) as err:
        print(f"{args.command} failed: {err}", file=sys.stderr, flush=True)
        return 1
    return 0
