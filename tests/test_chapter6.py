"""Chapter 6's measurement records and claims (catapult.chapters.large_lrs): on small records built by hand, the claims give the chapter's ids and a claim fails
when its measured value is beyond its bound; readouts compute what the prose quotes, and every name a
glue record carries is one the chapter's prose uses."""

from pathlib import Path

import numpy as np
import pytest
from claim_cases import claim_tests, prose_names, record

from catapult import settings, sphere, stats
from catapult.chapters import large_lrs as ch6

CHAPTER = "06_where_large_lrs_lead"
ROOT = Path(__file__).resolve().parent.parent




def by_id(checks):
    return {c.id: c for c in checks}




IDS = [
    "regime_2_stationary", "best_finetuned_in_2A", "best_finetuned_2A_beats_regime_1", "same_quality_every_flr_in_2A",
    "flr_above_plr_helps", "flr_barrier_2A_below_2B", "seed_barrier_2A_below_2B", "checkpoint_barrier_2A_below_2B",
    "swa_recovers_2A_not_2B", "swa_barrier_2A_below_2B", "features_sparser_in_2A", "features_not_sparse_in_2B", "features_above_noise_floor",
    "cifar_best_finetuned_in_regime_2",
]


def ch6_sweep(regime=(1, 2, 2, 3), threshold=5e-3):
    return record(ch6.PLRSweep, plrs=np.array([1e-3, 1e-2, 2e-2, 0.1]), regime=np.array(regime), threshold=threshold)


def diff(z, mean=0.01, n=12):
    """A difference over n seeds at z standard errors (n = 12: the t test asks z ≥ 2.72)."""
    return stats.SeedDiff(mean=mean, se=abs(mean / z) if z else 0.01, z=z, n=n)


def barrier(z):
    return ch6.BarrierStats(0.01, 0.002, 0.03, 0.004, 0.05, 0.01, diff(z))


def ch6_records() -> dict:
    return dict(
        st=record(ch6.Stationarity, trend_2=0.9, trend_2_seeds=np.array([0.8, 1.0, 0.9, 1.1, 0.7, 0.95])),
        tuned=record(ch6.FineTuning, best_diff=diff(3.0), above_1=diff(6.0, 0.07), flr_dep_a=diff(0.5, 0.002),
                     gain=diff(3.5)),
        geo=record(ch6.Geometry, flr=barrier(3.0), seed=barrier(3.0), ckpt=barrier(4.0), ckpt_norm=barrier(3.5)),
        sw=record(ch6.Swa, diff=diff(10.0), barrier=barrier(3.5)),
        feats=record(ch6.Features, sparse=diff(3.5), dense_b=diff(3.0), above_floor=diff(5.0)),
        ctuned=record(ch6.CifarFineTuning, best_diff=diff(3.0, 0.015)),
    )


#: (claim id, record, changes): each the outcome the paper's prediction forbids, e.g. a regime 2 that
#: drifts like a converging run (trend √12), 2A no better than the rest, a barrier as low from 2B as
#: from 2A, a feature count no higher than shuffled labels give.
BEYOND = [
    ("regime_2_stationary", "st", dict(trend_2_seeds=np.array([3.4, 3.1, 3.3, 2.9, 3.2]))),
    ("regime_2_stationary", "st", dict(trend_2_seeds=np.array([1.0, 2.9, 0.8, 3.1, 1.2]))),  # below 2 on average only
    ("best_finetuned_in_2A", "tuned", dict(best_diff=diff(2.6))),  # 2.6 SE over 12 seeds: p > 0.01
    ("best_finetuned_in_2A", "tuned", dict(best_diff=diff(-3.0, -0.01))),
    ("best_finetuned_2A_beats_regime_1", "tuned", dict(above_1=diff(1.0, 0.01))),
    ("best_finetuned_2A_beats_regime_1", "tuned", dict(above_1=stats.SeedDiff(np.nan, np.nan, np.nan, 0))),  # no 2A
    ("same_quality_every_flr_in_2A", "tuned", dict(flr_dep_a=diff(-1.9, -0.016))),
    ("flr_above_plr_helps", "tuned", dict(gain=diff(1.9))),
    ("flr_barrier_2A_below_2B", "geo", dict(flr=barrier(0.2))),
    ("seed_barrier_2A_below_2B", "geo", dict(seed=barrier(1.9))),
    ("checkpoint_barrier_2A_below_2B", "geo", dict(ckpt_norm=barrier(0.0))),
    ("swa_recovers_2A_not_2B", "sw", dict(diff=diff(1.0))),
    ("swa_recovers_2A_not_2B", "sw", dict(diff=diff(3.5, n=4))),  # t_0.99 with 3 degrees of freedom is 4.54
    ("swa_barrier_2A_below_2B", "sw", dict(barrier=barrier(1.0))),
    ("features_sparser_in_2A", "feats", dict(sparse=diff(1.9))),
    ("features_not_sparse_in_2B", "feats", dict(dense_b=diff(0.5))),
    ("features_above_noise_floor", "feats", dict(above_floor=diff(1.0))),
    ("cifar_best_finetuned_in_regime_2", "ctuned", dict(best_diff=diff(1.9))),
]

(test_claims_have_the_chapters_ids_and_hold_on_good_records, test_every_claim_has_a_case_beyond_its_bound,
 test_a_claim_fails_alone_beyond_its_bound) = claim_tests(ch6.claims, ch6_records, IDS, BEYOND)


def test_ch6_differences_carry_their_seeds_and_a_chance():
    checks = by_id(ch6.claims(**ch6_records()))
    assert checks["swa_recovers_2A_not_2B"].n == 12 and checks["swa_recovers_2A_not_2B"].chance < 1e-3
    assert checks["regime_2_stationary"].n == 6 and checks["regime_2_stationary"].chance < 1e-3
    d = stats.paired(np.array([1.0, 2.0, np.nan, 1.5]), np.zeros(4))  # a seed with no finite value drops out
    assert d.n == 3 and d.mean == pytest.approx(1.5)


def test_best_of_one_mask_against_another_is_paired_by_seed_and_averaged_over_flrs():
    ft = np.zeros((3, 4, 2))  # (P, S, F): PLR 1 in "a", PLRs 0 and 2 in "b"
    ft[1] = 0.8
    ft[0], ft[2] = 0.7, 0.75
    ft[2, :, 1] = 0.9  # at the second FLR regime "b"'s best is PLR 2, better than "a"
    d = ch6._best_paired(ft, ft.mean(axis=1), np.array([False, True, False]), np.array([True, False, True]))
    assert d.n == 4 and d.mean == pytest.approx((0.05 - 0.1) / 2)
    assert ch6._best_paired(ft, ft.mean(axis=1), np.zeros(3, bool), np.ones(3, bool)).n == 0


def test_regimes_hold_by_construction_so_they_are_not_claimed():
    """Why three_regimes, regimes_separated and cifar_three_regimes left the claims: a late loss that
    rises smoothly with the PLR, with no phase change anywhere, is sorted into three regimes in order,
    and regime 2's late loss lies above regime 1's and below regime 3's at every seed."""
    cfg = settings("06_where_large_lrs_lead", "smoke")
    plrs = np.geomspace(1e-4, 1.0, 16)
    rng = np.random.default_rng(0)
    ramp = np.geomspace(1e-3, 0.69, 16)[:, None, None] * np.exp(0.05 * rng.standard_normal((16, 4, 12)))
    acc = np.linspace(1.0, 0.5, 16)[:, None, None] * np.ones((16, 4, 12))
    ramp[:, :, 0] = 0.7
    runs = record(sphere.Runs, loss=ramp, accuracy=acc, steps=np.arange(12), diverged=np.zeros((16, 4), bool))
    reg = ch6.regimes(cfg, plrs, runs)
    assert reg.in1.any() and reg.in2.any() and reg.in3.any() and reg.ordered and np.isfinite(reg.threshold)
    log_late = np.log10(reg.late_mean)
    l1, l2, l3 = (stats.seed_means(log_late, m) for m in (reg.in1, reg.in2, reg.in3))
    assert (l2 > l1).all() and (l3 > l2).all()
    assert stats.paired(l2, l1).z > 2 and stats.paired(l3, l2).z > 2  # "separated" by many standard errors


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
    ch6.FeaturesReadout, ch6.StationarityReadout, ch6.SwaReadout, ch6.EdgeReadout, ch6.CifarSettings, ch6.CifarRegimesReadout, ch6.CifarAccuracy,
    ch6.CifarBarriers, ch6.PaperGrid, ch6.PaperCost,
]

#: Glued by the chapter, though its prose does not (yet) quote them.
UNQUOTED: set[str] = {"ft_seeds", "ang_ckpt_1", "paper_seeds"}


@pytest.mark.parametrize("cls", GLUE_RECORDS, ids=lambda c: c.__name__)
def test_glue_records_carry_names_the_prose_uses(cls):
    used = prose_names(CHAPTER) | UNQUOTED
    unused = sorted(set(cls._fields) - used)
    assert not unused, f"{cls.__name__} glues names {CHAPTER}'s prose never uses: {unused}"


def test_best_feature_reads_the_feature_axis_not_the_seed_axis():
    """Each solution's best single feature, averaged over the runs of a PLR mask: with seed 0
    reading nothing (0.5 everywhere) and seed 1 reading feature 3 at 0.9, the best feature is
    0.7 on average, where reading the seed axis would give the mean feature accuracy (0.525)."""
    iso = np.full((2, 2, 4), 0.5)  # (PLRs, seeds, features)
    iso[:, 1, 3] = 0.9
    ranked = -np.sort(-iso, axis=-1)
    assert ch6._best_feature(ranked, np.array([True, False])) == pytest.approx(0.7)
    assert ch6._best_feature(ranked, np.array([True, True])) == pytest.approx(0.7)
    assert np.isnan(ch6._best_feature(ranked, np.array([False, False])))
