"""Notebook sources in git: no outputs, no execution counts; contributors strip them with nbstripout."""

import json
import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
ALL_NOTEBOOKS = sorted((ROOT / "book").rglob("*.ipynb"))


@pytest.mark.parametrize("path", ALL_NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_sources_carry_no_outputs_or_execution_counts(path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    dirty = [
        i for i, c in enumerate(nb["cells"])
        if c["cell_type"] == "code" and (c.get("outputs") or c.get("execution_count") is not None)
    ]
    assert not dirty, f"{path.name}: cells {dirty} carry outputs or execution counts; run `nbstripout {path}`"


def test_pre_commit_strips_notebooks_with_the_pinned_nbstripout():
    pin = re.search(r"^nbstripout==(\S+)$", (ROOT / "requirements.txt").read_text(), re.M).group(1)
    config = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text())
    (repo,) = [r for r in config["repos"] if r["repo"] == "https://github.com/kynan/nbstripout"]
    assert repo["rev"] == pin
    assert [h["id"] for h in repo["hooks"]] == ["nbstripout"]


CHAPTERS = ["01_warmup_model", "02_full_model", "03_linearization", "04_deep_curvature", "05_generalization",
            "06_where_large_lrs_lead"]
#: What a removed cell may call: it glues numbers for the prose, it runs nothing (issue 29).
GLUE = {"claims.glue", "claims.glue_all"}
ARITHMETIC = {"sum", "len", "min", "max", "float", "int", "round", "abs", "zip"}
PLUMBING = {"values", "items", "keys", "replace", "format"}  # methods of dicts and strings


@pytest.mark.parametrize("stem", CHAPTERS)
def test_code_cells_are_short_and_claims_cells_hidden(stem):
    """No code cell over 30 lines (the engines live in catapult/); the cell that reports the claims
    shows the reader its table, not its code."""
    nb = json.loads((ROOT / "book" / f"{stem}.ipynb").read_text(encoding="utf-8"))
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    long = [(i, n) for i, c in enumerate(code) if (n := len("".join(c["source"]).splitlines())) > 30]
    assert not long, f"{stem}: code cells (index among code cells, lines) over 30 lines: {long}"
    reporting = [c for c in code if "claims.report(" in "".join(c["source"])]
    assert len(reporting) == 1, f"{stem}: {len(reporting)} cells call claims.report"
    assert "hide-input" in reporting[0].get("metadata", {}).get("tags", []), f"{stem}: the claims cell is not hide-input"


@pytest.mark.parametrize("stem", CHAPTERS)
def test_no_experiment_runs_in_a_removed_cell(stem):
    """A cell removed from the page only glues numbers (or adds up run times): every experiment and
    measurement runs where the reader sees it, on the site and in Colab."""
    import ast

    nb = json.loads((ROOT / "book" / f"{stem}.ipynb").read_text(encoding="utf-8"))
    for i, cell in enumerate(nb["cells"]):
        tags = set(cell.get("metadata", {}).get("tags", []))
        if cell["cell_type"] != "code" or not tags & {"remove-cell", "remove-input"} or tags & {"colab", "parameters"}:
            continue
        for node in ast.walk(ast.parse("".join(cell["source"]))):
            if isinstance(node, ast.Call):
                name = ast.unparse(node.func)
                inside_glue = name in GLUE | ARITHMETIC or name.rsplit(".", 1)[-1] in PLUMBING
                assert inside_glue or _in_glue_arguments(node, cell), f"{stem}, cell {i} runs {name}() off the page"


def _in_glue_arguments(call, cell) -> bool:
    """Whether ``call`` sits inside the arguments of a glue call (a readout built for the prose)."""
    import ast

    for node in ast.walk(ast.parse("".join(cell["source"]))):
        if isinstance(node, ast.Call) and ast.unparse(node.func) in GLUE:
            if any(ast.unparse(call) in ast.unparse(arg) for arg in [*node.args, *[k.value for k in node.keywords]]):
                return True
    return False
