"""Executing one chapter: papermill into the executed mirror, its checks, its claims file, and the cache.

A chapter runs in a kernel of this interpreter (:func:`kernel_spec_dir`) into
``<out>/executed/<chapter>.ipynb``; it fails (:class:`~catapult.book.errors.BuildError`,
naming the chapter and cell) if it raised, wrote to stderr, reported no claims or a claim
that does not hold (with ``keep_going`` a chapter whose claims do not all hold is kept and
reported instead). Log lines of XLA and CUDA at info or warning level on stderr
(:func:`split_log_lines`) are taken out of the page into ``<out>/logs/<chapter>.stderr.log``;
their error lines, Python warnings and tracebacks still fail the chapter. Its claims go to
``<out>/claims/<notebook stem>.json`` with the data sets it read, and a provenance box
(:mod:`catapult.book.provenance`) is appended to the executed copy.

The cache: after a successful run ``<out>/executed/<chapter>.hash.json`` records
:func:`input_hash`, the SHA-256 of what the chapter's execution depends on (its notebook,
every ``catapult/**/*.py`` except those of this build package (:func:`science_sources`),
``requirements.txt`` and the scale). A later build whose hash matches reuses the executed
copy (:func:`cached_chapter`), so editing the build re-executes no chapter; a change of what
the build writes into executed copies (e.g. the provenance box) bumps :data:`CACHE_FORMAT`.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from .. import claims as claims_mod
from . import compile_cache, provenance
from .errors import BuildError

__all__ = [
    "BUILD_PACKAGE", "CACHE_FORMAT", "PACKAGE_DIR", "ChapterResult", "cache_record_path", "cached_chapter",
    "chapter_provenance", "execute_chapter", "input_hash", "kernel_spec_dir", "previous_seconds", "science_sources",
    "split_log_lines",
]

#: The catapult sources whose content is part of every chapter's cache key (see :func:`science_sources`).
PACKAGE_DIR = Path(__file__).resolve().parent.parent
#: This build package's folder name inside :data:`PACKAGE_DIR`: left out of the cache key.
BUILD_PACKAGE = Path(__file__).resolve().parent.name
#: Bump when the executed copies' format changes without a change of the science sources (e.g. the
#: provenance box the build appends: the build package is not part of the cache key).
CACHE_FORMAT = 2


@dataclass
class ChapterResult:
    name: str
    executed: Path
    claims: list[claims_mod.Claim]
    seconds: float
    cached: bool = False
    #: With ``keep_going``: why the chapter failed (it raised, or claims do not hold); None if it passed.
    error: str | None = None
    #: Log lines of XLA/CUDA taken out of the page (see :func:`split_log_lines`).
    log_lines: int = 0


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


#: A log line of XLA, CUDA or TensorFlow's C++ runtime at info (I) or warning (W) level, in absl's
#: format ("W1206 17:14:38.123456  4711 gpu_device.cc:2341] ...", also with the clock as
#: "00:00:1765041278.123456") or the older TensorFlow one ("2026-12-06 17:14:38.123456: W
#: external/xla/...] ..."), and absl's notice that such lines go to stderr.
_LOG_LINE = re.compile(
    r"^(?:[IW]\d{4} \d\d:\d\d:\d+\.\d+\s+\d+\s+\S+:\d+\] "
    r"|\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+: [IW] \S+:\d+\] "
    r"|WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR$)"
)


def split_log_lines(text: str) -> tuple[list[str], str]:
    """(the lines of ``text`` that are XLA/CUDA log lines at info or warning level, the rest).

    Those lines are the runtime talking about itself (a GPU found, a slow compilation, a
    fallback), not the chapter: they are kept out of the page. Error (E) and fatal (F) lines,
    Python warnings, tracebacks and anything else stay in the rest, which fails the chapter."""
    logs, rest = [], []
    for line in text.splitlines(keepends=True):
        (logs if _LOG_LINE.match(line) else rest).append(line)
    return [line.rstrip("\n") for line in logs], "".join(rest)


def _remove_log_lines(nb) -> list[str]:
    """Take XLA/CUDA log lines (:func:`split_log_lines`) out of every stderr output of ``nb``
    (dropping outputs left empty); returns them."""
    removed: list[str] = []
    for _, cell in _source_code_cells(nb):
        kept = []
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream" and out.get("name") == "stderr":
                text = out.get("text", "")
                logs, rest = split_log_lines(text if isinstance(text, str) else "".join(text))
                removed += logs
                if not rest.strip():
                    continue
                out["text"] = rest
            kept.append(out)
        cell["outputs"] = kept
    return removed


def _kernel_manager_class():
    """The kernel manager the chapters run under: jupyter_client's, talking to the kernel over
    local sockets (IPC) on POSIX. Over TCP without CurveZMQ keys ipykernel 7 warns, once per
    chapter, that the kernel "is running over TCP without encryption"; IPC needs no port and
    no encryption, and leaves the build's output quiet. Elsewhere (Windows) TCP as before."""
    from jupyter_client.manager import AsyncKernelManager
    from traitlets import default

    class LocalKernelManager(AsyncKernelManager):
        @default("transport")
        def _default_transport(self) -> str:
            return "ipc" if os.name == "posix" else "tcp"

        @default("ip")
        def _default_ip(self) -> str:
            # the sockets' path prefix: absolute and short (a socket path has at most ~100
            # characters), never the chapter's folder, which is the kernel's working directory
            if self.transport == "ipc":
                return os.path.join(tempfile.gettempdir(), f"catapult-kernel-{uuid.uuid4().hex[:16]}")
            return "127.0.0.1"

    return LocalKernelManager


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


#: The files of the package a chapter reads: its modules and their data (the GPU measurements the
#: pages cite, chapter 1's explorer, whose script lands in the chapter's output).
SCIENCE_SUFFIXES = (".py", ".json", ".js", ".css")


def science_sources(package_dir: Path | None = None) -> list[Path]:
    """Every module and data file of the catapult package (default :data:`PACKAGE_DIR`), sorted,
    except those of the build package (``catapult/book/``): what a chapter imports, not what builds the site."""
    package_dir = PACKAGE_DIR if package_dir is None else package_dir
    return [
        path for path in sorted(package_dir.rglob("*"))
        if path.suffix in SCIENCE_SUFFIXES and path.is_file() and "__pycache__" not in path.parts
        and path.relative_to(package_dir).parts[0] != BUILD_PACKAGE
    ]


def input_hash(root: Path, rel: Path, scale: str, seed: int = 0) -> str:
    """SHA-256 over what a chapter's execution depends on: its notebook, every module and data file of
    ``catapult/`` outside the build package (:func:`science_sources`), ``requirements.txt`` (of the book's root), the scale and the seed offset."""
    h = hashlib.sha256()

    def add(label: str, data: bytes) -> None:
        h.update(label.encode() + b"\0" + hashlib.sha256(data).digest())

    add("format", str(CACHE_FORMAT).encode())
    add("scale", scale.encode())
    add("seed", str(int(seed)).encode())
    add("notebook", (root / rel).read_bytes())
    req = root / "requirements.txt"
    add("requirements.txt", req.read_bytes() if req.exists() else b"(none)")
    for path in science_sources(PACKAGE_DIR):
        add("catapult/" + path.relative_to(PACKAGE_DIR).as_posix(), path.read_bytes())
    return h.hexdigest()


def cache_record_path(out: Path, rel: Path) -> Path:
    return out / "executed" / rel.with_suffix(".hash.json")


def previous_seconds(out: Path, rel: Path, scale: str) -> float | None:
    """How long chapter ``rel`` took when last executed into ``out`` at ``scale`` (None if never)."""
    try:
        record = json.loads(cache_record_path(out, rel).read_text(encoding="utf-8"))
        return float(record["seconds"]) if record.get("scale") == scale else None
    except (OSError, ValueError, KeyError, TypeError):
        return None


def cached_chapter(
    root: Path, rel: Path, out: Path, scale: str, seed: int = 0, keep_going: bool = False
) -> ChapterResult | None:
    """The chapter's previous result if its executed copy is still valid for these inputs, else None.

    A copy whose claims do not all hold (kept by a ``keep_going`` build) is reused only by another
    ``keep_going`` build, which reports it again; any other build executes the chapter anew."""
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
    if record.get("hash") != input_hash(root, rel, scale, seed) or not found:
        return None
    bad = claims_mod.failures(found)
    if bad and not keep_going:
        return None
    return ChapterResult(rel.stem, executed, found, float(record.get("seconds", 0.0)), cached=True,
                         error=_claims_error(rel.stem, found, bad, scale, seed) if bad else None)


def _claims_error(name: str, found, bad, scale: str, seed: int) -> str:
    lines = "\n".join(
        f"  - {c.id}: {c.statement} ({c.source}); predicted {c.predicted}, measured {c.measured}, "
        f"tolerance {c.tolerance}"
        for c in bad
    )
    at = f"scale {scale!r}" + (f", seed {seed:+d}" if seed else "")
    claimed = sum(c.claimed for c in found)
    return f"chapter {name}: {len(bad)} of {claimed} claims do not hold at {at}:\n{lines}"


def _verbose_engine(name: str):
    """A papermill engine that prints one line per code cell as it ends: the chapter, the cell's
    position, its time and its first line (``python -m catapult build --verbose``)."""
    from papermill.engines import NBClientEngine

    class VerboseEngine(NBClientEngine):
        @classmethod
        def execute_managed_notebook(cls, nb_man, kernel_name, **kwargs):
            code = [i for i, c in enumerate(nb_man.nb.cells) if c.cell_type == "code"]
            complete = nb_man.cell_complete
            started = {}
            start = nb_man.cell_start

            def cell_start(cell, cell_index=None, **kw):
                started[cell_index] = time.perf_counter()
                return start(cell, cell_index=cell_index, **kw)

            def cell_complete(cell, cell_index=None, **kw):
                result = complete(cell, cell_index=cell_index, **kw)
                if cell.cell_type == "code" and cell_index in code:
                    took = time.perf_counter() - started.get(cell_index, time.perf_counter())
                    head = next((line.strip() for line in cell.source.splitlines() if line.strip()), "")
                    print(f"  [{name}] cell {code.index(cell_index) + 1}/{len(code)} done in {took:.1f} s: "
                          f"{head[:70]}", flush=True)
                return result

            nb_man.cell_start, nb_man.cell_complete = cell_start, cell_complete
            return super().execute_managed_notebook(nb_man, kernel_name, **kwargs)

    return VerboseEngine


def execute_chapter(
    root: Path, rel: Path, out: Path, scale: str, timeout: int | None = None, seed: int = 0,
    keep_going: bool = False, verbose: bool = False,
) -> ChapterResult:
    """Execute one chapter with papermill into ``out/executed/rel``, check it, and record it in the cache.

    ``seed`` is the chapter's ``seed`` parameter: it is added to every seed of its settings
    (``Settings.shift_seeds``), so ``seed != 0`` is an independent repeat of the whole chapter.
    ``keep_going``: a chapter whose claims do not all hold is kept (executed copy, claims file,
    provenance, cache record) and returned with its ``error`` instead of raising, so that a long
    run's other results are not thrown away. ``verbose`` prints a line as each code cell ends."""
    import nbformat
    import papermill as pm
    from papermill.engines import papermill_engines

    src = root / rel
    dst = out / "executed" / rel
    dst.parent.mkdir(parents=True, exist_ok=True)
    name = rel.stem
    record_path = cache_record_path(out, rel)
    record_path.unlink(missing_ok=True)  # a chapter that fails below is never cached
    key = input_hash(root, rel, scale, seed)  # hashed before the run: an edit during it is not cached as done
    env_backup = dict(os.environ)
    os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")  # ipykernel 6's debugpy notice on Python >= 3.11
    os.environ.pop("MPLBACKEND", None)  # a non-inline backend (e.g. Agg) would leave the pages without figures
    os.environ["CATAPULT_PROGRESS"] = "0"  # no download progress bar in a page (catapult.data)
    jupyter_path = [str(kernel_spec_dir(out))] + [p for p in os.environ.get("JUPYTER_PATH", "").split(os.pathsep) if p]
    os.environ["JUPYTER_PATH"] = os.pathsep.join(jupyter_path)
    cache_root = os.environ.get(compile_cache.CACHE_ENV) or str(out / "jax-cache")
    cache_dir = None
    if cache_root != "off":  # jax's persistent cache, one folder per machine and chapter (catapult.book.compile_cache)
        cache_dir = compile_cache.folder(cache_root, name)
        cache_dir.mkdir(parents=True, exist_ok=True)
        compile_cache.scrub(cache_dir)
        os.environ.update(compile_cache.environment(cache_dir))
    engine = None
    if verbose:
        engine = f"catapult-verbose-{name}"
        papermill_engines.register(engine, _verbose_engine(name))
    start = time.perf_counter()
    try:
        pm.execute_notebook(
            str(src),
            str(dst),
            parameters={"scale": scale, "seed": int(seed)},
            cwd=str(src.parent),
            kernel_name="python3",
            engine_name=engine,
            progress_bar=False,
            log_output=False,
            execution_timeout=timeout,
            report_mode=False,
            kernel_manager_class=_kernel_manager_class(),
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
    if cache_dir is not None:  # the kernel ran to its end: every entry it wrote is whole
        compile_cache.seal(cache_dir)

    nb = nbformat.read(str(dst), as_version=4)
    if nb.metadata.get("papermill", {}).get("exception"):
        raise BuildError(f"chapter {name}: papermill recorded an exception; see {dst}.")
    log_lines = _remove_log_lines(nb)
    log_path = out / "logs" / f"{name}.stderr.log"
    if log_lines:
        log_path.parent.mkdir(parents=True, exist_ok=True)
        log_path.write_text("\n".join(log_lines) + "\n", encoding="utf-8")
    else:
        log_path.unlink(missing_ok=True)
    noisy = _stderr_outputs(nb)
    if noisy:
        position, text = noisy[0]
        nbformat.write(nb, str(dst))
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
    data_used = claims_mod.data_from_notebook(nb) or []
    claims_mod.save(found, out / "claims" / f"{name}.json", seed=seed, data=data_used)
    bad = claims_mod.failures(found)
    error = _claims_error(name, found, bad, scale, seed) if bad else None
    if error and not keep_going:
        raise BuildError(error)
    prov = provenance.record(root, scale, seconds, seed, data=data_used)
    provenance.append_to_notebook(nb, prov)
    nbformat.write(nb, str(dst))
    record = {"hash": key, "scale": scale, "seed": int(seed), "seconds": round(seconds, 1), "provenance": prov,
              "holds": not bad}
    record_path.write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
    return ChapterResult(name, dst, found, seconds, error=error, log_lines=len(log_lines))


def chapter_provenance(out: Path, rel: Path) -> dict | None:
    """The provenance recorded when the chapter's executed copy was made (None if unknown)."""
    path = cache_record_path(out, rel)
    try:
        return json.loads(path.read_text(encoding="utf-8")).get("provenance")
    except (OSError, ValueError):
        return None

