"""Chapter 1 (warmup model): its claims on hand-built records, each failing alone when its
measured value crosses its bound, and its measurement functions on small synthetic inputs."""


import numpy as np
import pytest

from catapult import fits, warmup
from catapult.chapters import full_model as ch2
from catapult.chapters import linearization as ch3
from catapult.chapters import warmup_model as ch1
from catapult.scales import SCALES, settings

IDS = [
    "exact_equals_gd", "eta_crit", "eta_max", "lazy_kernel_constant", "lazy_shift_formula", "catapult_flat",
    "catapult_loss_rises", "divergent_blows_up", "duration_log_n_slope", "duration_log_n_r2", "duration_per_decade",
    "peak_loss_scales_with_n", "critical_exponent_below", "critical_exponent_above", "s1_slice_invariant",
]


def records() -> dict:
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


def _no(n: int, at: int = 0) -> np.ndarray:
    """n passing cases but the one at ``at``."""
    passed = np.ones(n, bool)
    passed[at] = False
    return passed


#: (claim id, record, changes): the record's fields that push that claim past its bound.
BEYOND = [
    ("exact_equals_gd", "gd", dict(gd_dev=1e-9)),
    ("eta_crit", "bounds", dict(c_crit_measured=2.1)),
    ("eta_max", "bounds", dict(c_max_measured=3.9)),
    ("lazy_kernel_constant", "lazy", dict(lazy_rel_change=5.1)),
    ("lazy_shift_formula", "lazy", dict(shift_ratio_err=0.06)),
    ("catapult_flat", "phases", dict(catapult_final_curvature=2.01)),
    ("catapult_loss_rises", "phases", dict(catapult_loss_rose=_no(5, 2))),
    ("divergent_blows_up", "phases", dict(divergent_blew_up=_no(3))),
    ("duration_log_n_slope", "dur", dict(duration_slope=-0.1)),
    ("duration_log_n_r2", "dur", dict(duration_r2=0.85)),
    ("duration_per_decade", "dur", dict(slope_per_decade=3.2)),
    ("peak_loss_scales_with_n", "dur", dict(peak_ratio=1.4)),
    ("critical_exponent_below", "crit", dict(exp_below=-1.25)),
    ("critical_exponent_above", "crit", dict(exp_above=-0.75)),
    ("s1_slice_invariant", "off_slice", 1e-7),
]


def test_claims_have_the_chapters_ids_and_hold_on_good_records():
    checks = ch1.claims(**records())
    assert [c.id for c in checks] == IDS
    assert [c.id for c in checks if not c.holds] == []
    assert all(c.statement and c.source for c in checks)


def test_every_claim_has_a_case_beyond_its_bound():
    assert sorted(i for i, _, _ in BEYOND) == sorted(IDS)


@pytest.mark.parametrize("claim_id, name, changes", BEYOND, ids=[i for i, _, _ in BEYOND])
def test_a_claim_fails_alone_beyond_its_bound(claim_id, name, changes):
    inputs = records()
    inputs[name] = inputs[name]._replace(**changes) if isinstance(changes, dict) else changes
    failing = [c for c in ch1.claims(**inputs) if not c.holds]
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
