"""Chapter 3 (linearization): its claims on hand-built records, each failing alone when its
measured value crosses its bound, and its measurement functions on small synthetic inputs."""

from types import SimpleNamespace

import numpy as np
import pytest
from claim_cases import claim_tests

from catapult.chapters import linearization as ch3
from catapult.claims import Repeats, decisive
from catapult.linearize import Drift
from catapult.scales import settings

IDS = [
    "function_space_exact", "network_trains_in_catapult", "lin0_explains_lazy",
    "lin10_explains_catapult", "lin10_departs_where_units_die", "lin10_stable", "relu_max_trainable",
    "units_die_at_collapse", "units_live_in_catapult", "drift_falls_with_width",
    "lazy_drift_falls_with_width", "drift_starts_after_catapult", "catapult_move_does_not_fall",
    "outputs_grow_in_catapult", "outputs_settle_after_catapult",
]


def records() -> dict:
    return dict(
        cfg=settings("03_linearization", "smoke"),
        check=ch3.FunctionSpaceCheck(check_dev=6e-7, check_dev_train=6e-7, check_dev_test=2e-7, check_dev_network=0.03),
        models=ch3.ThreeModels(gap_lazy=0.3, gap_catapult=0.35, gap_beyond=0.7, unexplained_lazy=0.1,
                               unexplained_catapult=0.35, unexplained_beyond=0.7, lin0_diverged_catapult=1.0,
                               loss_drop_catapult=3e-3, acc_gap_lazy=0.5,
                               acc_gap_catapult=1.2, max_lam10=1.7, max_trainable=16.0, collapse_c=24.0,
                               dead_catapult=0.0, dead_catapult_units=0, catapult_units=768, dead_collapse=0.9,
                               dead_jump=0.15, best_c=3.0, best_acc=0.9, lin0_best_acc=0.85, lin10_best_acc=0.88),
        drift=ch3.KernelDrift(drift_slope=-0.5, drift_lazy_slope=-0.55, early_slope=-0.02,
                              drift_slopes=(-0.45, -0.55), drift_lazy_slopes=(-0.5, -0.6), early_slopes=(0.0, -0.04),
                              drift_ratio=4.0, early_min=0.5, max_lam_start=1.5, lam_start=(1.5, 1.2),
                              peak_slope=0.8, peak_slopes=(0.7, 0.9), peak_lazy_slope=0.0, settle_slope=-0.1,
                              settle_slopes=(-0.2, 0.0), settle_drop=0.9, settle_drops=(0.9, 0.9),
                              settle_lazy_drop=0.0),
    )


#: (claim id, record, changes): the record's fields that push that claim past its bound.
BEYOND = [
    ("function_space_exact", "check", dict(check_dev=2e-3)),
    ("network_trains_in_catapult", "models", dict(loss_drop_catapult=0.2)),
    ("lin0_explains_lazy", "models", dict(unexplained_lazy=0.55)),
    ("lin10_explains_catapult", "models", dict(unexplained_catapult=0.51)),
    ("lin10_departs_where_units_die", "models", dict(unexplained_beyond=0.45)),
    ("lin10_stable", "models", dict(max_lam10=2.2)),
    ("drift_falls_with_width", "drift", dict(drift_slope=-0.2)),
    ("lazy_drift_falls_with_width", "drift", dict(drift_lazy_slope=-0.1)),
    ("drift_starts_after_catapult", "drift", dict(max_lam_start=2.1)),
    ("catapult_move_does_not_fall", "drift", dict(early_slope=-0.3)),
    ("outputs_grow_in_catapult", "drift", dict(peak_slope=0.3)),
    ("outputs_settle_after_catapult", "drift", dict(settle_drop=0.3)),
    ("relu_max_trainable", "models", dict(max_trainable=5.0)),
    ("units_die_at_collapse", "models", dict(dead_collapse=0.3)),
    ("units_live_in_catapult", "models", dict(dead_catapult_units=100)),
]


(
    test_claims_have_the_chapters_ids_and_hold_on_good_records,
    test_every_claim_has_a_case_beyond_its_bound,
    test_a_claim_fails_alone_beyond_its_bound,
) = claim_tests(ch3.claims, records, IDS, BEYOND)


def test_the_trainable_rate_must_be_near_12_from_both_sides_and_a_diverged_control_departs():
    for too_far in (5.0, 32.0):
        inputs = records()
        inputs["models"] = inputs["models"]._replace(max_trainable=too_far)
        assert [c.id for c in ch3.claims(**inputs) if not c.holds] == ["relu_max_trainable"]
    inputs = records()
    inputs["models"] = inputs["models"]._replace(unexplained_beyond=np.inf)  # lin@k diverged beyond 4/λ0
    assert all(c.holds for c in ch3.claims(**inputs))


def test_a_rebuild_has_the_sweeps_claims_and_repeats_give_each_a_chance():
    inputs = records()
    sweep = [c.id for c in ch3.claims(**{**inputs, "drift": None})]
    assert sweep == IDS[:9]
    reps = Repeats([{c.id: decisive(c) for c in ch3.claims(**{**inputs, "drift": None})}] * 8)
    got = ch3.claims(**inputs, reps=reps)
    assert all(c.chance is not None and c.n >= 2 for c in got), [c.id for c in got if c.chance is None]
    units = {c.id: c for c in got}["units_live_in_catapult"]
    assert units.n == 9 * 768 and units.chance < 1e-3  # no unit dead in 6,912: a rebuild keeps 90 % alive
    drift = {c.id: c for c in got}["drift_starts_after_catapult"]
    assert drift.n == 2 and "each must hold" in drift.test


# ------------------------------------------------------------------ chapter 3's measurements


def _sweep():
    cs = np.array([1.0, 1.5, 2.5, 3.5, 8.0, 16.0, 48.0])
    net = SimpleNamespace(test_accuracy=np.array([0.80, 0.82, 0.85, 0.86, 0.84, 0.11, 0.1]),
                          train_accuracy=np.array([0.95, 0.96, 0.97, 0.98, 0.95, 0.1, 0.1]),
                          divergent=np.array([False] * 6 + [True]),
                          train_loss=np.array([0.1, 0.1, 0.2, 0.5, 0.3, 1.0, np.nan]), loss=np.full((7, 3), 2.0),
                          params=[(np.zeros((7, 5, 4)), None), ()])
    lin0 = SimpleNamespace(test_accuracy=np.array([0.81, 0.80] + [np.nan] * 5), divergent=cs > 2)
    lin10 = SimpleNamespace(test_accuracy=np.array([0.8, 0.8, 0.86, 0.85, 0.7, 0.2, np.nan]),
                            lam=np.array([2.0, 2.0, 1.2, 0.9, 0.5, 0.1, np.nan]), divergent=cs > 40)
    gap0 = np.array([0.01, 0.03] + [np.inf] * 5)
    gap10 = np.array([0.05, 0.04, 0.02, 0.06, 0.3, 0.9, np.inf])
    u0 = np.array([0.1, 0.2] + [np.inf] * 5)
    u10 = np.array([0.3, 0.3, 0.25, 0.35, 0.6, 0.9, np.inf])
    dead = np.array([0, 0, 0, 0.01, 0.1, 0.95, 0.99])
    return cs, cs / 2.0, net, lin0, lin10, gap0, gap10, u0, u10, dead


def test_three_models():
    cs, etas, net, lin0, lin10, gap0, gap10, u0, u10, dead = _sweep()
    m = ch3.three_models(cs, etas, net, lin0, lin10, gap0, gap10, u0, u10, dead, chance=0.1, control_c=8.0)
    assert (m.gap_lazy, m.gap_catapult, m.gap_beyond) == (0.03, 0.06, 0.3)
    assert (m.unexplained_lazy, m.unexplained_catapult, m.unexplained_beyond) == (0.2, 0.35, 0.6)
    assert m.lin0_diverged_catapult == 1.0 and m.loss_drop_catapult == pytest.approx(0.25)
    again = ch3.three_models(cs, etas, net, lin0, lin10, gap0, gap10, u0, u10, dead, 0.1, control_c=20.0)
    assert np.isnan(again.unexplained_beyond)
    assert m.acc_gap_lazy == pytest.approx(2.0) and m.acc_gap_catapult == pytest.approx(1.0)
    assert m.max_lam10 == pytest.approx(1.75 * 0.9) and m.max_trainable == 8.0 and m.collapse_c == 16.0
    assert (m.dead_catapult, m.dead_collapse) == (0.01, 0.95) and m.dead_jump == pytest.approx(0.85)
    assert (m.dead_catapult_units, m.catapult_units) == (0, 2 * 4)  # 0.01 of 4 units rounds to none
    assert (m.best_c, m.best_acc, m.lin0_best_acc, m.lin10_best_acc) == (3.5, 0.86, 0.81, 0.86)
    table = ch3.sweep_table(cs, etas, net, lin0, lin10, u0, u10, dead, 10)
    assert len(table.splitlines()) == 1 + cs.size and "lin@10" in table
    assert "0.600" in ch3.describe(m, 10)


def test_gap_to_network_the_share_missed_and_the_rates_linearized_later():
    f_net = np.ones((3, 4, 2))
    lin = SimpleNamespace(test_outputs=np.stack([f_net[0] * 1.2, f_net[0], np.full((4, 2), np.nan)]),
                          lam=np.array([1.0, 1.0, np.nan]), divergent=np.array([False, True, False]))
    gap = ch3.gap_to_network(f_net, lin)
    assert gap[0] == pytest.approx(0.2) and gap[1] == np.inf and np.isnan(gap[2])
    u = ch3.unexplained_by(f_net, np.zeros((4, 2)), lin)  # the network moved from 0 to 1; lin@ ended at 1.2
    assert u[0] == pytest.approx(0.2) and u[1] == np.inf and np.isnan(u[2])
    cs, _, net, *_ = _sweep()
    assert ch3.compared_later(cs, net).tolist() == [False, False, True, True, True, False, False]


def test_function_space_check_kernel_drift_and_settings():
    a = SimpleNamespace(loss=np.array([[1.0, 0.5]]), test_loss=np.array([2.0]))
    b = SimpleNamespace(loss=np.array([[1.0, 0.5 * (1 + 1e-6)]]), test_loss=np.array([2.0 * (1 + 1e-5)]))
    net = SimpleNamespace(loss=np.array([[1.0, 0.6]]), test_loss=np.array([2.0]))
    c = ch3.function_space_check(a, b, net)
    assert c.check_dev == c.check_dev_test == pytest.approx(1e-5, rel=1e-3) and c.check_dev_train < c.check_dev
    assert c.check_dev_network == pytest.approx(1 - 0.5 / 0.6)
    widths = np.array([128, 512, 2048])
    w = widths[:, None, None].astype(float)
    seeds = np.array([0.9, 1.0, 1.1])[None, None, :]
    after = np.concatenate([w ** -0.5, w ** -0.25], axis=1) * seeds  # (widths, phases, seeds)
    after[:, 0, 2] *= (widths / 128.0) ** -0.1  # the third initialization falls faster
    early = np.ones_like(after) * 0.6
    lam0 = np.ones_like(after)
    lam_start = np.full_like(after, 0.5)
    loss = np.ones(after.shape + (3,))
    loss[:, 0, :, 1] = widths[:, None]  # the catapult's peak ∝ n ...
    loss[:, 0, :, 2] = 0.1  # ... and after it O(1)
    d = ch3.kernel_drift(widths, Drift(after, early, lam0, lam_start, loss), (3.0, 1.0))
    assert (d.peak_slope, d.peak_lazy_slope, d.settle_slope) == (
        pytest.approx(1.0), pytest.approx(0.0, abs=1e-12), pytest.approx(0.0, abs=1e-12))
    assert d.settle_drop == pytest.approx(1.0) and d.settle_drops == pytest.approx((1.0,) * 3)
    assert d.settle_lazy_drop == pytest.approx(0.0, abs=1e-12)
    assert (d.drift_slope, d.drift_lazy_slope, d.early_slope) == (
        pytest.approx(-1.6 / 3), pytest.approx(-0.25), pytest.approx(0.0, abs=1e-12))
    assert d.drift_slopes == pytest.approx((-0.5, -0.5, -0.6)) and len(d.early_slopes) == 3
    assert d.early_min == pytest.approx(0.6) and d.max_lam_start == pytest.approx(1.5) and len(d.lam_start) == 9
    assert "exponents" in ch3.describe_drift(widths, Drift(after, early, lam0, lam_start, loss), d, 10)
    assert ch3.curvature(4.0) == ch3.Curvature(lam0=4.0, eta_crit=0.5)
    cfg = settings("03_linearization", "ci")
    assert ch3.bounds(cfg).unexplained_bound == cfg.unexplained_bound and ch3.bounds(cfg).trains_threshold == ch3.TRAINS
    assert ch3.prose_settings(cfg).drift_widths == "256, 1024 and 4096"
