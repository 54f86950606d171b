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


def test_code_cells_are_short_and_claims_cells_hidden_13():
    """Chapters 1-3 (issue 17, item 5): no code cell over 30 lines (the logic lives in
    catapult.chapters), and the cell that reports the claims shows the reader the table, not the code."""
    for stem in ("01_warmup_model", "02_full_model", "03_linearization"):
        nb = json.loads((ROOT / "book" / f"{stem}.ipynb").read_text(encoding="utf-8"))
        code = [c for c in nb["cells"] if c["cell_type"] == "code"]
        long = {i: n for i, c in enumerate(code) if (n := len("".join(c["source"]).splitlines())) > 30}
        assert not long, f"{stem}: code cells (index: lines) over 30 lines: {long}"
        report = [c for c in code if "claims.report(" in "".join(c["source"])]
        assert len(report) == 1, f"{stem}: {len(report)} cells call claims.report, expected 1"
        assert "hide-input" in report[0].get("metadata", {}).get("tags", []), f"{stem}: tag the claims cell hide-input"


@pytest.mark.parametrize("stem", ["04_deep_curvature", "05_generalization", "06_where_large_lrs_lead"])
def test_code_cells_are_short_and_claims_cells_hidden_46(stem):
    """Chapters 4-6 (issue 17): no code cell over 30 lines; the cell that reports the claims shows
    the reader its table, not its code."""
    nb = json.loads((ROOT / "book" / f"{stem}.ipynb").read_text(encoding="utf-8"))
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    long = [(i, n) for i, c in enumerate(code) if (n := len("".join(c["source"]).splitlines())) > 30]
    assert not long, f"{stem}: code cells (index among code cells, lines) over 30 lines: {long}"
    reporting = [c for c in code if "claims.report(" in "".join(c["source"])]
    assert len(reporting) == 1, f"{stem}: {len(reporting)} cells call claims.report"
    assert "hide-input" in reporting[0].get("metadata", {}).get("tags", []), f"{stem}: the claims cell is not hide-input"
