"""Chapter 6's measurement records and claims (catapult.chapters.large_lrs): on small records built by hand, the claims give the chapter's ids and a claim fails
when its measured value is beyond its bound; readouts compute what the prose quotes, and every name a
glue record carries is one the chapter's prose uses."""

import json
import re
from pathlib import Path

import numpy as np
import pytest

from catapult import settings, sphere
from catapult.chapters import large_lrs as ch6

CHAPTER = "06_where_large_lrs_lead"
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


CH6_IDS = [
    "three_regimes", "best_finetuned_in_2A", "flr_above_plr_helps", "seed_barrier_2A_below_2B",
    "checkpoint_barrier_2A_below_2B", "threshold_above_catapult_edge", "features_sparser_in_2A", "cifar_three_regimes",
    "cifar_best_finetuned_in_regime_2",
]


def ch6_sweep(regime=(1, 2, 2, 3), threshold=5e-3):
    return record(ch6.PLRSweep, plrs=np.array([1e-3, 1e-2, 2e-2, 0.1]), regime=np.array(regime), threshold=threshold)


def ch6_records(seed_z=3.0, margin=1.5, regime=(1, 2, 2, 3)):
    stats_ = lambda z: ch6.BarrierStats(0.01, 0.002, 0.03, 0.004, 0.05, 0.01, z)  # noqa: E731
    return dict(
        reg=ch6_sweep(regime),
        tuned=record(ch6.FineTuning, best_in_2a=np.array([True, True, True]), gain_z=2.5),
        geo=record(ch6.Geometry, seed=stats_(seed_z), ckpt=stats_(4.0)),
        feats=record(ch6.Features, n_eff_z=3.5),
        e=record(ch6.Edge, eta_crit=1e-3),
        creg=ch6_sweep((1, 1, 2, 3), threshold=1e-2),
        ctuned=record(ch6.CifarFineTuning, margin=margin),
    )


def test_ch6_claims_ids_and_bounds():
    checks = ch6.claims(**ch6_records())
    assert [c.id for c in checks] == CH6_IDS
    assert all(c.holds for c in checks)
    assert by_id(checks)["threshold_above_catapult_edge"].measured == pytest.approx(5.0)
    assert not by_id(ch6.claims(**ch6_records(seed_z=1.9)))["seed_barrier_2A_below_2B"].holds
    assert not by_id(ch6.claims(**ch6_records(margin=-0.1)))["cifar_best_finetuned_in_regime_2"].holds
    assert not by_id(ch6.claims(**ch6_records(regime=(1, 3, 2, 3))))["three_regimes"].holds


def test_ch6_regime_readouts():
    cfg = settings("06_where_large_lrs_lead", "smoke")
    reg = ch6_sweep()._replace(random_walk=0.1, random_above=0.6, sub_a=np.array([False, True, False, False]),
                               sub_b=np.array([False, False, True, False]), mixed=np.zeros(4, bool))
    r = ch6.regimes_readout(cfg, reg)
    assert (r.plrs_2a, r.plrs_2b, r.plrs_mixed) == ("0.01", "0.02", "none")
    e = ch6.edge(reg, np.array([1000.0, 1000.0]), np.array([[900.0, 1100.0], [50.0, 50.0], [80.0, 120.0], [1.0, 1.0]]))
    er = ch6.edge_readout(reg, e)
    assert er.eta_crit == pytest.approx(2e-3) and er.thr_ratio == pytest.approx(2.5)
    assert er.edge_1 == pytest.approx(1.1) and er.catapult_plrs == "none"
    assert ch6.barriers(ch6_records()["geo"]).bar_seed_b == pytest.approx(3.0)


def test_ch6_sweep_sorts_regimes():
    cfg = settings("06_where_large_lrs_lead", "smoke")
    plrs = np.array([1e-3, 2e-3, 3e-2, 1.0])  # threshold √(1e-3 · 2e-3): 2A up to twice that
    late = np.array([0.01, 0.2, 0.3, 0.69])[:, None, None] * np.ones((4, 2, 8))  # (P, S, records)
    acc = np.array([1.0, 0.9, 0.8, 0.5])[:, None, None] * np.ones((4, 2, 8))
    late[:, :, 0] = 0.7  # the loss at initialization
    runs = record(sphere.Runs, loss=late, accuracy=acc, steps=np.arange(8), diverged=np.zeros((4, 2), bool))
    reg = ch6.regimes(cfg, plrs, runs)
    assert reg.regime.tolist() == [1, 2, 2, 3] and reg.ordered
    assert reg.sub_a.tolist() == [False, True, False, False] and reg.sub_b.tolist() == [False, False, True, False]
    assert "diverged runs: 0" in ch6.regime_table(reg, runs)
    creg = ch6.cifar_regimes(cfg.cifar, plrs, runs)
    assert creg.sub_a is None and creg.in3.tolist() == [False, False, False, True]


# ------------------------------------------------------------------ glue records and prose

#: The chapter's glue records: every name they carry is one the prose uses.
GLUE_RECORDS = [
    ch6.Invariance, ch6.ProseSettings, ch6.RegimesReadout, ch6.FineTuningReadout, ch6.Barriers, ch6.Angles,
    ch6.FeaturesReadout, ch6.EdgeReadout, ch6.CifarSettings, ch6.CifarRegimesReadout, ch6.CifarAccuracy,
    ch6.CifarBarriers, ch6.PaperGrid, ch6.PaperCost,
]

#: Glued by the chapter, though its prose does not (yet) quote them.
UNQUOTED: set[str] = {"ft_seeds", "ang_ckpt_1", "paper_seeds"}


@pytest.mark.parametrize("cls", GLUE_RECORDS, ids=lambda c: c.__name__)
def test_glue_records_carry_names_the_prose_uses(cls):
    used = prose_names(CHAPTER) | UNQUOTED
    unused = sorted(set(cls._fields) - used)
    assert not unused, f"{cls.__name__} glues names {CHAPTER}'s prose never uses: {unused}"
