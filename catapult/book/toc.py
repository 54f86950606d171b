"""The book's layout: its root folder, the pages and chapters ``_toc.yml`` lists, the results page."""

from __future__ import annotations

from pathlib import Path

from .errors import BuildError

__all__ = ["RESULTS_PAGE", "ROOT", "book_root", "toc_entries", "toc_notebooks"]

#: The book's root folder (the one with ``_toc.yml``) when catapult runs from a checkout.
ROOT = Path(__file__).resolve().parent.parent.parent
#: The toc entry of the generated results page.
RESULTS_PAGE = "book/results"


def book_root(given: str | Path | None = None) -> Path:
    """The book to build: ``given`` if set; else the current folder if it holds ``_toc.yml`` (a
    checkout's root, or any folder with the book's sources when catapult is installed from a wheel);
    else the checkout this package lives in (:data:`ROOT`)."""
    if given is not None:
        root = Path(given).expanduser().resolve()
        if not (root / "_toc.yml").is_file():
            raise BuildError(f"{root} has no _toc.yml: give the book's folder (a clone of the repository).")
        return root
    cwd = Path.cwd()
    return cwd if (cwd / "_toc.yml").is_file() else ROOT


def toc_entries(root: Path) -> list[str]:
    """Every ``file`` of ``_toc.yml`` (root first), in reading order, without suffixes."""
    import yaml

    toc_path = root / "_toc.yml"
    if not toc_path.exists():
        raise BuildError(f"no _toc.yml in {root}: run the build from the book's root folder.")
    toc = yaml.safe_load(toc_path.read_text(encoding="utf-8"))
    files = [toc["root"]] if "root" in toc else []

    def walk(node):
        if isinstance(node, dict):
            if "file" in node:
                files.append(node["file"])
            for key in ("parts", "chapters", "sections"):
                for child in node.get(key, []) or []:
                    walk(child)
        elif isinstance(node, list):
            for child in node:
                walk(child)

    walk({k: v for k, v in toc.items() if k != "root"})
    return [str(Path(f).with_suffix("")) if Path(f).suffix in (".ipynb", ".md") else f for f in files]


def toc_notebooks(root: Path) -> list[Path]:
    """The chapters that are notebooks (paths relative to ``root``), in toc order."""
    return [Path(f + ".ipynb") for f in toc_entries(root) if (root / (f + ".ipynb")).exists()]
