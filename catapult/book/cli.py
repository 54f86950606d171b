"""The command line: ``python -m catapult build | check-site | colab-cell``, and :func:`build`, the whole build.

    python -m catapult build --scale {smoke,ci,paper} [--only CHAPTER ...] [--out _build] [--force] [--jobs J]
                             [--seed K] [--verbose] [--keep-going] [--root DIR]
    python -m catapult check-site [--out _build]
    python -m catapult colab-cell [NOTEBOOK ...]
    python -m catapult data [NAME ...]

:func:`build` executes (or reuses from the cache) every chapter of the toc
(:mod:`catapult.book.execute`), ``jobs`` chapters at a time in separate processes, then builds the
site and checks it (:mod:`catapult.book.site`).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
import time
from concurrent.futures import FIRST_EXCEPTION, ProcessPoolExecutor, wait
from pathlib import Path
from typing import Sequence

from ..data import DataError
from ..scales import CHAPTERS as CHAPTER_STEMS
from ..scales import SCALES, cost
from .errors import BuildError
from .execute import ChapterResult, cached_chapter, execute_chapter, kernel_spec_dir, previous_seconds
from .site import build_site, check_site
from .toc import ROOT, book_root, toc_notebooks

__all__ = ["build", "data_command", "default_jobs", "longest_first", "main"]


def default_jobs(scale: str) -> int:
    """Chapters executed at once by ``python -m catapult build``: 2 on a machine with 2 or more
    cores at the CPU scales (``smoke``, ``ci``), where a chapter's compilations and Python loops
    leave a core idle much of the time; 1 at ``paper``, whose chapters each want the whole GPU."""
    return 1 if scale == "paper" else max(1, min(2, os.cpu_count() or 1))


def _chapter(root: Path, rel: Path, out: Path, scale: str, timeout: int | None, force: bool, seed: int,
             i: int, n: int, keep_going: bool = False, verbose: bool = False) -> ChapterResult:
    """Reuse chapter ``rel`` from the cache or execute it, printing one line before and one after.

    With ``keep_going`` a chapter that fails (it raised, or its claims do not all hold) is returned
    with its ``error`` instead of raising."""
    res = None if force else cached_chapter(root, rel, out, scale, seed, keep_going=keep_going)
    if res is not None:
        claimed = [c for c in res.claims if c.claimed]
        held = sum(c.holds for c in claimed)
        print(f"[{i}/{n}] {rel.stem}: cached (inputs unchanged; ran in {res.seconds:.1f} s); "
              f"{held}/{len(claimed)} claims hold", flush=True)
        return res
    at = f"scale {scale!r}" + (f", seeds shifted by {seed:+d}" if seed else "")
    print(f"[{i}/{n}] {rel.stem}: executing at {at} ...", flush=True)
    try:
        res = execute_chapter(root, rel, out, scale, timeout, seed, keep_going=keep_going, verbose=verbose)
    except BuildError as err:
        if not keep_going:
            raise
        print(f"[{i}/{n}] {rel.stem}: FAILED (going on: --keep-going)", flush=True)
        return ChapterResult(rel.stem, out / "executed" / rel, [], 0.0, error=str(err))
    claimed = [c for c in res.claims if c.claimed]
    held = sum(c.holds for c in claimed)
    logs = (f"; {res.log_lines} XLA/CUDA log lines kept out of the page (in {out / 'logs'})"
            if res.log_lines else "")
    print(f"[{i}/{n}] {rel.stem}: done in {res.seconds:.1f} s; {held}/{len(claimed)} claims hold{logs}",
          flush=True)
    return res


def longest_first(chosen: Sequence[Path], out: Path, scale: str) -> list[int]:
    """The indices of ``chosen`` in the order a parallel build starts them: longest first (so the
    last chapter to start is a short one), by the time each took when last executed into ``out``
    at ``scale``, or, unless every chapter has one, by its settings' relative cost."""
    seconds = [previous_seconds(out, rel, scale) for rel in chosen]
    if any(s is None for s in seconds):
        seconds = [cost(rel.stem) if rel.stem in CHAPTER_STEMS else 0 for rel in chosen]
    return sorted(range(len(chosen)), key=lambda i: -seconds[i])


def _in_parallel(tasks: list[tuple], jobs: int, order: Sequence[int] | None = None) -> list[ChapterResult]:
    """:func:`_chapter` over ``tasks``, ``jobs`` at a time in fresh (spawned) processes, started in
    ``order`` (indices into ``tasks``; default: as given); results in task order. The first failure
    cancels the chapters not yet started, waits for the running ones, and is raised. The kernels
    do not preallocate GPU memory, so two chapters can share a GPU."""
    saved = os.environ.get("XLA_PYTHON_CLIENT_PREALLOCATE")
    os.environ["XLA_PYTHON_CLIENT_PREALLOCATE"] = "false"
    try:
        with ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
            started = {i: pool.submit(_chapter, *tasks[i]) for i in (range(len(tasks)) if order is None else order)}
            futures = [started[i] for i in range(len(tasks))]
            done, _ = wait(futures, return_when=FIRST_EXCEPTION)
            failed = [f for f in futures if f in done and f.exception() is not None]
            if failed:
                for f in futures:
                    f.cancel()
                running = sum(f.running() for f in futures)
                if running:
                    print(f"a chapter failed; waiting for the {running} still running to finish ...", flush=True)
                raise failed[0].exception()
            return [f.result() for f in futures]
    finally:
        if saved is None:
            os.environ.pop("XLA_PYTHON_CLIENT_PREALLOCATE", None)
        else:
            os.environ["XLA_PYTHON_CLIENT_PREALLOCATE"] = saved


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
    jobs: int = 1,
    keep_going: bool = False,
    verbose: bool = False,
) -> list[ChapterResult]:
    """Execute (or reuse from the cache) and verify the chapters, build the site, check it.

    Raises BuildError on any failure; with ``keep_going``, only at the end, after every chapter
    ran and the site was built (if every chapter ran to its end), naming every failure: a claim
    that does not hold then costs no other chapter's results. ``verbose`` prints a line as each
    code cell of a chapter ends. ``force`` re-executes every chosen chapter; ``check``
    runs the site check (:func:`check_site`) after building the site. ``seed`` shifts every seed
    of every chapter's settings (model, data subset, minibatch order) by that much: an
    independent repeat of the book, recorded in the provenance boxes and the claims files.
    ``jobs`` > 1 executes that many chapters at once, each in its own process (:func:`default_jobs`);
    a chapter's results do not depend on it (each kernel is its own process either way), only the
    times its provenance box records, which then include the sharing of the machine.
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
    if not isinstance(jobs, int) or jobs < 1:
        raise BuildError(f"jobs must be a positive integer (chapters executed at once), got {jobs!r}")
    total = time.perf_counter()
    kernel_spec_dir(out)  # written once here, never concurrently by the chapters' processes
    tasks = [(root, rel, out, scale, timeout, force, seed, i, len(chosen), keep_going, verbose)
             for i, rel in enumerate(chosen, 1)]
    jobs = min(jobs, len(tasks)) if tasks else 1
    results_ = ([_chapter(*task) for task in tasks] if jobs == 1
                else _in_parallel(tasks, jobs, longest_first(chosen, out, scale)))
    failed = [r for r in results_ if r.error]
    broken = [r.name for r in failed if not r.claims]  # raised: no complete executed copy to show
    missing = [p.stem for p in notebooks if not (out / "executed" / p).exists()]
    if site and broken:
        print(f"site not built: chapters did not run to their end: {', '.join(broken)}", flush=True)
    elif site and only and missing:
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
    if failed:
        raise BuildError(f"{len(failed)} of {len(results_)} chapters failed (--keep-going went on past them):\n"
                         + "\n".join(r.error for r in failed))
    return results_


def data_command(names: Sequence[str]) -> int:
    """``python -m catapult data [NAME ...]``: make each data set available (downloading and
    verifying it into the cache where no copy exists, with a progress bar) and print where it is and
    what it is; what a machine without network needs is then in that folder."""
    from .. import data
    from .provenance import data_text

    for name in names or data.NAMES:
        path = data.prepared_path(name)
        data.load(name, 1, 1)  # read and check it; records it for sources()
        src = next(s for s in data.sources() if s["name"] == name)
        print(f"{name}: {path}\n  {data_text([src])}\n  SHA-256 of the file: {src['sha256']}", flush=True)
    print(f"\nOn a machine without network: copy these files into a folder there and set CATAPULT_DATA_DIR to it "
          f"(the cache folder here is {data.cache_dir()}).", flush=True)
    return 0


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
    b.add_argument("--jobs", type=int, default=None, metavar="J",
                   help="chapters executed at once, each in its own process (default: 2 at smoke and ci on a "
                        "machine with 2 or more cores, 1 at paper)")
    b.add_argument("--verbose", action="store_true", help="print a line as each code cell of a chapter ends")
    b.add_argument("--keep-going", action="store_true",
                   help="go on past a chapter that fails or whose claims do not hold (keeping its results), "
                        "build the site, and fail at the end naming every failure")
    b.add_argument("--root", default=None, metavar="DIR",
                   help="the book's folder, with _toc.yml (default: the current folder if it has one, "
                        "else this checkout)")
    c = sub.add_parser("check-site", help="check the built site in headless Chromium (the build's last step)")
    c.add_argument("--out", default="_build", help="the build's output folder (default: _build)")
    n = sub.add_parser("colab-cell", help="insert or update the Colab install cell as every notebook's first cell")
    n.add_argument("notebooks", nargs="*", metavar="NOTEBOOK", help="notebooks to update (default: every toc chapter)")
    d = sub.add_parser("data", help="download and verify the data sets into the cache (or find them), and say "
                                    "where they are and what they are")
    d.add_argument("names", nargs="*", metavar="NAME", help="mnist, cifar10 (default: both)")
    args = parser.parse_args(argv)
    try:
        if args.command == "build":
            build(args.scale, args.only, args.out, root=book_root(args.root), site=not args.no_site,
                  timeout=args.timeout, force=args.force, check=not args.no_check, seed=args.seed,
                  jobs=default_jobs(args.scale) if args.jobs is None else args.jobs,
                  keep_going=args.keep_going, verbose=args.verbose)
        elif args.command == "check-site":
            out = Path(args.out).resolve()
            mirror = out / "executed"  # the sources the site was built from
            check_site(mirror if (mirror / "_toc.yml").exists() else book_root(), out)
            print(f"site check passed: {Path(args.out) / 'html'}", flush=True)
        elif args.command == "data":
            return data_command(args.names)
        else:
            from . import colab_cell

            return colab_cell.main(args.notebooks, book_root())
    except (BuildError, ValueError, DataError) as err:
        print(f"{args.command} failed: {err}", file=sys.stderr, flush=True)
        return 1
    return 0
