"""Chapter 4's measurement records and claims (catapult.chapters.deep_curvature): on small records built by
hand, the claims give the chapter's ids and each fails alone when its measured value is beyond its bound;
readouts compute what the prose quotes, and every name a glue record carries is one the chapter's prose uses."""

from pathlib import Path

import numpy as np
import pytest
from claim_cases import claim_tests, prose_names, record

from catapult import settings, train
from catapult.chapters import deep_curvature as ch4

CHAPTER = "04_deep_curvature"
ROOT = Path(__file__).resolve().parent.parent

IDS = [
    "lazy_drift_shrinks_with_width", "lazy_loss_falls", "catapult_loss_rises", "catapult_lambda_below_2_over_eta",
    "spike_short", "relu_trains_above_4", "relu_diverges_below_20", "tanh_max_near_4", "momentum_lambda_moves_below_crit",
    "momentum_lambda_moves_at_equal_progress",
    "momentum_catapult_above_crit", "wrn_lazy_lambda_constant",
    "wrn_loss_rises", "wrn_catapult_lambda_below_2_over_eta", "wrn_spike_short", "plain_wrn_loss_rises",
    "plain_wrn_catapult_lambda_below_2_over_eta",
]


def fc_record(**changes) -> ch4.FCChecks:
    fc = ch4.FCChecks(
        eta_max={"relu": 12.0, "tanh": 5.0}, first_div={"relu": 14.0, "tanh": 6.0},
        trains={"relu": 0.4, "tanh": float("inf")},
        lazy_dev=np.array([0.01, 0.08]), drift=np.array([0.2, 0.1]), lazy_rise=np.array([0.5, 0.7]),
        cat_rise=np.array([2.5, 14.0]), near_rise=np.array([0.8]), cat_ratio=np.array([0.86, 0.3]),
        tanh_ratio=np.array([0.99, 1.02]), spike_steps=np.array([3.0, 5.0]), tanh_spike=np.array([9.0]),
    )
    return fc._replace(**changes)


def wrn_record(**changes) -> ch4.WRNChecks:
    wrn = record(ch4.WRNChecks, lazy_dev=np.array([0.02]), cat=np.array([False, True, True]),
                 cat_ratio=np.array([0.7, 0.5]), cat_rise=np.array([1.5, 3.0]), spike_steps=np.array([2.0, 4.0]),
                 eta_max=9.0, first_div=14.0)
    return wrn._replace(**changes)


def mom_record(**changes) -> ch4.MomentumChecks:
    mom = ch4.MomentumChecks(drift_momentum=0.6, drift_plain=0.12, loss_plain=0.3, matched_step=12.0, drift_matched=0.55,
                             ratio=np.array([0.02, 0.05]), worst_ratio=0.05,
                             trained=np.array([True, True]), rise=np.array([4.0, 8.0]), control_rise=0.9,
                             diverged=np.array([11.4]))
    return mom._replace(**changes)


def records() -> dict:
    return dict(cfg=settings(CHAPTER, "smoke"), fc=fc_record(), wrn=wrn_record(), plain=wrn_record(), mom=mom_record(),
                mom_tanh=mom_record(drift_momentum=0.2, drift_plain=0.04, drift_matched=0.1))


#: (claim id, record, changes): the outcome that would have failed each claim (a width-independent drift, a
#: lazy loss that spikes, a catapult run whose loss never rose, λ left above 2/η, a spike as slow as near η_crit,
#: a net that diverges at the two-layer 4/λ0 or never, a tanh net trainable as far as ReLU, a momentum run as
#: lazy as plain SGD, one that diverges above 2(1+μ)/λ0 as a linear model does or keeps λ above 2(1+μ)/η, the
#: LayerNorm WRN's never-diverging sweep).
BEYOND = [
    ("lazy_drift_shrinks_with_width", "fc", dict(drift=np.array([0.1, 0.11]))),
    ("lazy_loss_falls", "fc", dict(lazy_rise=np.array([0.5, 2.53]))),
    ("catapult_loss_rises", "fc", dict(cat_rise=np.array([0.81, 14.0]))),
    ("catapult_lambda_below_2_over_eta", "fc", dict(cat_ratio=np.array([1.02, 0.3]))),
    ("spike_short", "fc", dict(spike_steps=np.array([3.0, 11.0]))),
    ("spike_short", "fc", dict(spike_steps=np.array([]))),
    ("relu_trains_above_4", "fc", dict(trains={"relu": float("inf"), "tanh": float("inf")})),
    ("relu_trains_above_4", "fc", dict(trains={"relu": 1.2, "tanh": float("inf")})),
    ("relu_diverges_below_20", "fc", dict(first_div={"relu": float("nan"), "tanh": 6.0})),
    ("tanh_max_near_4", "fc", dict(eta_max={"relu": 12.0, "tanh": 12.0})),
    ("momentum_lambda_moves_below_crit", "mom", dict(drift_momentum=0.3)),
    ("momentum_lambda_moves_at_equal_progress", "mom", dict(drift_matched=0.3)),  # far over the steps only
    ("momentum_catapult_above_crit", "mom", dict(worst_ratio=float("inf"))),
    ("momentum_catapult_above_crit", "mom", dict(worst_ratio=1.1)),
    ("wrn_lazy_lambda_constant", "wrn", dict(lazy_dev=np.array([0.11]))),
    ("wrn_loss_rises", "wrn", dict(cat_rise=np.array([0.9, 3.0]))),
    ("wrn_catapult_lambda_below_2_over_eta", "wrn", dict(cat_ratio=np.array([1.1, 0.5]))),
    ("wrn_spike_short", "wrn", dict(spike_steps=np.array([2.0, 21.0]))),
    ("plain_wrn_loss_rises", "plain", dict(cat_rise=np.array([0.9, 3.0]))),
    ("plain_wrn_catapult_lambda_below_2_over_eta", "plain", dict(cat_ratio=np.array([1.1, 0.5]))),
]

(
    test_claims_have_the_chapters_ids_and_hold_on_good_records,
    test_every_claim_has_a_case_beyond_its_bound,
    test_a_claim_fails_alone_beyond_its_bound,
) = claim_tests(ch4.claims, records, IDS, BEYOND)


def test_ch4_fc_readout():
    r = ch4.fc_readout(fc_record())
    assert r.lazy_dev_max == pytest.approx(8.0) and r.n_lazy == 2 and r.n_cat == 2 and r.spike_max == 5.0
    assert r.drift_shrink == pytest.approx(0.5) and r.drift_narrow == pytest.approx(20.0)
    assert r.tanh_ratio == "0.990–1.020" and r.relu_eta_max == 12.0 and r.tanh_first_div == 6.0
    assert r.cat_rise_min == 2.5 and r.lazy_rise_max == 0.7 and r.near_rise == "0.80–0.80"
    assert ch4.fc_readout(fc_record(tanh_ratio=np.array([]))).tanh_ratio == "n/a"


def test_ch4_fc_checks_reads_a_sweep():
    cfg = settings(CHAPTER, "smoke")
    factors = np.asarray(cfg.eta_over_crit)
    n, lam0 = factors.size, 2.0
    etas = factors * 2 / lam0
    div = factors > 5  # the largest rates diverge
    steps = np.arange(0, 11)
    loss = np.tile(np.linspace(1.0, 0.5, steps.size), (n, 1))
    loss[:, 1] = np.where(factors > 1, 3.0, loss[:, 1])  # a spike at step 1 above η_crit
    run = record(train.Run, etas=etas, loss_steps=steps, loss=loss, divergent=div,
                 lam_steps=np.array([0, 5]), lam=np.full((n, 2), lam0), lam_times=np.array([1.0, 4.0]),
                 lam_at=np.where(factors[:, None] > 1, 0.9 * 2 / etas[:, None], lam0) * np.ones((1, 2)),
                 train_loss=np.where(div, np.nan, 0.5))
    sweep = ch4.FCSweep(lam0=lam0, tau=1.0, late=4.0, run=run, steps=10, seconds=0.0)
    drift = ch4.LazyDrift(widths=np.array([256, 1024]), lam0=np.array([2.0, 2.0]), drift=np.array([0.2, 0.1]),
                          seconds=0.0)
    c = ch4.fc_checks(cfg, {"relu": sweep, "tanh": sweep}, drift)
    assert c.eta_max["relu"] == pytest.approx(factors[~div].max() * 2)
    assert c.first_div["relu"] == pytest.approx(factors[div].min() * 2)
    assert np.all(c.lazy_dev == 0) and np.allclose(c.cat_ratio, 0.9) and np.all(c.spike_steps == 2)
    assert c.lazy_dev.size == 2 * np.sum(factors <= cfg.lazy_max)
    assert np.all(c.lazy_rise < 1) and np.allclose(c.cat_rise, 3.0) and np.allclose(c.drift, [0.2, 0.1])
    above_4 = (factors > 2) & (factors <= cfg.relu_trains_to)
    assert above_4.any() and c.trains["relu"] == (np.inf if div[above_4].any() else pytest.approx(0.5))


def test_ch4_momentum_checks_compare_the_control_run_step_for_step_and_at_equal_progress():
    cfg = settings(CHAPTER, "smoke")
    lam0, steps = 2.0, 10
    lam_steps = np.array([0, 5, 10])
    mu = 0.9
    etas = np.array([cfg.drift_rate * 2 / lam0, 1.2, 1.6, 3.0]) * np.array([1] + [2 * (1 + mu) / lam0] * 3)
    control = record(train.Run, etas=etas[:1], loss_steps=np.arange(steps + 1),
                     loss=np.linspace(1.0, 0.5, steps + 1)[None], divergent=np.zeros(1, bool), lam_steps=lam_steps,
                     lam=np.array([[lam0, 0.95 * lam0, 0.9 * lam0]]), lam_times=np.zeros(0), lam_at=np.zeros((1, 0)))
    control.loss[0, 1] = 0.95
    mom_lam = np.array([[lam0, 0.8 * lam0, 0.5 * lam0], [lam0, 0.3, 0.1], [lam0, np.nan, np.nan], [lam0, np.nan, np.nan]])
    mom_loss = np.array([np.linspace(1.0, 0.5, steps + 1)] * 4)
    mom_loss[0] = np.linspace(1.0, 0.1, steps + 1)  # faster than the plain run: as far as its end by step 7
    mom_loss[0, 1] = 0.95
    mom_loss[1, 1] = 4.0
    mom_loss[2:, 1:] = np.nan
    mom = ch4.MomentumSweep(momentum=mu, lam0=lam0, eta_crit=2 * (1 + mu) / lam0, control=control, steps=steps,
                            seconds=1.0, run=record(train.Run, etas=etas, loss_steps=np.arange(steps + 1), loss=mom_loss,
                                                    divergent=np.array([False, False, True, True]), lam_steps=lam_steps,
                                                    lam=mom_lam, lam_times=np.zeros(0), lam_at=np.zeros((4, 0))))
    c = ch4.momentum_checks(mom, catapult_max=1.6)  # the run at 3.0 is shown, not claimed
    assert c.drift_momentum == pytest.approx(0.5) and c.drift_plain == pytest.approx(0.1)
    assert c.loss_plain == pytest.approx(0.6) and c.matched_step == 7 and c.drift_matched == pytest.approx(0.2)
    assert c.trained.tolist() == [True, False] and c.ratio[0] == pytest.approx(etas[1] * 0.1 / (2 * (1 + mu)))
    assert c.worst_ratio == np.inf  # the run at 1.6 diverged
    assert np.allclose(c.rise, [4.0, np.inf]) and c.control_rise == pytest.approx(0.95)
    r = ch4.momentum_readout(mom, c, 1.6, c._replace(drift_momentum=0.2, drift_plain=0.04))
    assert r.mom_drift == pytest.approx(50.0) and r.mom_drift_ratio == pytest.approx(5.0)
    assert r.mom_drift_matched == pytest.approx(20.0) and r.mom_loss_plain == pytest.approx(0.6) and r.mom_matched_step == 7
    assert r.mom_n_trained == 1 and r.mom_n_above == 2 and r.mom_eta_crit_lam0 == pytest.approx(3.8)
    assert r.mom_rates == "4.6, 6.1, 11" and r.mom_rise == "4.00–4.00" and r.mom_control_rise == pytest.approx(0.95)
    assert r.mom_diverged == "6.1, 11" and r.mom_tanh_drift == pytest.approx(20.0) and r.mom_tanh_ratio == pytest.approx(5)
    assert ch4.momentum_checks(mom, catapult_max=1.2).worst_ratio == pytest.approx(c.ratio[0])


def test_loss_rise_reads_peak_over_initial():
    run = record(train.Run, etas=np.array([1.0, 2.0, 3.0]), divergent=np.array([False, False, True]),
                 loss=np.array([[1.0, 0.5, 0.4], [1.0, 4.0, 0.2], [1.0, 5.0, np.nan]]))
    assert np.allclose(train.loss_rise(run), [0.5, 4.0, np.inf])


# ------------------------------------------------------------------ glue records and prose

#: The chapter's glue records: every name they carry is one the prose uses.
GLUE_RECORDS = [ch4.ProseSettings, ch4.Lambda0s, ch4.FCReadout, ch4.MomentumReadout, ch4.WRNSettings, ch4.WRNReadout, ch4.PlainReadout,
                ch4.PaperCost]

#: Glued by the chapter, though its prose does not (yet) quote them.
UNQUOTED: set[str] = set()


@pytest.mark.parametrize("cls", GLUE_RECORDS, ids=lambda c: c.__name__)
def test_glue_records_carry_names_the_prose_uses(cls):
    used = prose_names(CHAPTER) | UNQUOTED
    unused = sorted(set(cls._fields) - used)
    assert not unused, f"{cls.__name__} glues names {CHAPTER}'s prose never uses: {unused}"


def test_ch4_wrn_checks_and_readouts_read_a_sweep():
    cfg = settings(CHAPTER, "ci")
    factors = np.array([0.5, 1.5, 2.5, 16.0])
    n, lam0, steps = factors.size, 2.0, 8
    loss = np.tile(np.linspace(1.0, 0.5, steps + 1), (n, 1))
    loss[2:, 2] = 3.0  # the runs at 2.5 and 16 η_crit rise at step 2
    run = record(train.Run, etas=factors * 2 / lam0, loss_steps=np.arange(steps + 1), loss=loss,
                 divergent=np.zeros(n, bool), lam_steps=np.array([0, 1, 4, 8]), lam=np.full((n, 4), lam0),
                 lam_times=np.array([1.0]), lam_at=np.full((n, 1), 0.5), test_accuracy=np.full(n, 0.1),
                 params={"w": np.ones((n, 3))})
    sweep = ch4.WRNSweep(params={"w": np.ones(3)}, lam0=lam0, factors=factors, tau=1.0, steps=steps, run=run,
                         seconds=0.0)
    c = ch4.wrn_checks(cfg, sweep)
    assert np.allclose(c.cat_rise, 3.0) and c.cat_rise.size == 2 and np.all(c.spike_steps == 3)
    assert np.allclose(c.scale_free, factors[c.cat]) and c.first_div == np.inf and c.eta_max == 32.0
    r = ch4.wrn_readout(cfg, sweep, c)
    assert r.wrn_peaks.startswith("3: 0.") and r.wrn_rise_lo == 5.0 and r.wrn_cat_rise == 3.0
    p = ch4.plain_readout(cfg, sweep, c)
    assert p.plain_lazy_dev == pytest.approx(75.0) and p.plain_n_cat == 2 and p.plain_first_div == np.inf
