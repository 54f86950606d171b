"""The code is linted (ruff, pyproject.toml's [tool.ruff]) and every module declares its API."""

import ast
import importlib
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "catapult"
MODULES = sorted(
    ".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
    for p in PACKAGE.rglob("*.py")
    if not p.name.startswith("_") or p.name == "__init__.py"
)


def _ruff() -> str:
    exe = Path(sys.executable).with_name("ruff")
    found = str(exe) if exe.exists() else shutil.which("ruff")
    if not found:
        pytest.skip("ruff is not installed (requirements.txt pins it)")
    return found


def test_ruff_passes():
    out = subprocess.run([_ruff(), "check", "--no-cache", "."], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


def test_ruff_flags_a_duplicate_definition(tmp_path):
    """The bug of issue 17 (claims._plain defined twice, the second silently replacing the
    first) is what pyflakes' F811 catches: the configured rules must include it."""
    bad = tmp_path / "dup.py"
    bad.write_text("def f():\n    return 1\n\n\ndef f():\n    return 2\n")
    out = subprocess.run([_ruff(), "check", "--no-cache", "--config", str(ROOT / "pyproject.toml"), str(bad)],
                         capture_output=True, text=True)
    assert out.returncode == 1 and "F811" in out.stdout


def test_pre_commit_runs_the_pinned_ruff():
    pin = re.search(r"^ruff==(\S+)$", (ROOT / "requirements.txt").read_text(), re.M).group(1)
    config = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text())
    (repo,) = [r for r in config["repos"] if r["repo"] == "https://github.com/astral-sh/ruff-pre-commit"]
    assert repo["rev"] == f"v{pin}"


@pytest.mark.parametrize("name", MODULES)
def test_every_public_module_declares_its_api(name):
    module = importlib.import_module(name)
    assert module.__doc__, f"{name} has no docstring"
    assert isinstance(getattr(module, "__all__", None), (list, tuple)), f"{name} has no __all__"
    missing = [n for n in module.__all__ if not hasattr(module, n)]
    assert not missing, f"{name}.__all__ names what it does not define: {missing}"
    # every public function and class defined in the module is declared
    path = Path(module.__file__)
    tree = ast.parse(path.read_text(encoding="utf-8"))
    defined = [n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef)) and not n.name.startswith("_")]
    undeclared = sorted(set(defined) - set(module.__all__))
    assert not undeclared, f"{name} defines public names missing from __all__: {undeclared}"


def test_the_package_names_the_modules_a_reader_uses():
    import catapult

    science = [m.split(".")[1] for m in MODULES if m.count(".") == 1 and m.split(".")[1] not in ("book",)]
    listed = set(re.findall(r":mod:`catapult\.(\w+)`", catapult.__doc__))
    assert set(science) <= listed, f"catapult/__init__.py's docstring misses {sorted(set(science) - listed)}"
