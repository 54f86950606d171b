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
