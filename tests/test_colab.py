"""The Colab cell: one canonical text, first in every chapter, inert outside Colab, installing inside it."""

import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
import yaml

from catapult import colab
from catapult.book import BuildError, cli, colab_cell, site, toc_notebooks
from catapult.book.project import project

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = toc_notebooks(ROOT)
SOURCE = colab_cell.cell_source(ROOT)


@pytest.mark.parametrize("rel", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_chapter_starts_with_the_canonical_colab_cell(rel):
    nb = nbformat.read(ROOT / rel, as_version=4)
    first = colab_cell.first_code_cell(nb)
    assert first is not None and first.source == SOURCE, (
        f"{rel}: the first code cell is not the Colab cell; run `python -m catapult colab-cell {rel}`"
    )
    assert "remove-cell" in first.metadata.get("tags", []) and not first.outputs
    assert sum(colab_cell.is_colab_cell(c) for c in nb.cells) == 1


def test_the_cell_installs_this_release_of_catapult_from_the_repository_without_dependencies():
    proj = project(ROOT)  # pyproject.toml: the repository and the version
    assert f'"git+{proj.repository}@v{proj.version}"' in SOURCE and "@main" not in SOURCE
    assert '"--no-deps"' in SOURCE and "-r" not in SOURCE.split()  # no requirements file: nothing Colab has
    assert len(SOURCE.splitlines()) <= 8, "the cell stays a few lines; its logic lives in catapult.colab"


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


def test_in_colab_the_cell_installs_catapult_then_calls_setup(monkeypatch):
    calls = []
    monkeypatch.setenv("COLAB_RELEASE_TAG", "release-colab-test")
    monkeypatch.delenv("CATAPULT_COLAB_SOURCE", raising=False)
    monkeypatch.setattr(subprocess, "run", lambda cmd, **kw: calls.append(cmd))
    monkeypatch.setattr(colab, "setup", lambda: calls.append("setup"))
    exec(compile(SOURCE, "colab-cell", "exec"), {})
    proj = project(ROOT)
    assert calls == [[sys.executable, "-m", "pip", "install", "-q", "--no-deps",
                      f"git+{proj.repository}@v{proj.version}"], "setup"]


COLAB = {  # stacks/colab.txt: what Colab's default runtime has
    n.lower().replace("_", "-"): v
    for n, v in (l.split("==") for l in (ROOT / "stacks" / "colab.txt").read_text().splitlines()
                 if l and not l.startswith("#"))
}


def colab_installed(name):
    return COLAB.get(name.lower().replace("_", "-"))


def test_on_colabs_packages_setup_installs_only_neural_tangents(monkeypatch, capsys):
    calls = []
    monkeypatch.setattr(colab, "_installed", colab_installed)
    to_install = colab.setup(run=lambda cmd, **kw: calls.append(cmd))
    assert to_install == ["neural-tangents==0.6.5"]
    assert calls == [[sys.executable, "-m", "pip", "install", "-q", "--no-deps", "neural-tangents==0.6.5"]]
    assert "no package Colab had was changed" in capsys.readouterr().out


def test_setup_installs_nothing_twice_and_never_touches_a_conflicting_package(monkeypatch, capsys):
    have = dict(COLAB, **{"neural-tangents": "0.6.5", "numpy": "1.20.0"})
    monkeypatch.setattr(colab, "_installed", lambda n: have.get(n.lower().replace("_", "-")))
    calls = []
    assert colab.setup(run=lambda cmd, **kw: calls.append(cmd)) == [] and calls == []
    out = capsys.readouterr().out
    assert "numpy>=1.26" in out and "Nothing was changed" in out


def test_missing_reads_ranges_and_markers():
    have = {"a": "1.0", "b": "2.0"}.get
    assert colab.missing(["a>=1", "b>=3", "c", 'd; python_version < "3"'], have) == ["b>=3", "c"]


def test_colab_cell_command_inserts_updates_and_is_idempotent(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_markdown_cell("# T"), nbformat.v4.new_code_cell("x = 1")]
    path = tmp_path / "ch.ipynb"
    nbformat.write(nb, path)
    assert colab_cell.apply(path, ROOT) is True
    first_text = path.read_text()
    assert colab_cell.apply(path, ROOT) is False and path.read_text() == first_text
    got = nbformat.read(path, as_version=4)
    assert [c.cell_type for c in got.cells] == ["code", "markdown", "code"]
    assert got.cells[0].source == SOURCE and got.cells[0].outputs == [] and got.cells[0].execution_count is None
    # An outdated copy of the cell (e.g. after the repository moved) is replaced in place, once.
    got.cells[0].source = "# old"
    nbformat.write(got, path)
    assert colab_cell.apply(path, ROOT) is True and path.read_text() == first_text
    assert cli.main(["colab-cell", str(path)]) == 0


def test_colab_cell_command_rejects_non_notebooks(tmp_path, capsys):
    assert cli.main(["colab-cell", str(tmp_path / "nope.txt")]) == 1
    assert "not a notebook" in capsys.readouterr().err


def test_a_non_github_repository_is_refused(tmp_path):
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "x"\nversion = "1.0"\n[project.urls]\nRepository = "https://example.com/x"\n')
    with pytest.raises(BuildError, match="github.com"):
        colab_cell.cell_source(tmp_path)


def test_the_site_opens_colab_on_the_branch_of_the_rendered_chapters():
    from catapult.book.colab_pages import BRANCH

    config = yaml.safe_load(site.site_config(ROOT))
    proj = project(ROOT)
    assert config["repository"]["url"] == proj.repository and config["repository"]["branch"] == BRANCH == "colab"
    workflow = (ROOT / ".github" / "workflows" / "publish.yml").read_text(encoding="utf-8")
    assert "bash .ci/push-colab site/colab" in workflow and "contents: write" in workflow
    script = (ROOT / ".ci" / "push-colab").read_text(encoding="utf-8")
    assert f"\nbranch={BRANCH}  #" in script, "the publish workflow pushes the rendered chapters to the branch Colab opens"
    assert "url" not in (yaml.safe_load((ROOT / "_config.yml").read_text())["repository"] or {}), (
        "the repository's address lives in pyproject.toml only")
