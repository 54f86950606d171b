"""What the first cell of every chapter runs in Google Colab: :func:`setup` adds what Colab lacks.

A chapter's launch button opens its ``.ipynb`` from the repository in Colab, whose default
runtime (Python 3.13, jax 0.7.2, numpy, scipy, optax, matplotlib, frozendict, ipykernel)
already has everything the book needs except neural-tangents and :mod:`catapult`. The cell
(written by the build, :mod:`catapult.book.colab_cell`) installs ``catapult`` from the
repository named in ``_config.yml`` without dependencies, then calls :func:`setup`, which
installs only what is missing: neural-tangents 0.6.5 without its dependencies (its metadata
asks for TensorFlow, which :mod:`catapult.tangents` makes unnecessary) and any of catapult's
own requirements that the runtime does not satisfy. It never reinstalls or upgrades a package
Colab has, so Colab's GPU jax stays, no runtime restart is needed, and it takes seconds.
Outside Colab (no ``google.colab`` module, no ``COLAB_RELEASE_TAG``) the cell prints nothing
and installs nothing. ``CATAPULT_COLAB_SOURCE`` replaces the repository as the place the
cell installs ``catapult`` from (the Colab emulation in ``stacks/`` points it at a checkout).

This module runs inside chapters: it imports nothing of the build (:mod:`catapult.book`).
"""

from __future__ import annotations

import subprocess
import sys
from importlib import metadata
from typing import Callable, Sequence

__all__ = ["NEURAL_TANGENTS", "missing", "plan", "setup"]

#: Installed without dependencies (see catapult.tangents); frozendict is the one it needs beyond jax.
NEURAL_TANGENTS = "neural-tangents==0.6.5"


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

