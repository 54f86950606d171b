"""Provenance: where, when, from which commit and with which stack a page's numbers were produced.

The build (:mod:`catapult.book.execute`, :mod:`catapult.book.site`) appends :func:`box_html` as a last markdown cell to every
executed chapter, and a build-wide box to the other pages, so every page of the site ends
with a small ``<div class="catapult-provenance">`` (styled by ``_static/catapult.css``):
git commit (short sha, ``+dirty`` when the working tree had changes) and the book's version
(``pyproject.toml``), scale, device, the jax / jaxlib / neural-tangents versions, the data sets
the chapter read (:func:`catapult.data.sources`: the canonical archives, or a prepared file and its
SHA-256), the chapter's run time and the date.
"""

from __future__ import annotations

import datetime as _dt
import functools
import html
import json
import os
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any, Iterable

__all__ = [
    "CELL_TAG", "PACKAGES", "append_to_notebook", "book_version", "box_html", "build_record", "data_text",
    "device", "git_commit", "now", "record", "versions",
]

#: Versions reported in every box (distribution names).
PACKAGES = ("jax", "jaxlib", "neural-tangents")

#: Tag of the markdown cell the build appends to an executed chapter.
CELL_TAG = "catapult-provenance"


def git_commit(root: Path) -> str:
    """Short sha of HEAD in ``root``, with ``+dirty`` when tracked or untracked files changed; 'unknown' outside git."""
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain"], cwd=root, capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return sha + ("+dirty" if dirty else "")


def versions() -> dict[str, str]:
    out = {}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace").splitlines():
            if line.lower().startswith(("model name", "hardware", "cpu model")):
                return " ".join(line.split(":", 1)[1].split())
    except OSError:
        pass
    import platform

    return platform.processor() or platform.machine() or "unknown CPU"


_PROBE = (
    "import json, jax; d = jax.devices(); "
    "print(json.dumps({'platform': d[0].platform, 'kinds': [x.device_kind for x in d]}))"
)


@functools.lru_cache(maxsize=1)
def device() -> str:
    """What ``jax.devices()`` runs on, in words: 'CPU: <model> (N cores)' or 'GPU: N × <name>'.

    Asked in a short-lived subprocess, so the build itself never holds accelerator memory.
    """
    env = dict(os.environ, XLA_PYTHON_CLIENT_PREALLOCATE="false")
    try:
        proc = subprocess.run(
            [sys.executable, "-c", _PROBE], capture_output=True, text=True, env=env, timeout=120, check=True
        )
        info = json.loads(proc.stdout.strip().splitlines()[-1])
    except (OSError, subprocess.SubprocessError, ValueError, IndexError):
        info = {"platform": "cpu", "kinds": []}
    if info["platform"] == "cpu":
        return f"CPU: {_cpu_model()} ({os.cpu_count()} cores)"
    kinds = info["kinds"]
    names = sorted(set(kinds))
    label = "GPU" if info["platform"] in ("gpu", "cuda", "rocm") else info["platform"].upper()
    return f"{label}: " + ", ".join(f"{kinds.count(n)} × {n}" for n in names)


def now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def book_version() -> str:
    """The release of the book (``pyproject.toml``'s version, as :mod:`catapult` carries it)."""
    from .. import __version__

    return __version__


def record(root: Path, scale: str, seconds: float, seed: int = 0, data: list[dict] | None = None) -> dict[str, Any]:
    """The provenance of a chapter that just ran for ``seconds`` at ``scale`` with its seeds shifted by
    ``seed``, having read the data sets ``data`` (:func:`catapult.data.sources`)."""
    return {
        "commit": git_commit(root),
        "book_version": book_version(),
        "scale": scale,
        "seed": int(seed),
        "device": device(),
        "versions": versions(),
        "data": list(data or []),
        "seconds": round(float(seconds), 1),
        "date": now(),
    }


_DATA_NAMES = {"mnist": "MNIST", "cifar10": "CIFAR-10"}


def data_text(sources: Iterable[dict[str, Any]]) -> str:
    """The data sets of a provenance record in words, e.g. "MNIST: canonical archives (SHA-256
    verified; 60,000 train / 10,000 test images)" or "CIFAR-10: prepared file cifar10.npz (SHA-256
    1e54414a8d78…; 10,000 train / 2,000 test images; “<the file's note>”)"; "none" when no data
    set was read."""
    parts = []
    for src in sources:
        images = src.get("images") or {}
        count = f"{images.get('train', 0):,} train / {images.get('test', 0):,} test images"
        if src.get("origin") == "canonical archives":
            what = f"canonical archives (SHA-256 verified; {count})"
        else:  # the file's own note says what it is (e.g. a subset, or decoded from JPEGs)
            note = f"; “{src['note']}”" if src.get("note") else ""
            what = f"prepared file {src.get('file', '?')} (SHA-256 {str(src.get('sha256', ''))[:12]}…; {count}{note})"
        parts.append(f"{_DATA_NAMES.get(src.get('name'), src.get('name'))}: {what}")
    return "; ".join(parts) or "none"


def _duration(seconds: float) -> str:
    seconds = float(seconds)
    if seconds < 120:
        return f"{seconds:.1f} s"
    return f"{int(seconds // 60)} min {seconds % 60:.0f} s"


def box_html(rec: dict[str, Any], *, what: str = "This chapter ran") -> str:
    """The provenance box: one ``<div class="catapult-provenance">`` without blank lines (a MyST HTML block)."""
    v = rec.get("versions", {})
    stack = ", ".join(f"{html.escape(k)} {html.escape(str(v[k]))}" for k in PACKAGES if k in v)
    items = [
        ("commit", f"<code>{html.escape(str(rec.get('commit', 'unknown')))}</code>"
                   + (f" (catapult-book {html.escape(str(rec['book_version']))})" if rec.get("book_version") else "")),
        ("scale", f"<code>{html.escape(str(rec.get('scale', '?')))}</code>"),
    ]
    if rec.get("seed"):  # a repeat with every seed shifted (python -m catapult build --seed K)
        items.append(("seeds shifted by", f"<code>{int(rec['seed']):+d}</code>"))
    items += [
        ("device", html.escape(str(rec.get("device", "unknown")))),
        ("stack", stack),
    ]
    if "data" in rec:
        items.append(("data", html.escape(data_text(rec["data"]))))
    if rec.get("seconds") is not None:
        items.append((rec.get("seconds_label", "run time"), _duration(rec["seconds"])))
    items.append(("date", html.escape(str(rec.get("date", "")))))
    body = "".join(f'<span class="catapult-provenance-item"><b>{k}</b> {val}</span>' for k, val in items)
    return f'<div class="catapult-provenance"><b>{html.escape(what)}</b>: {body}</div>'


def build_record(root: Path, scale: str, chapters: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """A box for the pages that are not chapters: this build's commit and date, the chapters' devices and total time."""
    chapters = [c for c in chapters if c]
    devices = sorted({c.get("device", "unknown") for c in chapters}) or ["no chapter executed"]
    seeds = {int(c.get("seed", 0)) for c in chapters}
    data: dict[tuple, dict] = {}  # every distinct data set the chapters read
    for c in chapters:
        for src in c.get("data", []):
            data.setdefault((src.get("name"), src.get("sha256")), src)
    return {
        "commit": git_commit(root),
        "book_version": book_version(),
        "scale": scale,
        "seed": seeds.pop() if len(seeds) == 1 else 0,
        "device": "; ".join(devices),
        "versions": versions(),
        "data": [data[k] for k in sorted(data, key=str)],
        "seconds": round(sum(float(c.get("seconds", 0.0)) for c in chapters), 1) if chapters else None,
        "seconds_label": "chapters' run time",
        "date": now(),
    }


def append_to_notebook(nb, rec: dict[str, Any]) -> None:
    """Append (or replace) the provenance markdown cell at the end of an executed notebook."""
    import nbformat

    nb.cells = [c for c in nb.cells if CELL_TAG not in c.get("metadata", {}).get("tags", [])]
    cell = nbformat.v4.new_markdown_cell(box_html(rec))
    cell.metadata["tags"] = [CELL_TAG]
    nb.cells.append(cell)
