"""Chapters 4-6's measurement records and claims (catapult.chapters.deep_curvature, generalization,
large_lrs): on small records built by hand, each chapter's ``claims`` gives its claim ids, and a
claim fails when its measured value is beyond its bound; readouts compute what the prose quotes,
and every name a glue record carries is one the chapter's prose uses."""

import json
import re
from pathlib import Path

import numpy as np
import pytest

from catapult import protocols, settings, sphere, train
from catapult.chapters import deep_curvature as ch4
from catapult.chapters import generalization as ch5
from catapult.chapters import large_lrs as ch6

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


# ------------------------------------------------------------------ chapter 4

CH4_IDS = [
    "lazy_lambda_constant", "catapult_lambda_below_2_over_eta", "spike_short", "relu_trains_above_4",
    "relu_diverges_below_20", "tanh_max_below_relu", "wrn_lazy_lambda_constant", "wrn_catapult_lambda_below_2_over_eta",
    "wrn_spike_short", "wrn_trains_above_4",
]


def ch4_records(lazy_dev=0.03, wrn_spike=4.0):
    fc = ch4.FCChecks(
        eta_max={"relu": 12.0, "tanh": 5.0}, first_div={"relu": 14.0, "tanh": 6.0},
        lazy_dev=np.array([0.01, lazy_dev]), cat_ratio=np.array([0.8, 0.95]), tanh_ratio=np.array([]),
        spike_steps=np.array([3.0, 7.0]),
    )
    wrn = record(ch4.WRNChecks, lazy_dev=np.array([0.02]), cat_ratio=np.array([0.7]),
                 spike_steps=np.array([2.0, wrn_spike]), eta_max=9.0)
    return fc, wrn


def test_ch4_claims_ids_and_bounds():
    cfg = settings("04_deep_curvature", "smoke")
    checks = ch4.claims(cfg, *ch4_records())
    assert [c.id for c in checks] == CH4_IDS
    assert all(c.holds for c in checks)
    assert not by_id(ch4.claims(cfg, *ch4_records(lazy_dev=0.11)))["lazy_lambda_constant"].holds
    assert not by_id(ch4.claims(cfg, *ch4_records(wrn_spike=100.0)))["wrn_spike_short"].holds
    fc, wrn = ch4_records()
    assert not by_id(ch4.claims(cfg, fc._replace(cat_ratio=np.array([0.8, 1.2])), wrn))[
        "catapult_lambda_below_2_over_eta"].holds


def test_ch4_fc_readout():
    fc, _ = ch4_records()
    r = ch4.fc_readout(fc)
    assert r.lazy_dev_max == pytest.approx(3.0) and r.n_lazy == 2 and r.n_cat == 2 and r.spike_max == 7.0
    assert r.tanh_ratio == "n/a" and r.relu_eta_max == 12.0 and r.tanh_first_div == 6.0
    assert ch4.fc_readout(fc._replace(tanh_ratio=np.array([0.97, 1.04]))).tanh_ratio == "0.97–1.04"


def test_ch4_fc_checks_reads_a_sweep():
    cfg = settings("04_deep_curvature", "smoke")
    factors = np.asarray(cfg.eta_over_crit)
    n, lam0 = factors.size, 2.0
    etas = factors * 2 / lam0
    div = factors > 5  # the largest rates diverge
    steps = np.arange(0, 11)
    loss = np.tile(np.linspace(1.0, 0.5, steps.size), (n, 1))
    loss[:, 1] = np.where(factors > 1, 3.0, loss[:, 1])  # a spike at step 1 above η_crit
    run = record(train.Run, etas=etas, loss_steps=steps, loss=loss, divergent=div,
                 lam_steps=np.array([0, 5]), lam=np.full((n, 2), lam0), lam_times=np.array([1.0]),
                 lam_at=np.where(factors[:, None] > 1, 0.9 * 2 / etas[:, None], lam0))
    sweep = ch4.FCSweep(lam0=lam0, tau=1.0, run=run, steps=10, seconds=0.0)
    c = ch4.fc_checks(cfg, {"relu": sweep, "tanh": sweep})
    assert c.eta_max["relu"] == pytest.approx(factors[~div].max() * 2)
    assert c.first_div["relu"] == pytest.approx(factors[div].min() * 2)
    assert np.all(c.lazy_dev == 0) and np.allclose(c.cat_ratio, 0.9) and np.all(c.spike_steps == 2)
    assert c.lazy_dev.size == 2 * np.sum(factors <= cfg.lazy_max)


# ------------------------------------------------------------------ chapter 5

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


# ------------------------------------------------------------------ chapter 6

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

GLUE_RECORDS = {
    "04_deep_curvature": [ch4.ProseSettings, ch4.Lambda0s, ch4.FCReadout, ch4.WRNSettings, ch4.WRNReadout, ch4.PaperCost],
    "05_generalization": [ch5.FCReadout, ch5.CNNReadout, ch5.PaperCost],
    "06_where_large_lrs_lead": [
        ch6.Invariance, ch6.ProseSettings, ch6.RegimesReadout, ch6.FineTuningReadout, ch6.Barriers, ch6.Angles,
        ch6.FeaturesReadout, ch6.EdgeReadout, ch6.CifarSettings, ch6.CifarRegimesReadout, ch6.CifarAccuracy,
        ch6.CifarBarriers, ch6.PaperGrid, ch6.PaperCost,
    ],
}


#: Glued by the chapter, though its prose does not (yet) quote them.
UNQUOTED = {"06_where_large_lrs_lead": {"ft_seeds", "ang_ckpt_1", "paper_seeds"}}


@pytest.mark.parametrize("chapter", sorted(GLUE_RECORDS))
def test_glue_records_carry_names_the_prose_uses(chapter):
    used = prose_names(chapter) | UNQUOTED.get(chapter, set())
    for cls in GLUE_RECORDS[chapter]:
        unused = sorted(set(cls._fields) - used)
        assert not unused, f"{cls.__name__} glues names {chapter}'s prose never uses: {unused}"
