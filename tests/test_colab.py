"""The Colab cell: one canonical text, first in every chapter, inert outside Colab, installing inside it."""

import ast
import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from catapult import book, colab

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = book.toc_notebooks(ROOT)
SOURCE = colab.cell_source(ROOT)


@pytest.mark.parametrize("rel", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_chapter_starts_with_the_canonical_colab_cell(rel):
    nb = nbformat.read(ROOT / rel, as_version=4)
    first = colab.first_code_cell(nb)
    assert first is not None and first.source == SOURCE, (
        f"{rel}: the first code cell is not the Colab cell; run `python -m catapult colab-cell {rel}`"
    )
    assert "remove-cell" in first.metadata.get("tags", []) and not first.outputs
    assert sum(colab.is_colab_cell(c) for c in nb.cells) == 1


def test_the_cell_installs_from_the_configured_repository_and_never_imports_catapult():
    assert "https://raw.githubusercontent.com/catapult-book/catapult-book/main/requirements.txt" in SOURCE
    assert "git+https://github.com/catapult-book/catapult-book@main" in SOURCE
    imported = set()
    for node in ast.walk(ast.parse(SOURCE)):
        if isinstance(node, ast.Import):
            imported |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            imported.add((node.module or "").split(".")[0])
    assert imported <= {"os", "sys", "importlib", "subprocess", "warnings"}


def test_outside_colab_the_cell_is_silent_and_installs_nothing():
    env = {k: v for k, v in __import__("os").environ.items() if k != "COLAB_RELEASE_TAG"}
    # -I: isolated, so nothing but the cell runs; a pip call would print or fail without network.
    proc = subprocess.run([sys.executable, "-I", "-c", SOURCE], capture_output=True, text=True, env=env, timeout=60)
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "", "")


def test_outside_colab_the_cell_calls_nothing(monkeypatch, capsys):
    monkeypatch.delenv("COLAB_RELEASE_TAG", raising=False)
    monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    monkeypatch.setattr(subprocess, "run", lambda *a, **k: pytest.fail("the cell ran a command outside Colab"))
    exec(compile(SOURCE, "colab-cell", "exec"), {})
    assert capsys.readouterr() == ("", "")


@pytest.mark.parametrize(
    "loaded, installed, restart",
    [("1.2.0", "1.2.0", False), ("2025.01.31", "2025.1.31", False), ("0.0", "9.9", True)],
    ids=["same", "same-normalized", "changed"],
)
def test_in_colab_the_cell_pip_installs_and_says_whether_to_restart(monkeypatch, capsys, loaded, installed, restart):
    import importlib.metadata as md
    import types

    calls = []
    monkeypatch.setenv("COLAB_RELEASE_TAG", "release-colab-test")
    monkeypatch.setattr(subprocess, "run", lambda cmd, **kw: calls.append(cmd))
    # A module the runtime had imported; no other loaded module is known to pip here.
    monkeypatch.setitem(sys.modules, "pytest_fake_module", types.SimpleNamespace(__version__=loaded))

    def version(name):
        if name == "pytest_fake_module":
            return installed
        raise md.PackageNotFoundError(name)

    real, md.version = md.version, version  # only while the cell runs (pytest's plugins use it too)
    try:
        exec(compile(SOURCE, "colab-cell", "exec"), {})
    finally:
        md.version = real
    (cmd,) = calls
    assert cmd[:4] == [sys.executable, "-m", "pip", "install"] and "-r" in cmd
    assert cmd[-1] == "git+https://github.com/catapult-book/catapult-book@main"
    printed = capsys.readouterr().out
    if restart:
        assert "Restart the runtime" in printed and "pytest_fake_module" in printed
    else:
        assert printed == "Installed; no restart needed.\n"


def test_colab_cell_command_inserts_updates_and_is_idempotent(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_markdown_cell("# T"), nbformat.v4.new_code_cell("x = 1")]
    path = tmp_path / "ch.ipynb"
    nbformat.write(nb, path)
    assert colab.apply(path, ROOT) is True
    first_text = path.read_text()
    assert colab.apply(path, ROOT) is False and path.read_text() == first_text
    got = nbformat.read(path, as_version=4)
    assert [c.cell_type for c in got.cells] == ["code", "markdown", "code"]
    assert got.cells[0].source == SOURCE and got.cells[0].outputs == [] and got.cells[0].execution_count is None
    # An outdated copy of the cell (e.g. after the repository moved) is replaced in place, once.
    got.cells[0].source = "# old"
    nbformat.write(got, path)
    assert colab.apply(path, ROOT) is True and path.read_text() == first_text
    assert book.main(["colab-cell", str(path)]) == 0


def test_colab_cell_command_rejects_non_notebooks(tmp_path, capsys):
    assert book.main(["colab-cell", str(tmp_path / "nope.txt")]) == 1
    assert "not a notebook" in capsys.readouterr().err


def test_a_non_github_repository_is_refused(tmp_path):
    (tmp_path / "_config.yml").write_text("repository:\n  url: https://example.com/x\n")
    with pytest.raises(ValueError, match="github.com"):
        colab.cell_source(tmp_path)
