"""What chapters 1-3 measure and claim (catapult.chapters): the claims lists on hand-built
records, each claim failing alone when its measured value crosses its bound, and the
measurement functions on small synthetic inputs."""

from types import SimpleNamespace

import numpy as np
import pytest

from catapult import fits, full_model, warmup
from catapult.chapters import full_model as ch2
from catapult.chapters import linearization as ch3
from catapult.chapters import warmup_model as ch1
from catapult.scales import SCALES, settings

# ------------------------------------------------------------------ claims on hand-built records

CH1_IDS = [
    "exact_equals_gd", "eta_crit", "eta_max", "lazy_kernel_constant", "lazy_shift_formula", "catapult_flat",
    "catapult_loss_rises", "divergent_blows_up", "duration_log_n_slope", "duration_log_n_r2", "duration_per_decade",
    "peak_loss_scales_with_n", "critical_exponent_below", "critical_exponent_above", "s1_slice_invariant",
]
CH2_IDS = [
    "equations_exact", "lazy_kernel_constant", "catapult_converges", "catapult_flat", "catapult_aligns",
    "aligns_before_flattening", "no_divergence_below_4", "eta_max", "relu_lambda0_infinite_width",
    "relu_lambda0_converges",
]
CH3_IDS = [
    "function_space_exact", "lin0_diverges_above_crit", "network_trains_in_catapult", "lin0_tracks_lazy",
    "lin10_tracks_catapult", "lin10_stable", "kernel_change_falls_with_width", "relu_trains_beyond_4",
]


def ch1_records() -> dict:
    return dict(
        cfg=settings("01_warmup_model", "smoke"),
        gd=ch1.GDAgreement(gd_dev=2e-15, gd_dev_divergent=1e-6),
        bounds=ch1.Boundaries(c_crit_measured=2.03, c_max_measured=4.03, grid_step=0.07),
        lazy=ch1.LazyKernel(shift_ratio_err=0.015, lazy_rel_change=1.2),
        phases=ch1.PhaseChecks(catapult_final_curvature=1.9, catapult_loss_rose=np.ones(5, bool),
                               divergent_blew_up=np.ones(3, bool)),
        dur=ch1.Duration(slope_per_decade=2.7, predicted_per_decade=2.6, duration_r2=0.99, peak_per_n=0.1,
                         duration_slope=1.17, peak_ratio=0.94),
        crit=ch1.CriticalExponents(exp_below=-0.96, exp_above=-0.85),
        off_slice=0.0,
    )


def ch2_records() -> dict:
    return dict(
        cfg=settings("02_full_model", "smoke"),
        exact=ch2.EquationsExact(worst_residual=1e-12),
        align=ch2.Alignment(peak_align=0.99, t_aligned=(5, 7), t_flat=(9, 10)),
        sweep=ch2.SweepChecks(lazy_shift=3.0, catapult_converged=np.ones((3, 4, 2), bool),
                              catapult_final_curvature=1.9, stable_below_4=np.ones(20, bool),
                              worst_first_divergent=4.2),
        relu=ch2.ReluLambda0(relu_rel_err=0.02, relu_rel_err_small=0.1, relu_lam_inf=1.6),
    )


def ch3_records() -> dict:
    return dict(
        cfg=settings("03_linearization", "smoke"),
        check=ch3.FunctionSpaceCheck(check_dev=6e-7, check_dev_train=6e-7, check_dev_test=2e-7),
        models=ch3.ThreeModels(gap_lazy=0.5, gap_catapult=1.2, max_lam10=1.7, max_trainable=16.0, collapse_c=48.0,
                               best_c=3.0, best_acc=0.9, lin0_best_acc=0.85),
        out=ch3.Outcomes(lin0_diverges_iff_above_crit=np.ones(9, bool), trains_in_catapult=np.ones(3, bool),
                         kernel_change_falls=np.ones(2, bool)),
    )


CHAPTERS = {
    "01": (ch1.claims, ch1_records, CH1_IDS),
    "02": (ch2.claims, ch2_records, CH2_IDS),
    "03": (ch3.claims, ch3_records, CH3_IDS),
}


@pytest.mark.parametrize("chapter", sorted(CHAPTERS))
def test_claims_have_the_chapters_ids_and_hold_on_good_records(chapter):
    build, records, ids = CHAPTERS[chapter]
    checks = build(**records())
    assert [c.id for c in checks] == ids
    assert [c.id for c in checks if not c.holds] == []
    assert all(c.statement and c.source for c in checks)


def _no(n: int, at: int = 0) -> np.ndarray:
    """n passing cases but the one at ``at``."""
    passed = np.ones(n, bool)
    passed[at] = False
    return passed


#: (chapter, claim id, record, changes): the record's fields that push that claim past its bound.
BEYOND = [
    ("01", "exact_equals_gd", "gd", dict(gd_dev=1e-9)),
    ("01", "eta_crit", "bounds", dict(c_crit_measured=2.1)),
    ("01", "eta_max", "bounds", dict(c_max_measured=3.9)),
    ("01", "lazy_kernel_constant", "lazy", dict(lazy_rel_change=5.1)),
    ("01", "lazy_shift_formula", "lazy", dict(shift_ratio_err=0.06)),
    ("01", "catapult_flat", "phases", dict(catapult_final_curvature=2.01)),
    ("01", "catapult_loss_rises", "phases", dict(catapult_loss_rose=_no(5, 2))),
    ("01", "divergent_blows_up", "phases", dict(divergent_blew_up=_no(3))),
    ("01", "duration_log_n_slope", "dur", dict(duration_slope=-0.1)),
    ("01", "duration_log_n_r2", "dur", dict(duration_r2=0.85)),
    ("01", "duration_per_decade", "dur", dict(slope_per_decade=3.2)),
    ("01", "peak_loss_scales_with_n", "dur", dict(peak_ratio=1.4)),
    ("01", "critical_exponent_below", "crit", dict(exp_below=-1.25)),
    ("01", "critical_exponent_above", "crit", dict(exp_above=-0.75)),
    ("01", "s1_slice_invariant", "off_slice", 1e-7),
    ("02", "equations_exact", "exact", dict(worst_residual=1e-4)),
    ("02", "lazy_kernel_constant", "sweep", dict(lazy_shift=10.5)),
    ("02", "catapult_converges", "sweep", dict(catapult_converged=_no(24).reshape(3, 4, 2))),
    ("02", "catapult_flat", "sweep", dict(catapult_final_curvature=2.05)),
    ("02", "catapult_aligns", "align", dict(peak_align=0.85)),
    ("02", "aligns_before_flattening", "align", dict(t_aligned=(5, 12))),
    ("02", "no_divergence_below_4", "sweep", dict(stable_below_4=_no(20, 7))),
    ("02", "eta_max", "sweep", dict(worst_first_divergent=4.5)),
    ("02", "relu_lambda0_infinite_width", "relu", dict(relu_rel_err=0.06)),
    ("02", "relu_lambda0_converges", "relu", dict(relu_rel_err_small=0.01)),
    ("03", "function_space_exact", "check", dict(check_dev=2e-3)),
    ("03", "lin0_diverges_above_crit", "out", dict(lin0_diverges_iff_above_crit=_no(9, 4))),
    ("03", "network_trains_in_catapult", "out", dict(trains_in_catapult=_no(3))),
    ("03", "lin0_tracks_lazy", "models", dict(gap_lazy=2.5)),
    ("03", "lin10_tracks_catapult", "models", dict(gap_catapult=2.1)),
    ("03", "lin10_stable", "models", dict(max_lam10=2.2)),
    ("03", "kernel_change_falls_with_width", "out", dict(kernel_change_falls=_no(2, 1))),
    ("03", "relu_trains_beyond_4", "models", dict(max_trainable=3.6)),
]


def test_every_claim_has_a_case_beyond_its_bound():
    for chapter, (_, _, ids) in CHAPTERS.items():
        assert sorted(i for c, i, _, _ in BEYOND if c == chapter) == sorted(ids)


@pytest.mark.parametrize("chapter, claim_id, name, changes", BEYOND, ids=[f"{c}-{i}" for c, i, _, _ in BEYOND])
def test_a_claim_fails_alone_beyond_its_bound(chapter, claim_id, name, changes):
    build, records, _ = CHAPTERS[chapter]
    inputs = records()
    inputs[name] = inputs[name]._replace(**changes) if isinstance(changes, dict) else changes
    failing = [c for c in build(**inputs) if not c.holds]
    assert [c.id for c in failing] == [claim_id]


# ------------------------------------------------------------------ chapter 1's measurements


@pytest.mark.parametrize("scale", SCALES)
def test_prose_settings_have_the_types_their_formats_need(scale):
    for module, chapter in ((ch1, "01_warmup_model"), (ch2, "02_full_model"), (ch3, "03_linearization")):
        record = module.prose_settings(settings(chapter, scale))
        for name, hint in module.ProseSettings.__annotations__.items():
            value = getattr(record, name)
            if hint == "int":  # glued with "{:d}"
                assert isinstance(value, int), (chapter, name, value)
    assert ch3.prose_settings(settings("03_linearization", "smoke")).velocity_window == "40 to 46"


def test_gd_agreement_separates_the_divergent_runs():
    gd = ch1.gd_agreement(np.array([1e-16, 2e-15, 3e-16, 1e-6]), ["lazy", "catapult", "catapult", "divergent"])
    assert gd == ch1.GDAgreement(gd_dev=2e-15, gd_dev_divergent=1e-6)


def test_boundaries_and_fig2_scales():
    cs = np.array([1.0, 1.5, 2.0, 2.5, 3.5, 4.0, 4.5])
    lazy, cat, div = (warmup.PHASES.index(p) for p in ("lazy", "catapult", "divergent"))
    b = ch1.boundaries(cs, np.array([lazy, lazy, lazy, cat, cat, cat, div]))
    assert b == ch1.Boundaries(c_crit_measured=2.5, c_max_measured=4.5, grid_step=0.5)
    assert ch1.fig2_scales(2.0) == ch1.Fig2Scales(2.0, 1.0, 2.0)


def test_lazy_kernel_on_a_synthetic_sweep():
    cs = np.array([0.5, 1.0, 1.5, 1.9, 2.5])
    lam0, n = 2.0, 100
    curves = ch1.LazyCurves(cs=cs[:4], measured=np.array([-1e-3, -2e-3, -3e-3, -4e-3]),
                            predicted=np.array([-1e-3, -2e-3, -3e-3, -5e-3]))
    lam_final = lam0 + np.array([-1e-3, -2e-3, -3e-3, -4e-3, -1.0])
    lazy = ch1.lazy_kernel(curves, cs, lam_final, lam0, n)
    assert lazy.shift_ratio_err == pytest.approx(0.2)
    assert lazy.lazy_rel_change == pytest.approx(n * 3e-3 / lam0)  # only η·λ0 ≤ 1.5 counts


def test_phase_checks_on_three_runs():
    cs = np.array([1.0, 3.0, 4.5])
    f = np.array([[1.0, 0.5, 0.25], [1.0, 3.0, 1e-3], [1.0, 10.0, np.nan]])
    lam = np.array([[2.0, 2.0, 2.0], [2.0, 1.5, 0.6], [2.0, 3.0, np.nan]])
    traj = warmup.Trajectory(f, lam, np.array([False, False, True]), np.array([-1, -1, 2]))
    phases = np.array([warmup.PHASES.index(p) for p in ("lazy", "catapult", "divergent")])
    checks = ch1.phase_checks(cs, cs / 2.0, traj, phases)
    assert checks.catapult_final_curvature == pytest.approx(1.5 * 0.6)
    assert checks.catapult_loss_rose.tolist() == [True]
    assert checks.divergent_blew_up.tolist() == [True]


def test_duration_from_a_width_sweep():
    widths = np.array([1e2, 1e3, 1e4])
    peak = widths[:, None] * np.array([[0.1, 0.1], [0.1, 0.1], [0.2, 0.2]])
    ws = warmup.WidthSweep(widths, np.zeros((3, 2)), peak, np.ones((3, 2)), np.ones((3, 2), bool),
                           fits.LineFit(slope=1.0, intercept=0.0, r2=0.99))
    d = ch1.duration(ws, 2.5)
    assert d.slope_per_decade == pytest.approx(np.log(10)) and d.duration_slope == 1.0 and d.duration_r2 == 0.99
    assert d.predicted_per_decade == warmup.duration_slope_per_decade(2.5)
    assert (d.peak_per_n, d.peak_ratio) == (pytest.approx(0.1), pytest.approx(2.0))


# ------------------------------------------------------------------ chapter 2's measurements


def test_alignment_of_the_catapult_runs():
    names = ch2.phase_names([1.0, 2.5, 3.5, 4.6])
    assert names == ["lazy", "catapult", "catapult", "divergent"]
    align = np.array([[0.1, 0.95, 0.9, 0.9], [0.1, 0.5, 0.95, 1.0], [0.2, 0.97, 0.99, 0.99], [0.1, 0.2, np.nan, np.nan]])
    lam = np.array([[2.0, 2.0, 2.0, 2.0], [2.0, 2.0, 2.0, 0.5], [2.0, 2.0, 0.4, 0.4], [2.0, 3.0, np.nan, np.nan]])
    a = ch2.alignment(names, np.array([0.5, 1.25, 1.75, 2.3]), lam, align)
    assert a == ch2.Alignment(peak_align=0.99, t_aligned=(2, 1), t_flat=(3, 2))


def test_sweep_checks_on_a_small_sweep():
    cs, widths = np.array([1.0, 2.5, 3.0, 4.5]), np.array([100.0, 1000.0])
    shape = (2, 4, 2)  # widths × cs × seeds
    lam0 = np.full(shape, 2.0)
    eta = cs[None, :, None] / lam0
    lam_final = lam0.copy()
    lam_final[:, 0] -= 1e-3  # lazy: λ moves by 1e-3 (n·shift = 0.1 and 1)
    lam_final[:, 1:3] = 0.6  # catapult: η·λ_final = 0.75, 0.9
    lam_final[:, 3] = np.nan  # diverged
    lam = np.stack([lam0, lam_final], axis=-1)
    loss = np.stack([np.ones(shape), np.where(np.isnan(lam_final), np.nan, 1e-8)], axis=-1)
    diverged = np.zeros(shape, bool)
    diverged[:, 3] = True
    sweep = full_model.Sweep(cs, widths, lam0, eta, full_model.Trajectory(loss, lam, np.zeros(shape + (3,)), diverged))
    s = ch2.sweep_checks(sweep, lazy_max_c=1.5, catapult_c_range=(2.2, 3.9), convergence_tol=1e-6)
    assert s.lazy_shift == pytest.approx(1.0)
    assert s.catapult_converged.shape == (2, 2, 2) and s.catapult_converged.all()
    assert s.catapult_final_curvature == pytest.approx(0.9)
    assert s.stable_below_4.size == 2 * 3 * 2 and s.stable_below_4.all()
    assert s.worst_first_divergent == 4.5


def test_relu_lambda0_relative_errors():
    r = ch2.relu_lambda0(2.0, np.array([[2.2, 1.8], [2.02, 1.98]]))
    assert (r.relu_rel_err, r.relu_rel_err_small, r.relu_lam_inf) == (pytest.approx(0.01), pytest.approx(0.1), 2.0)
    assert ch2.equations_exact({"a": np.array([1e-9, 2e-9]), "b": np.array([3e-10])}).worst_residual == 2e-9


# ------------------------------------------------------------------ chapter 3's measurements


def test_three_models_and_outcomes():
    cs = np.array([1.0, 1.5, 2.5, 3.5, 8.0, 48.0])
    etas = cs / 2.0
    net = SimpleNamespace(test_accuracy=np.array([0.80, 0.82, 0.85, 0.86, 0.84, 0.1]),
                          train_accuracy=np.array([0.95, 0.96, 0.97, 0.98, 0.95, 0.1]),
                          divergent=np.array([False] * 5 + [True]))
    lin0 = SimpleNamespace(test_accuracy=np.array([0.81, 0.80, np.nan, np.nan, np.nan, np.nan]),
                           divergent=cs > 2)
    lin10 = SimpleNamespace(test_accuracy=np.array([0.8, 0.8, 0.86, 0.85, 0.7, np.nan]),
                            lam=np.array([2.0, 2.0, 1.2, 0.9, 0.5, np.nan]))
    m = ch3.three_models(cs, etas, net, lin0, lin10, chance=0.1)
    assert m.gap_lazy == pytest.approx(2.0) and m.gap_catapult == pytest.approx(1.0)
    assert m.max_lam10 == pytest.approx(1.75 * 0.9) and m.max_trainable == 8.0 and m.collapse_c == 48.0
    assert (m.best_c, m.best_acc, m.lin0_best_acc) == (3.5, 0.86, 0.81)
    out = ch3.outcomes(cs, net, lin0, np.array([1e-2, 5e-3, 6e-3]))
    assert out.lin0_diverges_iff_above_crit.all() and out.trains_in_catapult.tolist() == [True, True]
    assert out.kernel_change_falls.tolist() == [True, False]


def test_function_space_check_and_kernel_velocity():
    a = SimpleNamespace(loss=np.array([[1.0, 0.5]]), test_loss=np.array([2.0]))
    b = SimpleNamespace(loss=np.array([[1.0, 0.5 * (1 + 1e-6)]]), test_loss=np.array([2.0 * (1 + 1e-5)]))
    c = ch3.function_space_check(a, b)
    assert c.check_dev == c.check_dev_test == pytest.approx(1e-5, rel=1e-3) and c.check_dev_train < c.check_dev
    widths = np.array([128, 512, 2048])
    v = ch3.kernel_velocity(widths, widths ** -0.5, widths ** -0.25)
    assert (v.velocity_slope, v.velocity_lazy_slope, v.velocity_ratio) == (
        pytest.approx(-0.5), pytest.approx(-0.25), pytest.approx(4.0))
    assert ch3.curvature(4.0) == ch3.Curvature(lam0=4.0, eta_crit=0.5)
