"""The first cell of every chapter: in Google Colab it adds what Colab lacks; elsewhere it does nothing.

A chapter's launch button opens its ``.ipynb`` from the repository in Colab, whose default
runtime (Python 3.13, jax 0.7.2, numpy, scipy, optax, matplotlib, frozendict, ipykernel)
already has everything the book needs except neural-tangents and :mod:`catapult`. The cell
(:func:`cell_source`, the one canonical text) installs ``catapult`` from the repository named
in ``_config.yml`` without dependencies, then calls :func:`setup`, which installs only what
is missing: neural-tangents 0.6.5 without its dependencies (its metadata asks for
TensorFlow, which :mod:`catapult.tangents` makes unnecessary) and any of catapult's own
requirements that the runtime does not satisfy. It never reinstalls or upgrades a package
Colab has, so Colab's GPU jax stays, no runtime restart is needed, and it takes seconds.
Outside Colab (no ``google.colab`` module, no ``COLAB_RELEASE_TAG``) the cell prints nothing
and installs nothing. It is tagged ``remove-cell`` so the site does not show it.

    python -m catapult colab-cell [NOTEBOOK ...]    # default: every notebook chapter of _toc.yml

inserts the cell as the first cell of each notebook, or updates it there; running it
again changes nothing. ``CATAPULT_COLAB_SOURCE`` replaces the repository as the place the
cell installs ``catapult`` from (the Colab emulation in ``stacks/`` points it at a checkout).
"""

from __future__ import annotations

import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Callable, Sequence

#: Cell id and tags of the Colab cell (the id lets the command find and update it).
CELL_ID = "catapult-colab-install"
TAGS = ["remove-cell", "colab"]

#: Installed without dependencies (see catapult.tangents); frozendict is the one it needs beyond jax.
NEURAL_TANGENTS = "neural-tangents==0.6.5"

_TEMPLATE = '''\
# Google Colab only: add what Colab lacks for this book (catapult, neural-tangents without
# TensorFlow); nothing Colab has is reinstalled. Elsewhere this cell does nothing.
import os, subprocess, sys
if "google.colab" in sys.modules or "COLAB_RELEASE_TAG" in os.environ:
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps",
                    os.environ.get("CATAPULT_COLAB_SOURCE", "git+{repo_url}@{branch}")], check=True)
    import catapult.colab; catapult.colab.setup()
'''


def _installed(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def missing(requirements: Sequence[str], installed: Callable[[str], str | None] | None = None) -> list[str]:
    """The requirements (PEP 508 strings) that the environment does not satisfy, as given.

    A requirement whose package is present at a version outside its range is reported too;
    :func:`setup` refuses to touch such a package (it would change what Colab imported).
    """
    from packaging.requirements import Requirement

    installed = installed or _installed
    out = []
    for text in requirements:
        req = Requirement(text)
        if req.marker is not None and not req.marker.evaluate({"extra": ""}):
            continue
        have = installed(req.name)
        if have is None or (req.specifier and not req.specifier.contains(have, prereleases=True)):
            out.append(text)
    return out


def plan(installed: Callable[[str], str | None] | None = None) -> tuple[list[str], list[str]]:
    """(what to install, what conflicts): catapult's requirements and neural-tangents that
    this runtime lacks, and the requirements whose package is present at another version."""
    installed = installed or _installed
    requires = [r for r in (metadata.requires("catapult-book") or []) if "extra ==" not in r]
    needed = missing(requires + [NEURAL_TANGENTS], installed)
    conflicts = [r for r in needed if installed(_name(r)) is not None]
    return [r for r in needed if r not in conflicts], conflicts


def _name(requirement: str) -> str:
    from packaging.requirements import Requirement

    return Requirement(requirement).name


def setup(run: Callable[..., object] = subprocess.run) -> list[str]:
    """Install, without dependencies, what :func:`plan` finds missing; return it.

    Prints one line: what was installed, and that nothing the runtime had was changed.
    """
    to_install, conflicts = plan()
    if conflicts:
        print(
            "catapult: this runtime has versions outside the book's ranges: " + ", ".join(conflicts)
            + ". Nothing was changed; the chapters may still run. To match the book exactly, "
            "`pip install` these and restart the runtime."
        )
    if to_install:
        run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", *to_install], check=True)
    added = ", ".join(to_install) if to_install else "nothing beyond catapult"
    print(f"catapult-book is ready: installed {added}; no package Colab had was changed, no restart needed.")
    return to_install


def repository(root: Path) -> tuple[str, str]:
    """(repository URL, branch) from ``_config.yml``'s ``repository`` section."""
    import yaml

    config = yaml.safe_load((Path(root) / "_config.yml").read_text(encoding="utf-8")) or {}
    repo = config.get("repository") or {}
    url = str(repo.get("url", "")).rstrip("/")
    if not url.startswith("https://github.com/"):
        raise ValueError(
            f"_config.yml's repository.url must be a https://github.com/OWNER/NAME URL (got {url!r}): "
            "the Colab cell installs catapult from it."
        )
    return url.removesuffix(".git"), str(repo.get("branch") or "main")


def cell_source(root: Path) -> str:
    """The canonical text of the Colab cell for the book in ``root``."""
    url, branch = repository(root)
    return _TEMPLATE.format(repo_url=url, branch=branch).rstrip("\n")


def new_cell(root: Path):
    import nbformat

    cell = nbformat.v4.new_code_cell(cell_source(root))
    cell.id = CELL_ID
    cell.metadata["tags"] = list(TAGS)
    return cell


def is_colab_cell(cell) -> bool:
    return cell.get("id") == CELL_ID or "colab" in cell.get("metadata", {}).get("tags", [])


def first_code_cell(nb):
    return next((c for c in nb.cells if c.cell_type == "code"), None)


def apply(path: Path, root: Path) -> bool:
    """Insert or update the Colab cell as the first cell of the notebook at ``path``; True if it changed."""
    import nbformat

    path = Path(path)
    text = path.read_text(encoding="utf-8")
    nb = nbformat.reads(text, as_version=4)
    cell = new_cell(root)
    kept = [c for c in nb.cells if not is_colab_cell(c)]
    nb.cells = [cell] + kept
    new_text = nbformat.writes(nb) + "\n"
    if new_text == text:
        return False
    path.write_text(new_text, encoding="utf-8")
    return True


def main(paths: Sequence[str], root: Path) -> int:
    """``python -m catapult colab-cell [NOTEBOOK ...]``: returns the exit status."""
    from .book import toc_notebooks

    root = Path(root)
    targets = [Path(p) for p in paths] if paths else [root / p for p in toc_notebooks(root)]
    for path in targets:
        if path.suffix != ".ipynb" or not path.exists():
            raise ValueError(f"{path} is not a notebook file; give .ipynb paths (or none for every toc chapter).")
        changed = apply(path, root)
        print(f"{path}: {'Colab cell written' if changed else 'up to date'}")
    return 0
