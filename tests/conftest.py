"""The test suite's jax compilation cache: one folder per pytest-xdist worker and machine.

A rerun of the tests then compiles almost nothing again. Each worker has its own folder (jax
writes entries without a lock), keyed by :func:`catapult.book.compile_cache.machine_key` (an
entry from another CPU or jax is never read); chapters that tests build get a folder per worker
and chapter too. ``CATAPULT_JAX_CACHE=off`` runs the tests without it.
"""

from __future__ import annotations

import os
from pathlib import Path

from catapult.book import compile_cache

_FOLDER: list[Path] = []


def _use_cache() -> None:
    root = os.environ.get(compile_cache.CACHE_ENV)
    if root == "off":
        return
    # the folder the tests began with, kept for the xdist workers this process may start
    base = Path(os.environ.setdefault("_CATAPULT_TESTS_JAX_CACHE", root or str(
        Path(__file__).resolve().parent.parent / ".pytest_cache" / "catapult-jax")))
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    path = compile_cache.folder(base, f"tests-{worker}")
    path.mkdir(parents=True, exist_ok=True)
    compile_cache.scrub(path)
    _FOLDER.append(path)
    settings = compile_cache.environment(path)  # set in this process only: a subprocess must not share the folder
    os.environ[compile_cache.CACHE_ENV] = str(base / f"builds-{worker}")  # chapters built by this worker
    import jax

    jax.config.update("jax_compilation_cache_dir", settings["JAX_COMPILATION_CACHE_DIR"])
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)


_use_cache()


def pytest_sessionfinish(session, exitstatus):
    """The worker's entries are whole once its session ends: vouch for them (see compile_cache)."""
    for path in _FOLDER:
        compile_cache.seal(path)
