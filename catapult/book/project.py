"""The project as the outside world knows it, read from ``pyproject.toml``: its version, its
repository and site, and the release tag that the source chapters' Colab cell installs
(``v<version>``; the chapters rendered for Colab install the commit they were built from).

``pyproject.toml``'s ``[project.urls]`` is the one place the repository's address is written:
the Colab cell (:mod:`catapult.book.colab_cell`) and the site's ``_config.yml``
(:mod:`catapult.book.site`) are made from it, and ``tests/test_release.py`` checks every other
mention (``CITATION.cff``, the README, the intro's citation) against it.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from .errors import BuildError

__all__ = ["Project", "project"]


@dataclass(frozen=True)
class Project:
    """What ``pyproject.toml`` says of the book."""

    name: str
    version: str
    #: https://github.com/OWNER/NAME
    repository: str
    #: where the built site is published
    site: str

    @property
    def release(self) -> str:
        """The git tag of this version (``v0.6.0``): what the source chapters' Colab cell installs."""
        return f"v{self.version}"

    @property
    def owner_and_name(self) -> str:
        return self.repository.removeprefix("https://github.com/")


def project(root: Path) -> Project:
    """The :class:`Project` of the book whose ``pyproject.toml`` is in ``root``."""
    path = Path(root) / "pyproject.toml"
    try:
        meta = tomllib.loads(path.read_text(encoding="utf-8"))["project"]
    except (OSError, KeyError, tomllib.TOMLDecodeError) as err:
        raise BuildError(f"cannot read the project's name, version and URLs from {path}: {err}") from None
    urls = meta.get("urls", {})
    repo = str(urls.get("Repository", "")).rstrip("/").removesuffix(".git")
    if not repo.startswith("https://github.com/") or repo.count("/") != 4:
        raise BuildError(
            f"{path}: [project.urls] Repository must be a https://github.com/OWNER/NAME address (got {repo!r}): "
            "the Colab cell installs catapult from it and the site's buttons link to it."
        )
    return Project(meta["name"], str(meta["version"]), repo, str(urls.get("Documentation", "")).rstrip("/"))
