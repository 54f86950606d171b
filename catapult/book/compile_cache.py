"""jax's persistent compilation cache for the build and the tests, kept safe.

A warm cache spares a rebuild every backend compilation (XLA:CPU spends tens of seconds per
chapter compiling), but jax's cache, used as it comes, has three hazards, each handled here:

- **Another machine's entries.** jax's cache key holds the program, the jax and jaxlib
  versions and the device kind, not the CPU's instruction set: an XLA:CPU executable compiled
  on another CPU is refused when loaded, with error lines on stderr that fail a chapter
  (jax#38445). Every folder is therefore under a :func:`machine_key` (CPU model and flags,
  jax and jaxlib versions, Python, ``XLA_FLAGS``): another CPU or jax never reads it.
- **Concurrent writers.** jax writes an entry with ``Path.write_bytes``, without a lock; two
  chapters writing and reading one folder at once could read a torn entry. Each chapter (and
  each test worker) has a folder of its own.
- **Torn or foreign entries** (a process killed while writing, a file copied in, a disk
  error): XLA logs error lines for an entry it cannot load. After a chapter succeeds,
  :func:`seal` records the SHA-256 of every entry in the folder's manifest; before a chapter
  starts, :func:`scrub` removes every entry the manifest does not vouch for, so jax only ever
  reads entries that a successful run on this machine wrote whole.

jax caches only compilations that took over 1 s by default, 3 of a chapter's ~100 programs;
:func:`environment` lifts that threshold, so a warm rebuild compiles nothing again.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import sys
from pathlib import Path

__all__ = ["CACHE_ENV", "MANIFEST", "machine_key", "folder", "environment", "seal", "scrub"]

#: Set to a folder to put every chapter's cache there (default: ``<out>/jax-cache``), or to
#: ``off`` to run without a persistent cache.
CACHE_ENV = "CATAPULT_JAX_CACHE"


def _cpu_description() -> str:
    """The CPU's model and instruction-set flags (Linux: /proc/cpuinfo), else what Python knows."""
    try:
        lines = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        lines = []
    wanted = ("model name", "flags", "features", "cpu part", "vendor_id", "cpu family", "model\t")
    seen = sorted({line.strip() for line in lines if line.lower().startswith(wanted)})
    return "\n".join(seen) or f"{platform.machine()} {platform.processor()}"


def machine_key() -> str:
    """16 hex digits that change with the CPU (model and flags), jax, jaxlib, Python and XLA_FLAGS."""
    from importlib import metadata

    def version(dist: str) -> str:
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            return "-"

    parts = [
        _cpu_description(),
        *(f"{dist} {version(dist)}" for dist in ("jax", "jaxlib", "jax-cuda12-plugin", "jax-cuda13-plugin")),
        f"python {sys.version.split()[0]} {platform.machine()} {sys.platform}",
        f"XLA_FLAGS={os.environ.get('XLA_FLAGS', '')}",
        f"JAX_PLATFORMS={os.environ.get('JAX_PLATFORMS', '')}",
    ]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


def folder(root: str | os.PathLike, name: str) -> Path:
    """The cache folder of one chapter (or test worker) ``name`` on this machine: root/key/name."""
    return Path(root) / machine_key() / name


def environment(path: str | os.PathLike) -> dict[str, str]:
    """The environment variables that make jax cache every compilation in ``path``."""
    return {
        "JAX_COMPILATION_CACHE_DIR": str(path),
        "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0",
        "JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES": "0",
    }


MANIFEST = ".catapult-manifest.json"


def _entries(path: Path) -> list[Path]:
    # jax's entries (and, with a size limit, their "-atime" files); not its lock or our manifest
    return sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith("."))


def _digest(entry: Path) -> str:
    return hashlib.sha256(entry.read_bytes()).hexdigest()


def seal(path: str | os.PathLike) -> int:
    """Record every entry of ``path`` in its manifest (after a successful run); returns their number."""
    path = Path(path)
    if not path.is_dir():
        return 0
    manifest = {entry.name: _digest(entry) for entry in _entries(path)}
    tmp = path / f"{MANIFEST}.{os.getpid()}.tmp"
    tmp.write_text(json.dumps(manifest, indent=0, sort_keys=True), encoding="utf-8")
    os.replace(tmp, path / MANIFEST)  # atomic: a reader sees the old manifest or the new one
    return len(manifest)


def scrub(path: str | os.PathLike) -> list[str]:
    """Remove the entries of ``path`` that its manifest does not vouch for (missing from it, or
    with another SHA-256: torn, foreign, changed); returns their names."""
    path = Path(path)
    if not path.is_dir():
        return []
    try:
        manifest = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        manifest = {}
    removed = []
    for entry in _entries(path):
        try:
            ok = manifest.get(entry.name) == _digest(entry)
        except OSError:
            ok = False
        if not ok:
            entry.unlink(missing_ok=True)
            removed.append(entry.name)
    return removed
