#!/usr/bin/env python3
"""The GPU runner's carried folder, and the summary of a run there. Standard library only.

    python3 stacks/runner.py prepare [--carry .carry] [--data auto|''|mnist,cifar10]
    python3 stacks/runner.py summarize --build DIR --out DIR --scale SCALE CHAPTER ...

prepare: downloads, for CPython 3.12 on manylinux x86-64, the wheels of every package of
  stacks/runner-carry.txt (what the image lacks), copies the data sets found in
  ``$CATAPULT_DATA_DIR`` (default ``../shared/data``; none if absent: the chapters then
  download them), and checks that this folder plus the
  repository's tracked files fit the 64 MiB that may travel to the runner.
summarize: per chapter its exit status, time and claims, into ``OUT/summary.json``, and the
  executed notebooks, claims and logs into ``OUT/results.tar.gz`` (few files come back).

stacks/runner.sh runs the chapters on the runner; ``stacks/stacks.py runner`` emulates the
image here and runs both.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LIMIT_MIB = 64
PLATFORMS = ["manylinux_2_28_x86_64", "manylinux_2_27_x86_64", "manylinux_2_17_x86_64",
             "manylinux2014_x86_64", "manylinux1_x86_64"]


def mib(n: int) -> float:
    return n / 2**20


def folder_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def tracked_size() -> int:
    out = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, text=True)
    if out.returncode != 0:
        return 0
    return sum((ROOT / f).stat().st_size for f in out.stdout.split("\0") if f and (ROOT / f).is_file())


DATA_SETS = ("mnist", "cifar10")


def data_to_carry(spec: str, source: Path) -> list[Path]:
    """The prepared data files to carry: ``spec`` is "auto" (those of ``DATA_SETS`` found in
    ``source``; none where there is no such folder, and the chapters then download), "" (none)
    or comma-separated names, each of which must be in ``source``."""
    if spec == "auto":
        return [source / f"{n}.npz" for n in DATA_SETS if (source / f"{n}.npz").is_file()]
    files = []
    for name in [n.strip() for n in spec.split(",") if n.strip()]:
        if not (source / f"{name}.npz").is_file():
            raise SystemExit(f"{source / f'{name}.npz'} is missing: set CATAPULT_DATA_DIR to the folder holding {name}.npz")
        files.append(source / f"{name}.npz")
    return files


def prepare(args) -> None:
    carry = args.carry.resolve()
    wheels, data = carry / "wheels", carry / "data"
    lock = ROOT / "stacks" / "runner-carry.txt"
    key = hashlib.sha256(lock.read_bytes() + args.python_version.encode()).hexdigest()
    stamp = wheels / "stamp"
    if not (stamp.exists() and stamp.read_text() == key):
        shutil.rmtree(wheels, ignore_errors=True)
        cmd = [sys.executable, "-m", "pip", "download", "-q", "--disable-pip-version-check", "--no-deps",
               "--only-binary=:all:", "--python-version", args.python_version, "--implementation", "cp",
               "-d", str(wheels), "-r", str(lock)]
        for p in PLATFORMS:
            cmd += ["--platform", p]
        subprocess.run(cmd, check=True)
        stamp.write_text(key)
    source = Path(os.environ.get("CATAPULT_DATA_DIR") or ROOT.parent / "shared" / "data")
    data.mkdir(parents=True, exist_ok=True)
    for src in data_to_carry(args.data, source):
        dst = data / src.name
        if not dst.exists() or dst.stat().st_size != src.stat().st_size:
            shutil.copyfile(src, dst)
    n_wheels = len(list(wheels.glob("*.whl")))
    sizes = {"wheels": folder_size(wheels), "data": folder_size(data), "repository": tracked_size()}
    total = sum(sizes.values())
    print("carried to the runner: " + ", ".join(f"{k} {mib(v):.1f} MiB" for k, v in sizes.items())
          + f" ({n_wheels} wheels); total {mib(total):.1f} of {LIMIT_MIB} MiB")
    if total > LIMIT_MIB * 2**20:
        raise SystemExit(f"over the {LIMIT_MIB} MiB that may travel: carry fewer data sets (--data)")


def summarize(args) -> None:
    build, out = args.build.resolve(), args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    chapters = []
    for name in args.chapters:
        rc_file = build / f"{name}.rc"
        rc = int(rc_file.read_text().strip()) if rc_file.exists() else None
        claims_file = build / "claims" / f"{name}.json"
        claims = json.loads(claims_file.read_text()) if claims_file.exists() else []
        if isinstance(claims, dict):
            claims = claims.get("claims", [])
        measured = [c for c in claims if not c.get("claimed", True)]  # shown with their status, never failing
        claims = [c for c in claims if c.get("claimed", True)]
        record = build / "executed" / "book" / f"{name}.hash.json"
        seconds = json.loads(record.read_text()).get("seconds") if record.exists() else None
        log = (build / f"{name}.log").read_text(errors="replace") if (build / f"{name}.log").exists() else ""
        chapters.append({
            "chapter": name,
            "exit_status": rc,
            "seconds": seconds,
            "claims": len(claims),
            "holding": sum(bool(c.get("holds")) for c in claims),
            "failing": [c.get("id") for c in claims if not c.get("holds")],
            # a chapter that ran to its end wrote its claims file; at a scale that claims nothing (its
            # predictions all shown, not claimed, e.g. chapter 6 at smoke) that file has no claimed entry
            "all_hold": rc == 0 and claims_file.exists() and all(c.get("holds") for c in claims),
            "not_claimed": [c.get("id") for c in measured],
            "error": None if rc == 0 else log[-2000:],
        })
    summary = {"scale": args.scale, "chapters": chapters}
    (out / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
    with tarfile.open(out / "results.tar.gz", "w:gz") as tar:
        for pattern in ("executed/book/*.ipynb", "claims/*.json", "*.log"):
            for path in sorted(build.glob(pattern)):
                tar.add(path, arcname=str(path.relative_to(build)))
    for c in chapters:
        status = "ok" if c["all_hold"] else f"FAILED (exit {c['exit_status']}; failing claims {c['failing']})"
        print(f"{c['chapter']}: {c['holding']}/{c['claims']} claims hold, {c['seconds']} s: {status}")
    if not all(c["all_hold"] for c in chapters):
        sys.exit(1)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True)
    a = sub.add_parser("prepare")
    a.add_argument("--carry", type=Path, default=ROOT / ".carry")
    a.add_argument("--data", default="auto",
                   help="data sets to carry: auto (those in $CATAPULT_DATA_DIR or ../shared/data), '' or names")
    a.add_argument("--python-version", default="3.12")
    s = sub.add_parser("summarize")
    s.add_argument("--build", type=Path, required=True)
    s.add_argument("--out", type=Path, required=True)
    s.add_argument("--scale", required=True)
    s.add_argument("chapters", nargs="+")
    args = p.parse_args()
    {"prepare": prepare, "summarize": summarize}[args.command](args)


if __name__ == "__main__":
    main()
