"""The first cell of every chapter: in Google Colab it installs this book's stack; elsewhere it does nothing.

A chapter's launch button opens its ``.ipynb`` from the repository in Colab, where neither
the pinned stack nor :mod:`catapult` is installed. The cell :func:`cell_source` builds (the
one canonical text, held here) pip-installs ``requirements.txt`` and ``catapult`` from the
repository named in ``_config.yml`` and then says whether the runtime must be restarted
(it must when a module the runtime had already imported, e.g. numpy, changed version).
Outside Colab (no ``google.colab`` module, no ``COLAB_RELEASE_TAG``) it prints nothing,
installs nothing and never imports :mod:`catapult`. It is tagged ``remove-cell`` so the site
does not show it.

    python -m catapult colab-cell [NOTEBOOK ...]    # default: every notebook chapter of _toc.yml

inserts the cell as the first cell of each notebook, or updates it there; running it
again changes nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

#: Cell id and tags of the Colab cell (the id lets the command find and update it).
CELL_ID = "catapult-colab-install"
TAGS = ["remove-cell", "colab"]

_TEMPLATE = '''\
# Google Colab only: install the book's pinned stack and the catapult package.
# Anywhere else this cell does nothing (python -m catapult colab-cell writes it).
import os as _os, sys as _sys
if "google.colab" in _sys.modules or "COLAB_RELEASE_TAG" in _os.environ:
    import importlib.metadata as _md, subprocess as _sp, warnings as _w
    _loaded = {{}}  # top-level modules the runtime has imported, with their versions
    with _w.catch_warnings():
        _w.simplefilter("ignore")  # some modules deprecate their __version__
        for _n, _m in list(_sys.modules.items()):
            try:
                _v = getattr(_m, "__version__", None) if "." not in _n else None
            except Exception:
                _v = None
            if isinstance(_v, str):
                _loaded[_n] = _v
    _sp.run([_sys.executable, "-m", "pip", "install", "-q",
             "-r", "{requirements_url}",
             "git+{repo_url}@{branch}"], check=True)
    _norm = lambda v: tuple(int(p) if p.isdigit() else p for p in v.replace("-", ".").replace("+", ".").split("."))
    _stale = []
    for _n, _v in _loaded.items():
        try:
            if _norm(_md.version(_n)) != _norm(_v):
                _stale.append(_n)
        except Exception:
            pass
    if _stale:
        print("Installed. Restart the runtime now (Runtime > Restart session), then run all cells: "
              "already imported modules changed version: " + ", ".join(sorted(_stale)))
    else:
        print("Installed; no restart needed.")
'''


def repository(root: Path) -> tuple[str, str]:
    """(repository URL, branch) from ``_config.yml``'s ``repository`` section."""
    import yaml

    config = yaml.safe_load((Path(root) / "_config.yml").read_text(encoding="utf-8")) or {}
    repo = config.get("repository") or {}
    url = str(repo.get("url", "")).rstrip("/")
    if not url.startswith("https://github.com/"):
        raise ValueError(
            f"_config.yml's repository.url must be a https://github.com/OWNER/NAME URL (got {url!r}): "
            "the Colab cell installs requirements.txt and catapult from it."
        )
    return url.removesuffix(".git"), str(repo.get("branch") or "main")


def cell_source(root: Path) -> str:
    """The canonical text of the Colab cell for the book in ``root``."""
    url, branch = repository(root)
    raw = url.replace("https://github.com/", "https://raw.githubusercontent.com/", 1)
    return _TEMPLATE.format(
        requirements_url=f"{raw}/{branch}/requirements.txt", repo_url=url, branch=branch
    ).rstrip("\n")


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
