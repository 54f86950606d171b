"""The warmup model (Sec. 2.1): the closed form against gradient descent, and the physics."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from catapult import warmup as w
from catapult.precision import float64 as enable_x64
from catapult.scales import settings


def batch_init(seed: int, n: float, seeds: int) -> w.Init:
    return w.sample_init(jax.random.PRNGKey(seed), n, (seeds,))


def run_at(init: w.Init, c: float, n: float, steps: int) -> tuple[np.ndarray, w.Trajectory]:
    eta = (c / np.asarray(init.lam0, dtype=float)).astype(np.float32)
    return eta, w.simulate(init, eta, n, steps)


# ------------------------------------------------------------ exact dynamics


def test_exact_step_matches_hand_computation():
    u = np.array([0.3, -1.2, 0.7])
    v = np.array([1.1, 0.4, -0.5])
    n, eta = 3, 0.37
    f = v @ u / np.sqrt(n)
    lam = (u @ u + v @ v) / n
    u2 = u - eta / np.sqrt(n) * f * v
    v2 = v - eta / np.sqrt(n) * f * u
    with enable_x64():
        f_next, lam_next = w.exact_step(jnp.float64(f), jnp.float64(lam), eta, n)
    assert float(f_next) == pytest.approx(v2 @ u2 / np.sqrt(n), rel=1e-13)
    assert float(lam_next) == pytest.approx((u2 @ u2 + v2 @ v2) / n, rel=1e-13)


@pytest.mark.parametrize("n", [10, 1000, 10_000])
def test_closed_form_reproduces_parameter_gd_in_float64(n):
    cs = [0.5, 1.5, 1.99, 2.2, 3.0, 3.9]
    _, dev = w.compare_with_gd(jax.random.PRNGKey(n), n, cs, steps=200)
    assert dev.max() <= 1e-10, dev


def test_closed_form_tracks_divergent_gd_until_blow_up():
    _, dev = w.compare_with_gd(jax.random.PRNGKey(1), 1000, [4.1, 4.5], steps=100)
    assert dev.max() <= 1e-6, dev


def test_closed_form_matches_gd_in_float32_to_float_tolerance():
    u, v = w.init_params(jax.random.PRNGKey(3), 1000)
    lam0 = float(w.curvature(u, v))
    etas = np.array([0.5, 1.5, 2.5]) / lam0
    gd = w.simulate_gd(u, v, etas.astype(np.float32), 60).traj
    init = w.Init(jnp.full(3, w.output(u, v)), jnp.full(3, lam0, jnp.float32))
    exact = w.simulate(init, etas.astype(np.float32), 1000, 60)
    assert w.max_relative_deviation(exact, gd) < 1e-2


def test_sample_init_has_the_distribution_of_gaussian_weights():
    n, m = 400, 4000
    init = w.sample_init(jax.random.PRNGKey(0), n, (m,), dtype=jnp.float32)
    keys = jax.random.split(jax.random.PRNGKey(1), m)
    uv = jax.vmap(lambda k: w.init_params(k, n))(keys)
    f_direct = np.asarray(jax.vmap(w.output)(*uv))
    lam_direct = np.asarray(jax.vmap(w.curvature)(*uv))
    f0, lam0 = np.asarray(init.f0), np.asarray(init.lam0)
    # f0 ~ N(0, 1) to O(1/n); λ0 has mean 2 and variance 4/n.
    for a, b in [(f0, f_direct), (lam0, lam_direct)]:
        assert abs(a.mean() - b.mean()) < 4 * b.std() / np.sqrt(m) + 1e-3
        assert a.std() == pytest.approx(b.std(), rel=0.08)
    assert lam0.mean() == pytest.approx(2.0, abs=0.01)
    assert lam0.var() == pytest.approx(4.0 / n, rel=0.1)


def test_subspace_is_invariant_and_matches_its_closed_form():
    n = 500
    u0, v0 = w.subspace_init(n, lam0=2.0, f0=4.0)
    assert float(w.curvature(u0, v0)) == pytest.approx(2.0, rel=1e-6)
    assert float(w.output(u0, v0)) == pytest.approx(4.0, rel=1e-5)
    run = w.simulate_gd(u0, v0, np.array([1.5, 3.0, 4.2]) / 2.0, 40, keep_params=True)
    a, b, off = w.subspace_coords(run.u, run.v)
    assert np.nanmax(off) == 0.0
    ok = np.isfinite(a) & (np.abs(a) < 1e3)
    f = (a**2 - b**2) / np.sqrt(n)
    np.testing.assert_allclose(f[ok], run.traj.f[ok], rtol=1e-3, atol=1e-3)
    L = w.slice_loss(a, b, n)
    np.testing.assert_allclose(L[ok], run.traj.loss[ok], rtol=2e-3, atol=1e-6)


# --------------------------------------------------------------- the phases


@pytest.mark.parametrize(
    "c, phase",
    [(0.5, w.LAZY), (1.9, w.LAZY), (2.1, w.CATAPULT), (2.5, w.CATAPULT), (3.0, w.CATAPULT),
     (3.5, w.CATAPULT), (3.9, w.CATAPULT), (4.01, w.DIVERGENT), (4.5, w.DIVERGENT)],
)
def test_classification_on_both_sides_of_each_boundary(c, phase):
    init = batch_init(0, 1e4, 16)
    _, traj = run_at(init, c, 1e4, 3000)
    assert (w.classify(traj) == phase).all()
    assert w.predicted_phase(c) == phase


@pytest.mark.parametrize("c, limit", [(2.2, 1.770), (2.5, 1.282)])
def test_catapult_limit_curvature(c, limit):
    init = batch_init(1, 1e4, 16)
    eta, traj = run_at(init, c, 1e4, 2000)
    final = eta * traj.lam[:, -1]
    assert (final < 2.0).all()
    assert np.median(final) == pytest.approx(limit, abs=0.02)
    assert (traj.lam[:, -1] <= 0.85 * np.asarray(init.lam0)).all()


def test_limit_final_curvature_matches_the_known_values_and_large_width_runs():
    assert w.limit_final_curvature([2.05, 2.1, 2.2, 2.3, 2.5, 2.7]) == pytest.approx(
        [1.948, 1.893, 1.770, 1.628, 1.282, 0.865], abs=1e-3)
    assert w.limit_final_curvature(2.001) == pytest.approx(4 - 2.001, abs=2e-3)
    # independent of the vanishing h0 and close to runs at n = 1e6
    assert w.limit_final_curvature(2.4, h0=1e-6) == pytest.approx(w.limit_final_curvature(2.4, h0=1e-12), abs=1e-4)
    init = batch_init(3, 1e6, 8)
    eta, traj = run_at(init, 2.4, 1e6, 3000)
    assert np.median(eta * traj.lam[:, -1]) == pytest.approx(w.limit_final_curvature(2.4)[0], abs=0.005)
    for bad in (1.9, 3.0):
        with pytest.raises(ValueError, match="defined for"):
            w.limit_final_curvature(bad)


def test_catapult_duration_grows_near_eta_crit_and_with_width():
    d = w.catapult_duration(jax.random.PRNGKey(0), 2048, [2.1, 2.2, 3.0])
    assert d[0] > d[1] > d[2] > 0 and d[1] > 10  # at the paper's width 2048 step 10 is too early near η_crit
    assert w.catapult_duration(jax.random.PRNGKey(0), 10**6, [2.2])[0] > d[1]
    with pytest.raises(ValueError, match="catapult phase"):
        w.catapult_duration(jax.random.PRNGKey(0), 2048, [1.5])


def test_lazy_phase_kernel_shift_matches_leading_order():
    n = 1e4
    init = batch_init(2, n, 32)
    for c in [0.5, 1.0, 1.5]:
        eta, traj = run_at(init, c, n, 400)
        measured = traj.lam[:, -1] - np.asarray(init.lam0)
        predicted = w.lazy_shift(init, eta, n)
        assert traj.loss[:, -1].max() < 1e-10
        assert np.all(np.abs(measured) <= 10 * np.asarray(init.f0) ** 2 / n + 1e-6)
        # Compare where the shift is well above float32 resolution of λ (~2e-7).
        big = np.abs(predicted) > 2e-5
        np.testing.assert_allclose(measured[big], predicted[big], rtol=0.05)


def test_divergence_is_recorded_not_raised():
    for n in [1e3, 1e4, 1e5]:
        init = batch_init(3, n, 8)
        _, traj = run_at(init, 4.01, n, 2000)
        assert traj.diverged.all()
        assert (traj.diverged_at > 0).all()
        assert np.isnan(traj.loss[:, -1]).all()
        assert (w.classify(traj) == w.DIVERGENT).all()
        assert (w.peak_loss(traj) > 1e6 * traj.loss[:, 0]).all()


def test_loss_peak_grows_like_width():
    ws = w.width_sweep(jax.random.PRNGKey(4), [1e3, 1e4, 1e5], 50, 2.5, 200)
    per_n = np.median(ws.peak_loss / ws.widths[:, None], axis=1)
    assert per_n == pytest.approx([0.054] * 3, abs=0.01)
    assert (ws.peak_loss[1:] / ws.loss0[1:] > 10).all()
    assert ws.converged.all()


def test_duration_grows_logarithmically_with_width():
    widths = np.logspace(2, 6, 5)
    for c in [2.5, 3.0]:
        ws = w.width_sweep(jax.random.PRNGKey(5), widths, 64, c, 400)
        per_decade = ws.fit.slope * np.log(10)
        assert per_decade == pytest.approx(w.duration_slope_per_decade(c), rel=0.2)
        assert ws.fit.slope > 0 and ws.fit.r2 > 0.9


@pytest.mark.parametrize("scale", ["smoke", "ci"])
def test_chapter_duration_sweep_grows_along_a_line_in_log_n(scale):
    """Chapter 1's width sweep (formerly the claims duration_log_n_slope and duration_log_n_r2):
    the duration grows with ln n, along a straight line."""
    cfg = settings("01_warmup_model", scale)
    for seed in range(2):
        ws = w.width_sweep(jax.random.PRNGKey(seed), cfg.duration_widths, cfg.duration_seeds, cfg.duration_c,
                           cfg.duration_steps)
        assert ws.fit.slope > 0
        assert ws.fit.r2 > 0.9


def test_chapter_s1_runs_never_leave_the_slice():
    """Chapter 1's Fig. S1 runs (formerly the claim s1_slice_invariant): GD started on the slice
    u = a ê1 + b ê2, v = a ê1 − b ê2 stays on it exactly, in every phase."""
    cfg = settings("01_warmup_model", "ci")
    u0, v0 = w.subspace_init(cfg.s1_width, cfg.s1_lam0, cfg.s1_f0)
    run = w.simulate_gd(u0, v0, np.asarray(cfg.s1_cs) / cfg.s1_lam0, cfg.s1_steps, keep_params=True)
    _, _, off = w.subspace_coords(run.u, run.v)
    assert np.nanmax(off) == 0.0
    assert run.traj.diverged.tolist() == [c > w.C_MAX for c in cfg.s1_cs]


def test_critical_slowing_down_exponents():
    crit = w.critical_sweep(jax.random.PRNGKey(6), 16_000, np.geomspace(0.01, 0.2, 8), 32, 5000)
    assert crit.fit_below.slope == pytest.approx(-1.0, abs=0.1)
    assert crit.fit_above.slope == pytest.approx(-0.85, abs=0.15)


def test_boundaries_and_at_time():
    cs = np.array([1.0, 1.9, 2.1, 3.9, 4.1, 4.5])
    phases = np.array([w.LAZY, w.LAZY, w.CATAPULT, w.UNCONVERGED, w.DIVERGENT, w.DIVERGENT])
    assert w.boundaries(cs, phases) == (2.1, 4.1)
    x = np.arange(12.0).reshape(2, 6)
    np.testing.assert_array_equal(w.at_time(x, np.array([1.0, 0.5]), 2.0), [2.0, 10.0])
    assert np.isnan(w.at_time(x, np.array([0.1, 1.0]), 2.0)[0])


# ------------------------------------------ many seeds at once: numpy float64 (endpoints)


def test_draw_init_has_the_distribution_of_gaussian_weights_and_sample_init_uses_it():
    init = w.draw_init((0, 1), 400, (20_000,))
    assert init.lam0.mean() == pytest.approx(2.0, abs=0.01)
    assert init.lam0.var() == pytest.approx(4.0 / 400, rel=0.05)
    assert init.f0.var() == pytest.approx(1.0, rel=0.05)
    assert np.array_equal(w.draw_init((0, 1), 400, (20_000,)).f0, init.f0)
    assert not np.array_equal(w.draw_init((0, 2), 400, (20_000,)).f0, init.f0)
    a = w.sample_init(jax.random.PRNGKey(7), 1000, (3,))
    b = w.sample_init(jax.random.PRNGKey(7), 1000, (3,))
    c = w.sample_init(jax.random.PRNGKey(8), 1000, (3,))
    assert np.array_equal(a.f0, b.f0) and not np.array_equal(a.f0, c.f0)
    assert a.f0.dtype == jnp.float32
    wide = w.sample_init(jax.random.PRNGKey(0), np.array([[1e2], [1e6]]), (2, 500))
    assert np.asarray(wide.lam0)[1].std() < np.asarray(wide.lam0)[0].std() / 10


def test_endpoints_agree_with_the_jax_iteration_in_float64():
    cs = np.array([0.5, 1.5, 1.9, 2.2, 2.5, 3.0, 3.5, 4.1])
    n = 1000.0
    init = w.Init(np.full(cs.shape, 0.7), np.full(cs.shape, 2.1))
    e = w.endpoints(init, cs, n, 400)
    with enable_x64():
        traj = w.simulate(w.Init(jnp.asarray(init.f0), jnp.asarray(init.lam0)), cs / 2.1, n, 400)
    steps = w.steps_to_converge(traj)
    for i, c in enumerate(cs):
        if c > w.C_MAX:
            assert e.diverged[i] and traj.diverged[i] and not e.converged[i]
            continue
        t = e.converged_at[i]
        assert t == steps[i] if c < w.C_CRIT else t >= steps[i]
        assert e.lam_final[i] == pytest.approx(traj.lam[i, t], rel=1e-12)
        assert e.lam_shift[i] == pytest.approx(traj.lam[i, t] - 2.1, rel=1e-9, abs=1e-14)
        assert e.peak_loss[i] == pytest.approx(np.nanmax(traj.loss[i, : t + 1]), rel=1e-12)


def test_endpoints_keep_a_tiny_lazy_shift_and_finish_slow_runs_one_by_one():
    # f0 = 1e-6 at n = 1e4: the shift is ~1e-16, below the rounding of λ itself
    init = w.Init(np.array([1e-6, 1.0]), np.array([2.0, 2.0]))
    e = w.endpoints(init, 1.0, 1e4, 1000, settle=True)
    np.testing.assert_allclose(e.lam_shift, w.lazy_shift(init, e.eta, 1e4), rtol=1e-3)
    # a catapult run with a tiny loss at step 0 has not converged: it has yet to catapult
    e = w.endpoints(w.Init(np.array([1e-4]), np.array([2.0])), 2.5, 1e4, 500)
    assert e.converged_at[0] > 10 and e.eta[0] * e.lam_final[0] == pytest.approx(1.282, abs=0.01)
    # the vectorised loop and the one-by-one tail give the same numbers
    init = w.draw_init(3, 1e3, (40,))
    many = w.endpoints(init, 3.7, 1e3, 100_000)
    one = [w.endpoints(w.Init(init.f0[i : i + 1], init.lam0[i : i + 1]), 3.7, 1e3, 100_000) for i in range(40)]
    assert many.converged.all()
    np.testing.assert_array_equal(many.converged_at, [o.converged_at[0] for o in one])
    np.testing.assert_allclose(many.lam_final, [o.lam_final[0] for o in one], rtol=1e-15)


def test_endpoints_budget_and_bad_input():
    e = w.endpoints(w.Init(np.array([1.0]), np.array([2.0])), 1.999, 1e4, 50)
    assert not e.converged[0] and not e.diverged[0]  # out of budget: neither
    with pytest.raises(ValueError, match="max_steps"):
        w.endpoints(w.Init(1.0, 2.0), 1.0, 100, 0)
    with pytest.raises(ValueError, match="c = eta"):
        w.endpoints(w.Init(1.0, 2.0), -1.0, 100, 10)
    with pytest.raises(ValueError, match="width"):
        w.endpoints(w.Init(1.0, 2.0), 1.0, 0, 10)
    with pytest.raises(ValueError, match="width"):
        w.draw_init(0, -5, (2,))
    assert np.isnan(w.moved_boundary([1.0, 2.0], [False, False]))
    assert w.moved_boundary([1.0, 2.0, 3.0], [False, True, True]) == 2.0


# ------------------------------------------------------------------ bad input


@pytest.mark.parametrize("n", [0, -5, 2.5, float("nan"), True, "100"])
def test_bad_width_raises(n):
    with pytest.raises(ValueError, match="width"):
        w.init_params(jax.random.PRNGKey(0), n)


@pytest.mark.parametrize("eta", [0.0, -0.1, float("nan"), float("inf"), "fast"])
def test_bad_learning_rate_raises(eta):
    init = w.Init(jnp.float32(1.0), jnp.float32(2.0))
    with pytest.raises(ValueError, match="learning rate"):
        w.simulate(init, eta, 100, 10)
    u, v = w.init_params(jax.random.PRNGKey(0), 10)
    with pytest.raises(ValueError, match="learning rate"):
        w.simulate_gd(u, v, [0.1, eta], 10)


def test_bad_widths_and_steps_raise():
    init = w.Init(jnp.float32(1.0), jnp.float32(2.0))
    with pytest.raises(ValueError, match="width"):
        w.simulate(init, 0.5, [100, -1], 10)
    with pytest.raises(ValueError, match="steps"):
        w.simulate(init, 0.5, 100, 0)
    with pytest.raises(ValueError, match="width"):
        w.sample_init(jax.random.PRNGKey(0), 0)
    with pytest.raises(ValueError, match="eps"):
        w.critical_sweep(jax.random.PRNGKey(0), 100, [0.1, 2.5], 2, 10)
    with pytest.raises(ValueError, match="catapult phase"):
        w.duration_slope_per_decade(1.5)
    with pytest.raises(ValueError, match="f0"):
        w.subspace_init(10, 2.0, 100.0)
