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
