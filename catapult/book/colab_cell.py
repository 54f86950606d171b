"""The Colab cell on the build's side: its one canonical text, and writing it first into every chapter.

    python -m catapult colab-cell [NOTEBOOK ...]    # default: every notebook chapter of _toc.yml

inserts the cell (:func:`cell_source`) as the first cell of each notebook, or updates it there;
running it again changes nothing. The cell, inert outside Colab, installs ``catapult`` without
dependencies in Colab, from the repository of ``pyproject.toml`` at this version's release tag
(:mod:`catapult.book.project`: ``git+https://github.com/OWNER/NAME@v0.6.0``, never a moving
branch), and calls :func:`catapult.colab.setup`, the part that runs inside a chapter (see
:mod:`catapult.colab`). It is tagged ``remove-cell`` so the site does not show it. A new version
changes the cell: run the command after changing the version in ``pyproject.toml``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from .project import project
from .toc import toc_notebooks

__all__ = ["CELL_ID", "TAGS", "apply", "cell_source", "first_code_cell", "is_colab_cell", "main", "new_cell"]

#: Cell id and tags of the Colab cell (the id lets the command find and update it).
CELL_ID = "catapult-colab-install"
TAGS = ["remove-cell", "colab"]

#: The cell; it calls catapult.colab.setup() (catapult/colab.py), which must keep that name.
_TEMPLATE = '''\
# Google Colab only: add what Colab lacks for this book (catapult, neural-tangents without
# TensorFlow); nothing Colab has is reinstalled. Elsewhere this cell does nothing.
import os, subprocess, sys
if "google.colab" in sys.modules or "COLAB_RELEASE_TAG" in os.environ:
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps",
                    os.environ.get("CATAPULT_COLAB_SOURCE", "git+{repo_url}@{release}")], check=True)
    import catapult.colab; catapult.colab.setup()
'''


def cell_source(root: Path) -> str:
    """The canonical text of the Colab cell for the book in ``root``."""
    proj = project(root)
    return _TEMPLATE.format(repo_url=proj.repository, release=proj.release).rstrip("\n")


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
    root = Path(root)
    targets = [Path(p) for p in paths] if paths else [root / p for p in toc_notebooks(root)]
    for path in targets:
        if path.suffix != ".ipynb" or not path.exists():
            raise ValueError(f"{path} is not a notebook file; give .ipynb paths (or none for every toc chapter).")
        changed = apply(path, root)
        print(f"{path}: {'Colab cell written' if changed else 'up to date'}")
    return 0
