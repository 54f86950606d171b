"""The persistent compilation cache: keyed by machine, one folder per chapter, and only entries
that a successful run vouched for are ever read (catapult.book.compile_cache)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from catapult.book import compile_cache

ROOT = Path(__file__).resolve().parent.parent


def test_the_key_changes_with_the_machine_and_jax(monkeypatch):
    key = compile_cache.machine_key()
    assert len(key) == 16 and key == compile_cache.machine_key()
    monkeypatch.setenv("XLA_FLAGS", "--xla_cpu_max_isa=SSE4_2")  # another CPU's instruction set
    assert compile_cache.machine_key() != key
    monkeypatch.delenv("XLA_FLAGS")
    monkeypatch.setattr(compile_cache, "_cpu_description", lambda: "model name: another CPU\nflags: sse2")
    assert compile_cache.machine_key() != key
    assert compile_cache.folder("/c", "01_warmup_model") == Path("/c") / compile_cache.machine_key() / "01_warmup_model"


def test_environment_caches_every_compilation(tmp_path):
    env = compile_cache.environment(tmp_path)
    assert env["JAX_COMPILATION_CACHE_DIR"] == str(tmp_path)
    assert env["JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"] == "0"
    assert env["JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES"] == "0"


def test_scrub_keeps_only_what_the_manifest_vouches_for(tmp_path):
    for name in ("jit_a-1-cache", "jit_b-2-cache", "jit_c-3-cache"):
        (tmp_path / name).write_bytes(os.urandom(200))
    assert compile_cache.seal(tmp_path) == 3
    assert compile_cache.scrub(tmp_path) == []
    (tmp_path / "jit_a-1-cache").write_bytes((tmp_path / "jit_a-1-cache").read_bytes()[:50])  # torn
    (tmp_path / "jit_b-2-cache").write_bytes(os.urandom(200))  # changed
    (tmp_path / "jit_d-4-cache").write_bytes(os.urandom(200))  # foreign: written by no sealed run
    (tmp_path / ".lockfile").write_bytes(b"")
    assert sorted(compile_cache.scrub(tmp_path)) == ["jit_a-1-cache", "jit_b-2-cache", "jit_d-4-cache"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [".catapult-manifest.json", ".lockfile", "jit_c-3-cache"]
    (tmp_path / compile_cache.MANIFEST).write_text("{not json", encoding="utf-8")
    assert compile_cache.scrub(tmp_path) == ["jit_c-3-cache"]  # an unreadable manifest vouches for nothing
    assert compile_cache.scrub(tmp_path / "absent") == [] and compile_cache.seal(tmp_path / "absent") == 0


@pytest.mark.build
def test_a_warm_rebuild_compiles_nothing_again_and_bad_entries_do_not_fail_a_chapter(tmp_path):
    """Chapter 1 at smoke, three times into one output folder: the second run writes no new
    cache entry (every program came from the cache); before the third, one entry is torn,
    one garbled and one foreign file is planted: the chapter still passes, quietly."""
    env = dict(os.environ, CATAPULT_JAX_CACHE=str(tmp_path / "cache"))
    cmd = [sys.executable, "-m", "catapult", "build", "--scale", "smoke", "--only", "01_warmup_model",
           "--out", str(tmp_path / "out"), "--no-site", "--force", "--jobs", "1", "--root", str(ROOT)]

    def build():
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        return proc

    build()
    folder = compile_cache.folder(tmp_path / "cache", "01_warmup_model")
    cold = sorted(p.name for p in folder.iterdir())
    manifest = json.loads((folder / compile_cache.MANIFEST).read_text(encoding="utf-8"))
    assert len(manifest) > 10 and set(manifest) <= set(cold)
    build()
    assert sorted(p.name for p in folder.iterdir()) == cold  # warm: nothing compiled again
    entries = sorted(folder.glob("*-cache"))
    entries[0].write_bytes(entries[0].read_bytes()[:100])
    entries[1].write_bytes(bytes(b ^ 0x5A for b in entries[1].read_bytes()))
    (folder / "jit_foreign-0000-cache").write_bytes(entries[2].read_bytes())
    proc = build()
    assert "Error reading persistent compilation cache" not in proc.stdout + proc.stderr
    assert not (folder / "jit_foreign-0000-cache").exists()
