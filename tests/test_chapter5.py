"""Chapter 5's measurement records and claims (catapult.chapters.generalization): on small records built by hand, the claims give the chapter's ids and a claim fails
when its measured value is beyond its bound; readouts compute what the prose quotes, and every name a
glue record carries is one the chapter's prose uses."""

import json
import re
from pathlib import Path

import numpy as np
import pytest

from catapult import protocols, settings
from catapult.chapters import generalization as ch5

CHAPTER = "05_generalization"
ROOT = Path(__file__).resolve().parent.parent


def record(cls, **fields):
    """A NamedTuple ``cls`` with ``fields`` set and every other field None."""
    return cls(**{name: fields.pop(name, None) for name in cls._fields}, **fields)


def by_id(checks):
    return {c.id: c for c in checks}


def prose_names(chapter: str) -> set[str]:
    nb = json.loads((ROOT / "book" / f"{chapter}.ipynb").read_text(encoding="utf-8"))
    text = "".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")
    return set(re.findall(r"\{glue:text\}`([^`]+)`", text))


CH5_IDS = [
    "fig4_fixed_step_best_above_crit", "fig4_physical_time_best_not_below_crit", "fig5_cnn_fixed_step_best_above_crit",
    "fig5_cnn_physical_time_best_not_below_crit", "collapse_beyond_max_rate",
]


def ch5_summary(best=2.0, gap=(0.01, 0.02), collapsed=(True, True), largest=32.0):
    return ch5.Summary(fixed=ch5.Best(best, 0.9, 0.01), phys=ch5.Best(best, 0.9, 0.01), gap=gap,
                       collapsed=np.array(collapsed), largest_rel=largest)


def test_ch5_claims_ids_and_bounds():
    cfg = settings("05_generalization", "smoke")
    checks = ch5.claims(cfg, ch5_summary(), {"cnn": ch5_summary(largest=45.0)})
    assert [c.id for c in checks] == CH5_IDS
    assert all(c.holds for c in checks)
    assert "(32 and 45 η_crit" in checks[-1].statement
    bad = by_id(ch5.claims(cfg, ch5_summary(best=0.8, gap=(-0.05, 0.02)), {"cnn": ch5_summary(collapsed=(True, False))}))
    assert not bad["fig4_fixed_step_best_above_crit"].holds
    assert not bad["fig4_physical_time_best_not_below_crit"].holds
    assert not bad["collapse_beyond_max_rate"].holds and bad["collapse_beyond_max_rate"].measured == "3/4"
    assert bad["fig5_cnn_fixed_step_best_above_crit"].holds


def test_ch5_summary_of_a_comparison():
    cfg = settings("05_generalization", "smoke")
    rel = np.array([0.5, 2.0, 32.0])
    fixed = np.array([[0.5, 0.8, 0.12], [0.6, 0.9, np.nan]])  # seed 1 diverged at the largest rate
    run = record(protocols.Comparison, fixed_test_acc=fixed, phys_test_acc=np.array([[0.5, 0.7, 0.1], [0.5, 0.7, 0.1]]),
                 divergent=np.array([[False, False, False], [False, False, True]]), fit_step=np.array([[3, -1, -1]] * 2))
    s = ch5.summary(cfg, rel, run)
    assert s.fixed.rel == 2.0 and s.fixed.mean == pytest.approx(0.85) and s.phys.rel == 2.0
    assert s.gap[0] == pytest.approx(0.2) and s.largest_rel == 32.0
    assert s.collapsed.tolist() == [True, True]
    r = ch5.fc_readout(cfg, np.array([4.0, 4.0]), rel, run, s)
    assert r.fc_fixed_best == 2.0 and r.fc_fitted == "2 of 6" and r.fc_lazy_fixed == pytest.approx(0.55)
    assert r.fc_eta_crit == pytest.approx(0.5) and r.fc_lam0 == "4 ± 0"


# ------------------------------------------------------------------ glue records and prose

#: The chapter's glue records: every name they carry is one the prose uses.
GLUE_RECORDS = [ch5.FCReadout, ch5.CNNReadout, ch5.PaperCost]

#: Glued by the chapter, though its prose does not (yet) quote them.
UNQUOTED: set[str] = set()


@pytest.mark.parametrize("cls", GLUE_RECORDS, ids=lambda c: c.__name__)
def test_glue_records_carry_names_the_prose_uses(cls):
    used = prose_names(CHAPTER) | UNQUOTED
    unused = sorted(set(cls._fields) - used)
    assert not unused, f"{cls.__name__} glues names {CHAPTER}'s prose never uses: {unused}"
