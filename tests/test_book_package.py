"""The build is a package of its own (catapult/book/): chapters and science modules never import
it, each of its modules imports alone, and editing it re-executes no chapter."""

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from catapult.book import execute

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "catapult"
BUILD = PACKAGE / "book"
BUILD_MODULES = sorted(p.stem for p in BUILD.glob("*.py") if p.stem != "__init__")
#: Every module of catapult outside the build, but the command-line entry point (which calls the build).
SCIENCE = [p for p in execute.science_sources(PACKAGE)
           if p.suffix == ".py" and p.relative_to(PACKAGE).as_posix() != "__main__.py"]
NOTEBOOKS = sorted((ROOT / "book").rglob("*.ipynb"))


def build_imports(source: str, package: str | None = None) -> list[str]:
    """The imports of catapult.book in ``source`` (Python code), as written; ``package``: the dotted
    package the code belongs to, to resolve relative imports (None for a notebook)."""

    def absolute(module: str | None, level: int) -> str:
        if not level:
            return module or ""
        base = (package or "").split(".")
        base = base[: len(base) - (level - 1)] if level > 1 else base
        return ".".join([*base, module] if module else base)

    def is_build(name: str) -> bool:
        return name == "catapult.book" or name.startswith("catapult.book.")

    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names if is_build(a.name)]
        elif isinstance(node, ast.ImportFrom):
            module = absolute(node.module, node.level)
            if is_build(module) or any(is_build(f"{module}.{a.name}") for a in node.names):
                found.append(f"from {'.' * node.level}{node.module or ''} import {', '.join(a.name for a in node.names)}")
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            func = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            if func in ("import_module", "__import__") and is_build(str(node.args[0].value)):
                found.append(f"{func}({node.args[0].value!r})")
    return found


def test_the_import_scan_finds_every_spelling():
    for code in ("import catapult.book", "import catapult.book.cli as c", "from catapult.book import toc_notebooks",
                 "from catapult.book.execute import input_hash", "from catapult import book",
                 "from catapult import warmup, book", "import importlib; importlib.import_module('catapult.book.site')"):
        assert build_imports(code), code
    for code in ("from .book import main", "from . import book", "from .book.cli import main"):
        assert build_imports(code, package="catapult"), code
    for code in ("import catapult.colab", "from catapult import warmup", "from . import claims", "from .. import claims",
                 '"""see :mod:`catapult.book`"""'):
        assert not build_imports(code, package="catapult"), code
    assert not build_imports("from .. import claims", package="catapult.book")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_no_chapter_imports_the_build(path):
    nb = nbformat.read(path, as_version=4)
    for i, cell in enumerate(c for c in nb.cells if c.cell_type == "code"):
        # IPython magics and shell escapes are not Python; the rest of the cell is.
        code = "\n".join(line for line in cell.source.splitlines() if not line.lstrip().startswith(("%", "!")))
        assert not build_imports(code), f"{path.name}, code cell {i + 1}: chapters never import catapult.book"


@pytest.mark.parametrize("path", SCIENCE, ids=lambda p: p.relative_to(PACKAGE).as_posix())
def test_no_science_module_imports_the_build(path):
    rel = path.relative_to(ROOT).with_suffix("")
    found = build_imports(path.read_text(encoding="utf-8"), package=".".join(rel.parts[:-1]))
    assert not found, f"{path.relative_to(ROOT)} imports the build: {found}"


def test_the_science_modules_are_the_package_without_the_build():
    names = {p.relative_to(PACKAGE).as_posix() for p in execute.science_sources(PACKAGE)}
    assert {"__init__.py", "colab.py", "claims.py", "warmup.py", "scales.py"} <= names
    assert not any(n.startswith("book/") for n in names)
    # the data a chapter reads is in the cache key too: the explorer's script lands in chapter 1's output
    assert {"static/warmup-explorer.js", "static/warmup-explorer.css"} <= names


@pytest.mark.parametrize("name", BUILD_MODULES)
def test_each_build_module_imports_alone_in_a_fresh_interpreter(name):
    proc = subprocess.run([sys.executable, "-c", f"import catapult.book.{name}"], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr


def test_the_colab_module_loads_nothing_of_the_build():
    code = "import sys, catapult.colab; print(sorted(m for m in sys.modules if m.startswith('catapult.book')))"
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert (proc.returncode, proc.stdout.strip()) == (0, "[]"), proc.stderr


@pytest.mark.parametrize("path", sorted(BUILD.glob("*.py")), ids=lambda p: p.name)
def test_every_build_module_has_a_docstring_and_all(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    assert ast.get_docstring(tree), f"{path.name}: no module docstring"
    names = [t.id for node in tree.body if isinstance(node, ast.Assign) for t in node.targets if isinstance(t, ast.Name)]
    assert "__all__" in names, f"{path.name}: no __all__"


def test_editing_the_build_keeps_the_cache_key_and_editing_the_science_changes_it(tmp_path, monkeypatch):
    package = tmp_path / "catapult"  # a copy of the sources, so that they can be edited
    shutil.copytree(PACKAGE, package, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(execute, "PACKAGE_DIR", package)
    root = tmp_path / "src"
    (root / "book").mkdir(parents=True)
    nbformat.write(nbformat.v4.new_notebook(), root / "book" / "ch.ipynb")
    (root / "requirements.txt").write_text("numpy\n")
    rel = Path("book/ch.ipynb")
    key = execute.input_hash(root, rel, "smoke")
    assert key == execute.input_hash(root, rel, "smoke") and len(key) == 64
    for name in ("cli.py", "execute.py", "site.py", "provenance.py", "colab_cell.py"):  # the build
        with open(package / "book" / name, "a") as f:
            f.write("\n# edited\n")
    (package / "book" / "new_step.py").write_text('"""A new build module."""\n')
    assert execute.input_hash(root, rel, "smoke") == key
    with open(package / "warmup.py", "a") as f:  # a science module
        f.write("\n# edited\n")
    edited = execute.input_hash(root, rel, "smoke")
    assert edited != key
    with open(package / "colab.py", "a") as f:  # what a chapter runs on Colab is science too
        f.write("\n# edited\n")
    assert execute.input_hash(root, rel, "smoke") != edited
    assert execute.input_hash(root, rel, "ci") != execute.input_hash(root, rel, "smoke")
