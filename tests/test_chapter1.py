"""Chapter 1 (warmup model): its claims on hand-built records, each failing alone when its
measured value crosses its bound, and its measurement functions on small synthetic inputs."""


import numpy as np
import pytest
from claim_cases import claim_tests

from catapult import fits, warmup
from catapult.chapters import full_model as ch2
from catapult.chapters import linearization as ch3
from catapult.chapters import warmup_model as ch1
from catapult.scales import SCALES, settings

IDS = [
    "exact_equals_gd", "eta_crit", "eta_max", "lazy_kernel_constant", "lazy_shift_formula", "catapult_converges",
    "catapult_flattens", "final_curvature_limit", "catapult_loss_rises",
    "divergent_blows_up", "duration_per_decade", "peak_loss_scales_with_n", "peak_loss_per_n",
    "peak_loss_dwarfs_initial", "critical_exponent_below",
    "critical_exponent_above", "critical_exponent_finite_size",
]


def records() -> dict:
    return dict(
        cfg=settings("01_warmup_model", "smoke"),
        gd=ch1.GDAgreement(gd_dev=2e-15, gd_dev_divergent=1e-6, gd_dev_linearized=7e-4),
        thr=ch1.Thresholds(crit=np.array([2.003, 2.002, 2.0025]), max=np.array([[4.0, 4.0], [4.0, 4.0]])),
        lazy=ch1.LazyKernel(shift_ratio_err=0.015, shift_err_control=0.4, lazy_exponent=-1.003, lazy_scaled_max=2.1),
        cat=ch1.CatapultEnd(catapult_runs=100, catapult_converged=100, median_steps=20, slowest_steps=5000, flat_ratio=0.80,
                            final_curvature_max=1.8, final_first=1.769, limit_first=1.770, final_second=1.282,
                            limit_second=1.282, limit_err=0.001, limit_wide_err=1e-5, exponent_first=-1.0,
                            exponent_second=-1.3),
        phases=ch1.PhaseChecks(catapult_loss_rose=np.ones(5, bool), divergent_blew_up=np.ones(3, bool)),
        dur=ch1.Duration(slope_per_decade=2.7, predicted_per_decade=2.6, duration_r2=0.99, peak_per_n=0.1,
                         duration_slope=1.17, peak_ratio=0.94, loss0_median=0.23, peak_per_n_worst=0.05,
                         peak_over_l0_min=120.0),
        crit=ch1.CriticalExponents(exp_below=-0.96, exp_above=-0.82, exp_above_mid=-0.90, exp_above_wide=-0.93,
                                   exp_estimate=-0.81, exp_estimate_mid=-0.86, exp_estimate_wide=-0.90),
    )


def _no(n: int, at: int = 0) -> np.ndarray:
    """n passing cases but the one at ``at``."""
    passed = np.ones(n, bool)
    passed[at] = False
    return passed


#: (claim id, record, changes): the record's fields that push that claim past its bound (each the
#: outcome that theory forbids, e.g. a boundary at the wrong place, a kernel moving by n^-1/2, a
#: curvature that stops at 2/η, an exponent that does not depend on width).
BEYOND = [
    ("exact_equals_gd", "gd", dict(gd_dev=1e-9)),
    ("eta_crit", "thr", dict(crit=np.array([2.003, 2.02, 2.0025]))),
    ("eta_crit", "thr", dict(crit=np.array([2.003, 1.98, 2.0025]))),
    ("eta_crit", "thr", dict(crit=np.array([2.003, np.nan, 2.0025]))),
    ("eta_max", "thr", dict(max=np.array([[4.0, 3.98], [4.0, 4.0]]))),
    ("lazy_kernel_constant", "lazy", dict(lazy_exponent=-0.5)),
    ("lazy_kernel_constant", "lazy", dict(lazy_exponent=-1.06)),
    ("lazy_shift_formula", "lazy", dict(shift_ratio_err=0.06)),
    ("catapult_converges", "cat", dict(catapult_converged=89)),  # at least NEARLY_ALL (90 %) must converge
    ("catapult_flattens", "cat", dict(flat_ratio=2.0 / 2.2)),
    ("final_curvature_limit", "cat", dict(limit_err=0.03)),
    ("catapult_loss_rises", "phases", dict(catapult_loss_rose=_no(5, 2))),
    ("divergent_blows_up", "phases", dict(divergent_blew_up=_no(3))),
    ("duration_per_decade", "dur", dict(slope_per_decade=3.2)),
    ("peak_loss_scales_with_n", "dur", dict(peak_ratio=1.4)),
    ("peak_loss_per_n", "dur", dict(peak_per_n_worst=0.07)),
    ("peak_loss_dwarfs_initial", "dur", dict(peak_over_l0_min=8.0)),
    ("critical_exponent_below", "crit", dict(exp_below=-1.25)),
    ("critical_exponent_above", "crit", dict(exp_above=-0.69)),
    ("critical_exponent_finite_size", "crit", dict(exp_above_mid=-0.80)),
    ("critical_exponent_finite_size", "crit", dict(exp_above_wide=-0.89)),
]


(
    test_claims_have_the_chapters_ids_and_hold_on_good_records,
    test_every_claim_has_a_case_beyond_its_bound,
    test_a_claim_fails_alone_beyond_its_bound,
) = claim_tests(ch1.claims, records, IDS, BEYOND)


# ------------------------------------------------------------------ chapter 1's measurements


@pytest.mark.parametrize("scale", SCALES)
def test_prose_settings_have_the_types_their_formats_need(scale):
    for module, chapter in ((ch1, "01_warmup_model"), (ch2, "02_full_model"), (ch3, "03_linearization")):
        record = module.prose_settings(settings(chapter, scale))
        for name, hint in module.ProseSettings.__annotations__.items():
            value = getattr(record, name)
            if hint == "int":  # glued with "{:d}"
                assert isinstance(value, int), (chapter, name, value)


def test_gd_agreement_separates_the_divergent_runs():
    gd = ch1.gd_agreement(np.array([1e-16, 2e-15, 3e-16, 1e-6]), ["lazy", "catapult", "catapult", "divergent"],
                          np.array([1e-3, 1e5, 1e6, 1e9]))
    assert gd == ch1.GDAgreement(gd_dev=2e-15, gd_dev_divergent=1e-6, gd_dev_linearized=1e6)


def test_boundaries_and_fig2_scales():
    cs = np.array([1.0, 1.5, 2.0, 2.5, 3.5, 4.0, 4.5])
    lazy, cat, div = (warmup.PHASES.index(p) for p in ("lazy", "catapult", "divergent"))
    thr = ch1.Thresholds(crit=np.array([2.001, 2.004, 1.999]), max=np.array([4.0, 4.002, 4.0]))
    b = ch1.boundaries(cs, np.array([lazy, lazy, lazy, cat, cat, cat, div]), thr)
    # the init farthest from the prediction counts; the sweep's own boundaries are shown beside
    assert b == ch1.Boundaries(c_crit_measured=2.004, c_crit_spread=pytest.approx(0.005), c_max_measured=4.002,
                               c_max_spread=pytest.approx(0.002), c_crit_loss_rose=2.5, c_max_sweep=4.5, grid_step=0.5)
    none = ch1.boundaries(cs, np.full(7, lazy), ch1.Thresholds(crit=np.array([np.nan, 2.0]), max=np.array([4.0, 4.0])))
    assert np.isnan(none.c_crit_measured) and np.isnan(none.c_max_sweep)
    assert ch1.fig2_scales(2.0) == ch1.Fig2Scales(2.0, 1.0, 2.0)


def test_bisection_finds_the_boundaries_at_2_and_4_without_assuming_them():
    cfg = settings("01_warmup_model", "smoke")
    thr = ch1.thresholds(cfg)
    assert thr.crit.shape == (cfg.probe_seeds,) and thr.max.shape == (cfg.probe_seeds, len(ch1.MAX_WIDTHS))
    # λ moves by more than probe_moved·λ0 just above 2 (the step budget ends the slowest catapults)
    assert np.all((thr.crit > 2.0) & (thr.crit < 2.0 + ch1.THRESHOLD_TOL))
    assert np.all(np.abs(thr.max - 4.0) < 1e-5)  # eq. 7: κ − 4 only grows once positive


def test_bisect_c_brackets_or_says_nan():
    init = warmup.draw_init(0, 1000.0, (3,))
    mx = warmup.bisect_c(init, 1000.0, 3.0, 4.6, lambda i, e: e.diverged, 500, iters=30)
    assert mx == pytest.approx([4.0] * 3, abs=1e-8)
    assert np.isnan(warmup.bisect_c(init, 1000.0, 4.2, 4.6, lambda i, e: e.diverged, 500)).all()


def test_repeats_give_every_claim_a_chance_to_fail_at_another_seed():
    cfg = settings("01_warmup_model", "smoke").replace(repeats=2)
    reps = ch1.repeats(cfg)
    assert len(reps) == 2 and set(reps.values[0]) == set(IDS)
    assert isinstance(reps.values[0]["catapult_converges"], tuple)  # (failed, runs) for a fraction
    rec = records()
    out = ch1.claims(**{**rec, "cfg": cfg}, reps=reps)
    assert all(c.chance is not None and 0.0 <= c.chance <= 1.0 and c.control for c in out), [
        (c.id, c.chance, c.control) for c in out if c.chance is None or not c.control]
    assert {c.id: c.chance for c in out}["eta_max"] == 0.0  # seed-free: eq. 7


def test_lazy_runs_scale_like_one_over_n_and_match_the_shift():
    cfg = settings("01_warmup_model", "smoke", lazy_seeds=16)
    runs = ch1.lazy_runs(cfg)
    assert runs.change.shape == (16, len(cfg.lazy_cs), len(cfg.lazy_widths))
    lazy = ch1.lazy_kernel(runs)
    assert lazy.lazy_exponent == pytest.approx(-1.0, abs=0.02)
    assert lazy.shift_ratio_err < 0.03
    assert lazy.shift_err_control > 0.1  # near c = 2 at small width the leading order is not enough


def test_lazy_kernel_picks_the_exponent_farthest_from_minus_one():
    widths = np.array([1e2, 1e3, 1e4])
    scaled = np.stack([np.full(3, 1.0), widths**0.5], axis=0)[None]  # c0: ∝ 1/n after dividing; c1: ∝ n^-1/2
    runs = ch1.LazyRuns(widths=widths, cs=np.array([0.5, 1.0]), change=scaled / widths, scaled=scaled,
                        shift_cs=np.array([1.0]), shift_err=np.array([[0.01]]), control_err=np.array([0.3]))
    np.testing.assert_allclose(ch1.lazy_exponents(runs), [-1.0, -0.5])
    lazy = ch1.lazy_kernel(runs)
    assert lazy.lazy_exponent == pytest.approx(-0.5)
    assert (lazy.shift_ratio_err, lazy.shift_err_control) == (0.01, 0.3)


def test_catapult_runs_converge_and_land_on_the_limit():
    cfg = settings("01_warmup_model", "smoke", catapult_seeds=4, limit_seeds=16, catapult_points=6)
    cat = ch1.catapult_end(ch1.catapult_runs(cfg))
    assert cat.catapult_runs == 4 * 6 * len(cfg.catapult_widths)
    assert cat.catapult_converged == cat.catapult_runs
    assert cat.flat_ratio < ch1.FLAT_RATIO and cat.final_curvature_max < 2.0
    assert (cat.limit_first, cat.limit_second) == (pytest.approx(1.770, abs=1e-3), pytest.approx(1.282, abs=1e-3))
    assert cat.limit_err < ch1.LIMIT_TOL and cat.limit_wide_err < cat.limit_err / 10  # the gap shrinks with width
    assert cat.exponent_first < -0.5 and cat.exponent_second < -0.5


def test_phase_checks_on_three_runs():
    cs = np.array([1.0, 3.0, 4.5])
    f = np.array([[1.0, 0.5, 0.25], [1.0, 3.0, 1e-3], [1.0, 10.0, np.nan]])
    lam = np.array([[2.0, 2.0, 2.0], [2.0, 1.5, 0.6], [2.0, 3.0, np.nan]])
    traj = warmup.Trajectory(f, lam, np.array([False, False, True]), np.array([-1, -1, 2]))
    phases = np.array([warmup.PHASES.index(p) for p in ("lazy", "catapult", "divergent")])
    checks = ch1.phase_checks(cs, traj, phases)
    assert checks.catapult_loss_rose.tolist() == [True]
    assert checks.divergent_blew_up.tolist() == [True]


def test_duration_from_a_width_sweep():
    widths = np.array([1e2, 1e3, 1e4])
    peak = widths[:, None] * np.array([[0.1, 0.1], [0.1, 0.1], [0.2, 0.2]])
    ws = warmup.WidthSweep(widths, np.zeros((3, 2)), peak, np.full((3, 2), 0.5), np.ones((3, 2), bool),
                           fits.LineFit(slope=1.0, intercept=0.0, r2=0.99))
    d = ch1.duration(ws, 2.5)
    assert d.slope_per_decade == pytest.approx(np.log(10)) and d.duration_slope == 1.0 and d.duration_r2 == 0.99
    assert d.predicted_per_decade == warmup.duration_slope_per_decade(2.5)
    assert (d.peak_per_n, d.peak_ratio, d.loss0_median) == (pytest.approx(0.1), pytest.approx(2.0), 0.5)


def test_critical_exponents_and_the_finite_size_claim():
    fit = lambda p: fits.LineFit(slope=p, intercept=0.0, r2=1.0)  # noqa: E731
    eps = np.geomspace(0.01, 0.2, 4)
    sweeps = [warmup.CriticalSweep(eps, np.ones((4, 1)), np.ones((4, 1)), fit(-0.95), fit(p))
              for p in (-0.82, -0.90, -0.93)]
    crit = ch1.critical_exponents(sweeps, (16_000, 10**6, 10**8), 1e-6)
    assert crit[:4] == (-0.95, -0.82, -0.90, -0.93)
    # the finite-width estimate: about -0.8 at 16,000, steepening towards -1
    assert crit.exp_estimate == pytest.approx(-0.81, abs=0.02)
    assert crit.exp_estimate > crit.exp_estimate_mid > crit.exp_estimate_wide > -1.0
    # overshooting -1 also counts as not approaching it
    inputs = records()
    inputs["crit"] = crit._replace(exp_above_wide=-1.12)
    assert [c.id for c in ch1.claims(**inputs) if not c.holds] == ["critical_exponent_finite_size"]


def test_prose_and_bounds_are_glued_as_numbers_and_text():
    for scale in SCALES:
        record = ch1.prose_settings(settings("01_warmup_model", scale))
        for name, value in record._asdict().items():
            fmt = ch1.PROSE_FORMATS.get(name, ch1.PROSE_FORMATS["fmt"])
            assert fmt.format(value), name  # every field formats with its format
    text = ch1.bounds_text()
    assert text.bound_shift == f"{ch1.SHIFT_RTOL:.0%}" and text.bound_flat == f"{ch1.FLAT_RATIO:g}"


def test_kink_sharpens_with_width_and_the_linearized_model_fails_it():
    """Sec. 4.2 / App. E.1 on the warmup model itself (float64, fast): the change of slope across
    c = 2 approaches the limit curve's as n grows; a kernel that never moves shows none."""
    cfg = settings("01_warmup_model", "smoke").replace(kink_seeds=32, kink_widths=(1e2, 1e4))
    k = ch1.kink(cfg)
    assert k.kappa.shape == (32, 4, 2) and k.limit_change < -2  # right slope ≈ −1.2, left 1
    np.testing.assert_allclose(k.kappa[:, :2, -1], np.broadcast_to(k.cs[:2], (32, 2)), rtol=2e-2)  # lazy: ηλ = c up to O(1/n)
    [claim] = ch1.kink_claims(cfg, k)
    assert claim.holds and claim.n == 32 and claim.control
    frozen = k._replace(kappa=np.broadcast_to(k.cs[None, :, None], k.kappa.shape),
                        slope_change=np.zeros_like(k.slope_change))  # the linearized model: ηλ_final = c
    assert not ch1.kink_claims(cfg, frozen)[0].holds
    smooth_everywhere = k._replace(slope_change=np.repeat(k.slope_change[:, :1], 2, axis=1))  # no sharpening
    assert not ch1.kink_claims(cfg, smooth_everywhere)[0].holds
    with pytest.raises(ValueError, match="kink_delta"):
        ch1.kink(cfg.replace(kink_delta=0.0))
