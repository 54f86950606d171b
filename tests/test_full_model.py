"""The full model (Sec. 2.2, App. D.1): eqs. 10, 11, S5 and the reduced map against GD; phases."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from catapult import full_model as fm
from catapult.precision import float64 as enable_x64

N, D, M = 4000, 40, 8


def setup64(n=N, seed=0):
    data = fm.make_data(jax.random.PRNGKey(seed), M, D, jnp.float64)
    params = fm.init_params(jax.random.PRNGKey(seed + 1), n, D, jnp.float64)
    lam0 = float(fm.top_eigenvalue(fm.kernel(fm.reduce(params), data.X, n)))
    return data, params, lam0


@pytest.mark.parametrize("n", [50, 4000])
def test_equations_10_11_S5_and_reduced_map_match_gd(n):
    with enable_x64():
        data, params, lam0 = setup64(n)
        res = fm.equation_residuals(params, data, np.array([0.5, 1.5, 2.5, 3.5, 4.6]) / lam0, 100)
    for name, values in res.items():
        assert values.max() < 1e-12, (name, values)


def test_with_one_sample_and_unit_input_the_full_model_is_the_warmup_model():
    from catapult import warmup

    with enable_x64():
        n = 100
        params = fm.init_params(jax.random.PRNGKey(0), n, 1, jnp.float64)
        data = fm.Data(jnp.ones((1, 1)), jnp.zeros(1))
        r = fm.reduce(params)
        f, lam = fm.output(r, data.X, n)[0], fm.kernel(r, data.X, n)[0, 0]
        f2, lam2 = warmup.exact_step(f, lam, 0.7, n)
        r2 = fm.reduced_step(r, data, 0.7, n)
        assert float(fm.output(r2, data.X, n)[0]) == pytest.approx(float(f2), rel=1e-12)
        assert float(fm.kernel(r2, data.X, n)[0, 0]) == pytest.approx(float(lam2), rel=1e-12)


def test_sampled_invariants_have_the_distribution_of_gaussian_weights():
    n, d, k = 300, 5, 4000
    r = fm.sample_reduced(jax.random.PRNGKey(0), n, d, (k,))
    direct = jax.vmap(lambda key: fm.reduce(fm.init_params(key, n, d)))(jax.random.split(jax.random.PRNGKey(1), k))
    for a, b in zip(r, direct):
        a, b = np.asarray(a), np.asarray(b)
        np.testing.assert_allclose(a.mean(0), b.mean(0), atol=4 * b.std(0).max() / np.sqrt(k) * 3 + 1e-3 * n)
        np.testing.assert_allclose(a.std(0), b.std(0), rtol=0.1, atol=0.5)


def test_phases_at_width_4000():
    data = fm.make_data(jax.random.PRNGKey(0), M, D)
    r0 = fm.sample_reduced(jax.random.PRNGKey(1), N, D, (4,))
    lam0 = np.asarray(jax.vmap(lambda A, B, c: fm.top_eigenvalue(fm.kernel(fm.Reduced(A, B, c), data.X, N)))(*r0))
    cs = np.array([0.5, 1.5, 2.2, 3.0, 3.9, 5.0])
    eta = (cs[:, None] / lam0[None, :]).astype(np.float32)
    tr = fm.simulate(fm.Reduced(*(x[None] for x in r0)), data, eta, N, 1500, track_curvature=False)
    final = eta * tr.lam[..., -1]
    lazy, cat = cs <= 1.5, (cs >= 2.2) & (cs <= 3.9)
    assert (N * np.abs(tr.lam[lazy, :, -1] - lam0) < 10).all()
    assert (tr.loss[cat, :, -1] < 1e-6).all() and (final[cat] < 2).all()
    assert tr.diverged[cs == 5.0].all() and not tr.diverged[cs < 4].any()


def test_alignment_and_bad_input():
    e = np.array([[3.0, 4.0], [1.0, 0.0]])
    np.testing.assert_allclose(fm.alignment(e, np.array([1.0, 0.0])), [0.6, 1.0])
    with pytest.raises(ValueError, match="m <= d"):
        fm.make_data(jax.random.PRNGKey(0), 10, 5)
    with pytest.raises(ValueError, match="width"):
        fm.init_params(jax.random.PRNGKey(0), 0, 5)
    with pytest.raises(ValueError, match="at least d"):
        fm.sample_reduced(jax.random.PRNGKey(0), 5, 10)
    data = fm.make_data(jax.random.PRNGKey(0), 2, 3)
    r0 = fm.sample_reduced(jax.random.PRNGKey(0), 100, 3)
    with pytest.raises(ValueError, match="learning rate"):
        fm.simulate(r0, data, -1.0, 100, 10)


def test_partial_curvature_tracking_and_final_kernel():
    data = fm.make_data(jax.random.PRNGKey(0), M, D)
    r0 = fm.sample_reduced(jax.random.PRNGKey(1), N, D)
    full = fm.simulate(r0, data, np.array([0.5, 2.5, 4.8]) / 0.5, N, 60, track_curvature=True)
    part = fm.simulate(r0, data, np.array([0.5, 2.5, 4.8]) / 0.5, N, 60, track_curvature=20)
    np.testing.assert_allclose(part.lam[:, :21], full.lam[:, :21], rtol=1e-5)
    assert np.isnan(part.lam[:2, 21:-1]).all()
    np.testing.assert_allclose(part.lam[:2, -1], full.lam[:2, -1], rtol=1e-5)
    np.testing.assert_allclose(part.loss, full.loss, rtol=1e-5)
    assert (part.diverged == full.diverged).all() and part.diverged[2] and np.isnan(part.theta_final[2]).all()
    top = np.linalg.eigvalsh(part.theta_final[:2])[:, -1]
    np.testing.assert_allclose(top, part.lam[:2, -1], rtol=1e-5)
    with pytest.raises(ValueError, match="track_curvature"):
        fm.simulate(r0, data, 1.0, N, 10, track_curvature=11)


def test_final_top_eigenvalue_prediction_and_eigen_ratio():
    from catapult import warmup

    c = np.array([2.2, 2.5, 2.8])
    L = warmup.limit_final_curvature(c)
    p = fm.predicted_final_top(c, 0.8, L)
    assert p[0] == pytest.approx(L[0]) and p[2] == pytest.approx(0.8 * (2.8 + L[2]) / 2)
    with pytest.raises(ValueError, match="ratio"):
        fm.predicted_final_top(c, 1.5, L)
    X = np.diag([2.0, 1.0, 0.5])
    assert fm.eigen_ratio(X) == pytest.approx(0.25)
    with pytest.raises(ValueError):
        fm.eigen_ratio(np.ones((1, 3)))


def test_final_top_eigenvalue_at_large_width_follows_the_prediction():
    data = fm.make_data(jax.random.PRNGKey(0), M, D)
    cs = np.array([2.2, 2.6])
    sw = fm.lr_width_sweep(jax.random.PRNGKey(1), data, [1e6], cs, 2, 600)
    from catapult import warmup

    pred = fm.predicted_final_top(cs, fm.eigen_ratio(data.X), warmup.limit_final_curvature(cs))
    assert np.abs(sw.final_curvature[0] - pred[:, None]).max() < 0.03
    assert np.abs(sw.final_curvature[0, 1] - warmup.limit_final_curvature(2.6)).min() > 0.1  # not the naive curve


def test_divergence_threshold_brackets_four_at_large_width():
    data = fm.make_data(jax.random.PRNGKey(0), M, D)
    t = fm.divergence_threshold(jax.random.PRNGKey(2), data, [1e8], 8, 100, rounds=7)  # bracket [3, 5]: both sides of 4
    assert t.shape == (1, 8) and ((t >= 4.0) & (t <= 5.0)).all() and np.median(t) < 4.1
    with pytest.raises(ValueError, match="c_range"):
        fm.divergence_threshold(jax.random.PRNGKey(2), data, [1e8], 2, 10, c_range=(5.0, 4.0))


def test_make_data_prescribes_the_eigengap_and_keeps_the_labels():
    plain = fm.make_data(jax.random.PRNGKey(3), 8, 40)
    gapped = fm.make_data(jax.random.PRNGKey(3), 8, 40, gap=0.8)
    assert fm.eigen_ratio(gapped.X) == pytest.approx(0.8, abs=1e-5)
    np.testing.assert_array_equal(plain.y, gapped.y)
    # the top singular direction and value are the random draw's
    top = lambda x: np.linalg.svd(np.asarray(x, float), compute_uv=False)[0]  # noqa: E731
    assert top(gapped.X) == pytest.approx(top(plain.X), rel=1e-5)
    with pytest.raises(ValueError, match="gap"):
        fm.make_data(jax.random.PRNGKey(0), 8, 40, gap=1.2)
