#!/usr/bin/env python3
"""The book on the stacks it must run on, checked here: Colab's default runtime, the GPU
runner's image, and the newest jax. Standard library only; run with any Python 3.

    python3 stacks/stacks.py colab   [--dir .stacks/colab]   [--chapters all|none|NAME,...]
    python3 stacks/stacks.py runner  [--dir .stacks/runner]  [--chapters ...]
    python3 stacks/stacks.py newest  [--dir .stacks/newest]
    python3 stacks/stacks.py dry-run                      # Colab's set resolves for Python 3.13
    python3 stacks/stacks.py drift FREEZE                 # Colab's pip-freeze against colab.txt
    python3 stacks/stacks.py issue RUN_URL                # open, or comment on, the Colab-check issue
    python3 stacks/stacks.py wheel   [--dir .stacks/wheel]  # the built wheel, installed, runs a chapter
    python3 stacks/stacks.py lock                         # regenerate requirements.txt

colab:  a venv on Python 3.13 with Colab's packages (colab.txt); the chapters' Colab cell runs
        for real (as in Colab, with this checkout as the source of catapult); a check that it
        added only catapult-book and neural-tangents and changed no package Colab had; then the
        harness (colab-harness.txt), tests/test_tangents.py, and every chapter at `smoke`.
runner: a venv on Python 3.12 with the runner image's packages (runner-image.txt, CPU jaxlib);
        stacks/runner.py prepares the carried wheels and data exactly as for the device and
        runs the chapters through them (`smoke`), then tests/test_tangents.py.
newest: a venv on Python 3.12 with the newest jax (newest.txt); tests/test_tangents.py.
wheel:  `python -m build` makes the sdist and wheel; a venv on python3 with requirements.txt and
        the wheel (not this checkout) checks that the wheel holds every file the chapters read and
        executes chapter 1 at `smoke` from it (`python -m catapult build --root`, run elsewhere).
issue:  for the weekly Colab workflow's failure: comments on the open issue titled
        "Colab check failed" if there is one, else opens it (with `gh`), so failing weeks make one
        issue, not one each.

A venv is reused when its requirement files have not changed (a stamp file records them).
Pythons come from pyenv (``$PYENV_ROOT/versions/3.13.*``), else ``python3.13`` on the PATH;
``CATAPULT_PYTHON_3_13`` (or ``_3_12``) names one explicitly.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HERE = ROOT / "stacks"

def say(msg: str) -> None:
    print(f"[stacks] {msg}", flush=True)


def run(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    say("$ " + " ".join(str(c) for c in cmd))
    return subprocess.run([str(c) for c in cmd], check=True, **kw)


def find_python(version: str) -> str:
    """An interpreter of ``version`` (e.g. "3.13") that actually runs."""
    candidates = []
    env = os.environ.get("CATAPULT_PYTHON_" + version.replace(".", "_"))
    if env:
        candidates.append(env)
    pyenv_root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    candidates += [str(p / "bin" / "python3") for p in sorted((pyenv_root / "versions").glob(version + ".*"), reverse=True)]
    on_path = shutil.which("python" + version)
    if on_path:
        candidates.append(on_path)
    for c in candidates:
        try:
            out = subprocess.run([c, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                                 capture_output=True, text=True, timeout=60)
        except (OSError, subprocess.TimeoutExpired):
            continue
        if out.returncode == 0 and out.stdout.strip() == version:
            return c
    raise SystemExit(
        f"No working Python {version} found (tried {candidates or 'nothing'}). Install one "
        f"(e.g. `pyenv install {version}`) or set CATAPULT_PYTHON_{version.replace('.', '_')} to its path."
    )


def _stamp(files: list[Path], extra: list[str]) -> str:
    h = hashlib.sha256()
    for f in files:
        h.update(f.read_bytes())
    h.update("\n".join(extra).encode())
    return h.hexdigest()


def venv(path: Path, python_version: str, lock_files: list[Path], extra: list[str] = (), fresh: bool = False) -> Path:
    """A venv at ``path`` holding exactly the pins of ``lock_files`` (+ ``extra``), installed
    without dependency resolution; reused if its stamp matches. Returns its python."""
    py = path / "bin" / "python"
    stamp = path / "catapult-stack.stamp"
    key = _stamp(lock_files, list(extra))
    if not fresh and py.exists() and stamp.exists() and stamp.read_text() == key:
        say(f"reusing {path}")
        return py
    shutil.rmtree(path, ignore_errors=True)
    run([find_python(python_version), "-m", "venv", path])
    args = [py, "-m", "pip", "install", "-q", "--no-deps", "--disable-pip-version-check"]
    for f in lock_files:
        args += ["-r", f]
    run(args + list(extra))
    stamp.write_text(key)
    return py


def freeze(py: Path) -> dict[str, str]:
    out = subprocess.run([py, "-m", "pip", "list", "--format=json", "--disable-pip-version-check"],
                         capture_output=True, text=True, check=True).stdout
    return {d["name"].lower().replace("_", "-"): d["version"] for d in json.loads(out)}


def chapters_arg(value: str) -> list[str]:
    if value == "none":
        return []
    if value == "all":
        sys.path.insert(0, str(ROOT))
        from catapult.book import toc_notebooks  # noqa: E402  (needs only pyyaml)

        return [p.stem for p in toc_notebooks(ROOT)]
    return [v.strip() for v in value.split(",") if v.strip()]


def execute_chapters(py: Path, chapters: list[str], out: Path, scale: str, env: dict | None = None) -> None:
    """``python -m catapult build --no-site`` with ``py``: executes, checks every claim."""
    if not chapters:
        return
    cmd = [py, "-m", "catapult", "build", "--scale", scale, "--no-site", "--out", out, "--force", "--only", *chapters]
    start = time.perf_counter()
    run(cmd, cwd=ROOT, env=env)
    say(f"chapters {', '.join(chapters)} at {scale}: every claim holds ({time.perf_counter() - start:.0f} s)")


def door_tests(py: Path, env: dict | None = None) -> None:
    # -o addopts=: pyproject.toml's addopts run the tests on pytest-xdist, which these stacks lack
    run([py, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-o", "addopts=", "tests/test_tangents.py"], cwd=ROOT,
        env=env)


# ------------------------------------------------------------------- the stacks


def colab(args) -> None:
    py = venv(args.dir, "3.13", [HERE / "colab.txt"], fresh=True)  # fresh: the cell must start from Colab's set
    before = freeze(py)
    nb = ROOT / "book" / "01_warmup_model.ipynb"
    cell = json.loads(nb.read_text())["cells"]
    source = "".join(next(c for c in cell if c["cell_type"] == "code")["source"])
    env = dict(os.environ, COLAB_RELEASE_TAG="catapult-emulation", CATAPULT_COLAB_SOURCE=str(ROOT))
    start = time.perf_counter()
    run([py, "-c", source], env=env, cwd=tempfile.gettempdir())
    say(f"the Colab cell ran in {time.perf_counter() - start:.1f} s")
    after = freeze(py)
    changed = {n: (v, after.get(n)) for n, v in before.items() if after.get(n) != v}
    added = sorted(set(after) - set(before))
    if changed or set(added) != {"catapult-book", "neural-tangents"}:
        raise SystemExit(f"the Colab cell must add only catapult-book and neural-tangents and change nothing; "
                         f"added {added}, changed {changed}")
    say(f"the Colab cell added {added} and changed no package Colab had")
    run([py, "-m", "pip", "install", "-q", "--no-deps", "--disable-pip-version-check",
         "-r", HERE / "colab-harness.txt"])
    # The cell installed catapult from this checkout as a copy; run this checkout itself.
    run([py, "-m", "pip", "install", "-q", "--no-deps", "--disable-pip-version-check", "-e", ROOT])
    door_tests(py)
    execute_chapters(py, chapters_arg(args.chapters), args.dir / "build", "smoke")


def runner(args) -> None:
    py = venv(args.dir, "3.12", [HERE / "runner-image.txt"])
    carry = args.dir / "carry"
    run([sys.executable, HERE / "runner.py", "prepare", "--carry", carry, "--python-version", "3.12"])
    out = args.dir / "out"
    shutil.rmtree(out, ignore_errors=True)
    chapters = chapters_arg(args.chapters)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "CATAPULT_DATA_DIR")}
    env["PATH"] = f"{py.parent}{os.pathsep}{env.get('PATH', '')}"  # `python3` is the image's
    run(["bash", HERE / "runner.sh", "smoke", *chapters], cwd=ROOT,
        env=dict(env, OUT=str(out), CATAPULT_CARRY=str(carry), CATAPULT_SITE=str(args.dir / "site")))
    summary = json.loads((out / "summary.json").read_text())
    bad = [c for c in summary["chapters"] if not c["all_hold"]]
    if bad or len(summary["chapters"]) != len(chapters):
        raise SystemExit(f"runner emulation: chapters failed or missing: {summary}")
    door_tests(py, env=dict(env, PYTHONPATH=str(args.dir / "site")))


def newest(args) -> None:
    py = venv(args.dir, "3.12", [HERE / "newest.txt"], extra=["neural-tangents==0.6.5"])
    run([py, "-m", "pip", "install", "-q", "--no-deps", "--disable-pip-version-check", "-e", ROOT])
    door_tests(py)


def dry_run(args) -> None:
    """Colab's package set, and what the cell adds, resolve together on Python 3.13 from wheels."""
    with tempfile.TemporaryDirectory() as tmp:
        # A Python 3.13's own pip: older pips check Requires-Python against the running interpreter.
        base = [find_python("3.13"), "-m", "pip", "install", "--dry-run", "--ignore-installed", "--quiet",
                "--disable-pip-version-check", "--python-version", "3.13", "--only-binary=:all:",
                "--implementation", "cp", "--target", tmp]
        run(base + ["-r", HERE / "colab.txt"])
        run(base + ["--no-deps", "neural-tangents==0.6.5"])
    say("Colab's set resolves for Python 3.13 from wheels, and neural-tangents 0.6.5 installs there without deps")


#: The packages whose Colab versions the book depends on (colab.txt pins them to Colab's).
WATCHED = ("jax", "jaxlib", "numpy", "scipy", "optax", "matplotlib", "frozendict", "ipykernel",
           "ipython", "jupyter-client", "tqdm", "packaging")


def parse_freeze(text: str) -> dict[str, str]:
    """``name==version`` lines of a pip freeze, names normalized (other lines are skipped)."""
    out = {}
    for line in text.splitlines():
        line = line.split("#")[0].strip()
        if "==" in line and " @ " not in line:
            name, version = line.split("==", 1)
            out[name.strip().lower().replace("_", "-")] = version.strip().split(";")[0].strip()
    return out


def drift(args) -> None:
    """Fail, naming each package, when Colab's pip-freeze differs from colab.txt on WATCHED."""
    ours = parse_freeze((HERE / "colab.txt").read_text())
    theirs = parse_freeze(Path(args.freeze).read_text())
    moved = {n: (ours.get(n), theirs.get(n)) for n in WATCHED if n in ours and ours.get(n) != theirs.get(n)}
    if "neural-tangents" in theirs:
        moved["neural-tangents"] = (None, theirs["neural-tangents"])
    if moved:
        lines = "\n".join(f"  {n}: colab.txt {a} -> Colab {b}" for n, (a, b) in sorted(moved.items()))
        raise SystemExit(f"Colab's packages moved on; update stacks/colab.txt and rerun `stacks.py colab`:\n{lines}")
    say(f"Colab's versions of {', '.join(n for n in WATCHED if n in ours)} are those of stacks/colab.txt")


#: The title of the issue the weekly Colab workflow opens (and then comments on) when it fails.
ISSUE_TITLE = "Colab check failed"


def issue(args) -> None:
    """Comment on the open issue titled :data:`ISSUE_TITLE`, or open it: one issue for a run of
    failing weeks. Needs `gh` with GH_TOKEN (the workflow's)."""
    url = args.freeze  # the positional argument: the failed run's address
    if not url:
        raise SystemExit("issue needs the address of the failed run")
    listed = subprocess.run(["gh", "issue", "list", "--state", "open", "--search", f'in:title "{ISSUE_TITLE}"',
                             "--json", "number,title"], capture_output=True, text=True, check=True).stdout
    open_ = [i for i in json.loads(listed or "[]") if i.get("title", "").startswith(ISSUE_TITLE)]
    day = time.strftime("%Y-%m-%d", time.gmtime())
    if open_:
        number = str(min(i["number"] for i in open_))
        run(["gh", "issue", "comment", number, "--body", f"Failed again on {day}: {url}"])
        say(f"commented on issue #{number}")
    else:
        run(["gh", "issue", "create", "--title", ISSUE_TITLE, "--body",
             f"The weekly Colab check failed on {day}: {url}\n\nIts log says which packages of Colab's "
             "runtime moved (update stacks/colab.txt and stacks/colab-pip-freeze.txt, then run "
             "`python3 stacks/stacks.py colab`), or which chapter broke on them. Later failures are added "
             "here as comments; close this issue when the check passes again."])
        say("opened an issue")


def package_data() -> list[str]:
    """The data files pyproject.toml's [tool.setuptools.package-data] puts into the wheel, as they are
    in this checkout (e.g. catapult/measured/paper_cost.json, which chapter 4 cites)."""
    import tomllib

    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    return sorted(p.relative_to(ROOT).as_posix() for package, globs in config.items()
                  for pattern in globs for p in (ROOT / package.replace(".", "/")).glob(pattern))


def wheel(args) -> None:
    """Build the sdist and wheel, install the wheel beside the lock in a venv, check its files,
    and execute chapter 1 at smoke with it from outside the checkout."""
    import zipfile

    py = venv(args.dir / "venv", f"{sys.version_info[0]}.{sys.version_info[1]}", [ROOT / "requirements.txt"])
    dist = args.dir / "dist"
    shutil.rmtree(dist, ignore_errors=True)
    run([py, "-m", "build", "--outdir", dist, ROOT])  # the lock's `build`; setuptools in its own environment
    (whl,) = sorted(dist.glob("catapult_book-*.whl"))
    names = set(zipfile.ZipFile(whl).namelist())
    modules = {p.relative_to(ROOT).as_posix() for p in (ROOT / "catapult").rglob("*.py")}
    data = package_data()
    missing = sorted((modules | set(data)) - names)
    if missing or not data:
        raise SystemExit(f"{whl.name} lacks {missing or 'package data: pyproject.toml names none that exists'}")
    say(f"{whl.name}: {len(names)} files, every module and {', '.join(data)}")
    run([py, "-m", "pip", "install", "-q", "--no-deps", "--force-reinstall", "--disable-pip-version-check", whl])
    where = subprocess.run([py, "-c", "import catapult; print(catapult.__file__)"], cwd=tempfile.gettempdir(),
                           capture_output=True, text=True, check=True).stdout.strip()
    if Path(where).resolve().is_relative_to(ROOT / "catapult"):
        raise SystemExit(f"the venv imports catapult from the checkout ({where}), not from the wheel")
    say(f"catapult imports from the wheel: {where}")
    out = args.dir / "build"
    shutil.rmtree(out, ignore_errors=True)
    start = time.perf_counter()
    run([py, "-m", "catapult", "build", "--scale", "smoke", "--no-site", "--force", "--root", ROOT, "--out", out,
         "--only", "01_warmup_model"], cwd=tempfile.gettempdir())
    say(f"chapter 1 at smoke from the installed wheel: every claim holds ({time.perf_counter() - start:.0f} s)")


def lock(args) -> None:
    """Regenerate requirements.txt from stacks/book.in on Python 3.11."""
    with tempfile.TemporaryDirectory() as tmp:
        py = Path(tmp) / "bin" / "python"
        run([find_python("3.11"), "-m", "venv", tmp])
        direct = [l for l in (HERE / "book.in").read_text().splitlines()
                  if l.strip() and not l.startswith("#") and not l.startswith("neural-tangents")]
        run([py, "-m", "pip", "install", "-q", *direct])
        run([py, "-m", "pip", "install", "-q", "--no-deps", "neural-tangents==0.6.5"])
        pins = freeze(py)
    head = [l for l in (ROOT / "requirements.txt").read_text().splitlines() if l.startswith("#")]
    body = sorted(f"{n}=={v}" for n, v in pins.items() if n not in ("pip", "setuptools"))
    (ROOT / "requirements.txt").write_text("\n".join(head + body) + "\n")
    say(f"requirements.txt: {len(body)} pins")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("stack", choices=("colab", "runner", "newest", "dry-run", "drift", "issue", "wheel", "lock"))
    p.add_argument("freeze", nargs="?", help="drift: a pip-freeze file of Colab's runtime; issue: the failed run's address")
    p.add_argument("--dir", type=Path, default=None, help="the venv folder (default .stacks/STACK)")
    p.add_argument("--chapters", default="all", help="all, none, or comma-separated chapter names")
    args = p.parse_args()
    args.dir = (args.dir or ROOT / ".stacks" / args.stack).resolve()
    start = time.perf_counter()
    if args.stack == "drift" and not args.freeze:
        p.error("drift needs the pip-freeze file of Colab's runtime")
    {"colab": colab, "runner": runner, "newest": newest, "dry-run": dry_run, "drift": drift, "issue": issue,
     "wheel": wheel, "lock": lock}[args.stack](args)
    say(f"{args.stack}: passed in {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
