"""The README and the manual (book/working-on-the-book.md) name only what exists, and the manual
names every module and test file: documentation that cannot go stale silently."""

import re
import shlex
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
MANUAL = ROOT / "book" / "working-on-the-book.md"
DOCS = [README, MANUAL]

#: Paths a document may name that are made by a run, not kept in the repository.
MADE = ("_build", ".venv", ".stacks", ".carry", "~", "$", "<")
_PATH = re.compile(r"^(?:\.ci|\.github|_static|book|benchmarks|catapult|stacks|tests)/[\w./*-]*$"
                   r"|^[\w.-]+\.(?:py|md|yml|yaml|txt|toml|cff|json|sh|ipynb|css|js|bib)$")


def backticked(text: str) -> list[str]:
    """The contents of inline code spans and the lines of code blocks."""
    blocks = re.findall(r"```[^\n]*\n(.*?)```", text, re.S)
    inline = re.findall(r"`([^`\n]+)`", re.sub(r"```.*?```", "", text, flags=re.S))
    return inline + [line for b in blocks for line in b.splitlines()]


def named_paths(text: str) -> set[str]:
    words = {w.rstrip(".,;:)").lstrip("(") for span in backticked(text) for w in span.split()}
    return {w for w in words if _PATH.match(w) and not w.startswith(MADE)}


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_every_file_a_document_names_exists(doc):
    names = named_paths(doc.read_text(encoding="utf-8"))
    assert len(names) > 2, "the pattern found nothing to check"
    missing = []
    for name in sorted(names):
        if "*" in name:
            if not list(ROOT.glob(name)):
                missing.append(name)
            continue
        # a bare file name (e.g. `colab.txt` in a list about stacks/) may live anywhere in the repository
        if not (ROOT / name).exists() and not ("/" not in name and list(ROOT.glob(f"**/{name}"))):
            missing.append(name)
    assert not missing, f"{doc.name} names files that do not exist: {missing}"


def test_the_manual_names_every_module_and_test_file():
    text = MANUAL.read_text(encoding="utf-8")
    layout = text[text.index("## Layout"):]
    modules = [p for p in (ROOT / "catapult").rglob("*.py") if p.name != "__init__.py" and "__pycache__" not in p.parts]
    unnamed = [str(p.relative_to(ROOT)) for p in modules if p.name not in layout]
    assert not unnamed, f"the manual's layout does not name {unnamed}"
    tests = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "tests").glob("test_*.py"))
    ranges = {f"tests/test_chapter{i}.py" for i in range(2, 6)}  # "test_chapter1.py to test_chapter6.py"
    unnamed = [t for t in tests if t not in text and t not in ranges]
    assert not unnamed, f"the manual's test list does not name {unnamed}"


def _cli_commands() -> set[str]:
    text = (ROOT / "catapult" / "book" / "cli.py").read_text(encoding="utf-8")
    return set(re.findall(r'sub\.add_parser\("([\w-]+)"', text))


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_commands_a_document_gives_exist(doc):
    text = doc.read_text(encoding="utf-8")
    for cmd in re.findall(r"python -m catapult ([\w-]+)", text):
        assert cmd in _cli_commands(), f"{doc.name}: `python -m catapult {cmd}` is not a command"
    stacks_text = (ROOT / "stacks" / "stacks.py").read_text(encoding="utf-8")
    verbs = set(re.search(r"choices=\(([^)]*)\)", stacks_text).group(1).replace('"', "").replace(" ", "").split(","))
    for verb in re.findall(r"stacks/stacks\.py ([\w-]+)", text):
        assert verb in verbs, f"{doc.name}: `stacks.py {verb}` is not a verb of stacks/stacks.py"
    markers = {m.split(":")[0] for m in tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"][
        "ini_options"]["markers"]}
    for expr in re.findall(r'pytest -m "([^"]+)"', text):
        used = set(re.findall(r"[a-z_]+", expr)) - {"not", "and", "or"}
        assert used <= markers, f"{doc.name}: pytest markers {used - markers} are not defined"


def test_the_readme_is_short_and_gives_the_two_commands_ci_runs():
    readme = README.read_text(encoding="utf-8")
    assert len(readme.splitlines()) <= 130, "the README is for a newcomer's two minutes; details go to the manual"
    (block,) = [b for b in re.findall(r"```bash\n(.*?)```", readme, re.S) if "# 1." in b]
    commands = [line for line in block.splitlines() if line and not line.startswith("#")]
    assert len(commands) == 2
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    for command in commands:
        for part in command.split(" && "):
            words = shlex.split(part)
            assert " ".join(words) in ci, f"README's `{part}` is not what .ci/run runs"
    assert "working-on-the-book.md" in readme and "https://arxiv.org/abs/2003.02218" in readme
