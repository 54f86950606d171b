"""Every chapter of the book executes at the smoke scale, and every one of its claims holds."""

import json
from pathlib import Path

import nbformat
import pytest

from catapult import claims
from catapult.book import colab_pages, toc_notebooks
from catapult.book.execute import execute_chapter
from catapult.scales import CHAPTERS

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = toc_notebooks(ROOT)


def test_the_toc_lists_chapters():
    assert NOTEBOOKS, "no notebook chapters in _toc.yml"
    assert {p.stem for p in NOTEBOOKS} <= set(CHAPTERS), "every chapter needs settings in catapult.scales"


@pytest.mark.parametrize("rel", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_source_is_clean_and_parameterised(rel):
    nb = json.loads((ROOT / rel).read_text(encoding="utf-8"))
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert all(not c.get("outputs") and not c.get("execution_count") for c in code), "commit notebooks without outputs"
    tagged = [c for c in code if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1 and "scale" in "".join(tagged[0]["source"])
    # `python -m catapult build --seed K` sets `seed`, which shifts every seed of the settings
    assert "\nseed = 0" in "".join(tagged[0]["source"])
    assert any(f'settings("{rel.stem}", scale).shift_seeds(seed)' in "".join(c["source"]) for c in code)


@pytest.mark.build
@pytest.mark.parametrize("rel", NOTEBOOKS, ids=lambda p: p.stem)
def test_chapter_executes_at_smoke_scale_and_its_claims_hold(rel, tmp_path, monkeypatch):
    monkeypatch.setenv("MPLBACKEND", "Agg")  # the build must still give the kernel inline figures
    result = execute_chapter(ROOT, rel, tmp_path, "smoke")
    assert result.claims and claims.failures(result.claims) == []  # what a scale does not claim never fails
    assert (tmp_path / "claims" / f"{rel.stem}.json").exists()
    executed = json.loads(result.executed.read_text(encoding="utf-8"))
    figures = [o for c in executed["cells"] for o in c.get("outputs", []) if "image/png" in o.get("data", {})]
    assert figures, "the executed chapter shows no figure"
    # as Colab shows it: CommonMark and the notebook's own outputs, no MyST (catapult.book.colab_pages)
    [colab] = colab_pages.write_all(ROOT, tmp_path, [rel])
    rendered = nbformat.read(str(colab), as_version=4)
    assert colab_pages.problems(rendered) == []
    prose = "".join(c.source for c in rendered.cells if c.cell_type == "markdown")
    assert colab_pages.MARK in prose and "{glue" not in prose
