"""The NTK toolkit: normalization, Lanczos against the dense kernel, infinite width."""

import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.experimental import enable_x64

from catapult import models, ntk


def small_mlp(dtype=jnp.float32):
    x = jax.random.normal(jax.random.PRNGKey(0), (20, 5), dtype)
    init_fn, apply_fn, _ = models.fully_connected(64, 2, 3)
    _, params = init_fn(jax.random.PRNGKey(1), x.shape)
    params = jax.tree_util.tree_map(lambda a: a.astype(dtype), params)
    return apply_fn, params, x


def linear_two_layer(params, x):
    w1, w2 = params
    return (x @ w1) @ w2  # (m, 2)


def test_lanczos_matches_dense_in_float64():
    with enable_x64():
        for apply_fn, params, x in [
            small_mlp(jnp.float64),
            (linear_two_layer,
             (jax.random.normal(jax.random.PRNGKey(2), (6, 7), jnp.float64),
              jax.random.normal(jax.random.PRNGKey(3), (7, 2), jnp.float64)),
             jax.random.normal(jax.random.PRNGKey(4), (9, 6), jnp.float64)),
        ]:
            top = ntk.top_eigenpair(apply_fn, params, x, tol=1e-8)
            theta = np.asarray(ntk.dense_ntk(apply_fn, params, x))
            evals, evecs = np.linalg.eigh(theta)
            assert top.value == pytest.approx(evals[-1], rel=1e-4)
            assert abs(top.vector.ravel() @ evecs[:, -1]) >= 0.999


def test_lanczos_matches_dense_in_float32():
    apply_fn, params, x = small_mlp()
    assert ntk.top_eigenvalue(apply_fn, params, x) == pytest.approx(ntk.dense_top_eigenvalue(apply_fn, params, x), rel=1e-3)


def test_normalization_on_a_two_parameter_model():
    with enable_x64():
        x = jnp.array([[0.5], [-1.0], [2.0]])
        a, b = 0.7, -1.3
        apply_fn = lambda p, x: p[0] * p[1] * x[:, 0]  # noqa: E731
        params = (jnp.float64(a), jnp.float64(b))
        expected = (a**2 + b**2) * float(jnp.sum(x**2)) / 3
        theta = np.asarray(ntk.dense_ntk(apply_fn, params, x))
        np.testing.assert_allclose(theta, (a**2 + b**2) * np.outer(x[:, 0], x[:, 0]) / 3, rtol=1e-12)
        assert ntk.top_eigenvalue(apply_fn, params, x, tol=1e-10) == pytest.approx(expected, rel=1e-10)


def test_eigenvalues_are_the_gauss_newton_eigenvalues_and_set_eta_crit():
    with enable_x64():
        x = jax.random.normal(jax.random.PRNGKey(5), (12, 4), jnp.float64)
        w = jax.random.normal(jax.random.PRNGKey(6), (4, 2), jnp.float64)
        apply_fn = lambda w, x: x @ w  # noqa: E731  (a linear model, k = 2)
        J = jax.jacobian(lambda w: apply_fn(w, x).ravel())(w).reshape(24, 8)
        gn = np.linalg.eigvalsh(np.asarray(J.T @ J) / 24)
        th = np.linalg.eigvalsh(np.asarray(ntk.dense_ntk(apply_fn, w, x)))
        np.testing.assert_allclose(np.sort(th[th > 1e-10]), np.sort(gn[gn > 1e-10]), rtol=1e-10)
        lam = ntk.top_eigenvalue(apply_fn, w, x, tol=1e-10)
        y = jax.random.normal(jax.random.PRNGKey(7), (12, 2), jnp.float64)
        loss = lambda w: jnp.sum((apply_fn(w, x) - y) ** 2) / (2 * 24)  # noqa: E731
        for factor, converges in [(0.99, True), (1.01, False)]:
            eta = factor * ntk.eta_crit(lam)
            wt = jax.lax.fori_loop(0, 3000, lambda _, v: v - eta * jax.grad(loss)(v), w)
            assert bool(loss(wt) < loss(w)) == converges


@pytest.mark.slow
def test_finite_width_approaches_infinite_width():
    x = jax.random.normal(jax.random.PRNGKey(8), (32, 10))
    errs = []
    for width in [64, 4096]:
        init_fn, apply_fn, kernel_fn = models.fully_connected(width, 2, 1)
        vals = [ntk.top_eigenvalue(apply_fn, init_fn(jax.random.PRNGKey(s), x.shape)[1], x) for s in range(3)]
        errs.append(abs(np.mean(vals) - ntk.infinite_width_top_eigenvalue(kernel_fn, x, 1)))
    lam_inf = ntk.infinite_width_top_eigenvalue(kernel_fn, x, 1)
    assert errs[1] < errs[0] and errs[1] / lam_inf < 0.05


def test_batched_average_and_bad_input():
    apply_fn, params, x = small_mlp()
    mean, values = ntk.top_eigenvalue_batched(apply_fn, params, [x[:10], x[10:]])
    assert mean == pytest.approx(values.mean()) and values.shape == (2,)
    with pytest.raises(ValueError, match="no samples"):
        ntk.top_eigenvalue(apply_fn, params, x[:0])
    with pytest.raises(ValueError, match="tol"):
        ntk.top_eigenvalue(apply_fn, params, x, tol=0)
    with pytest.raises(ValueError, match="non-finite"):
        ntk.top_eigenvalue(apply_fn, jax.tree_util.tree_map(lambda a: a * jnp.nan, params), x)
    with pytest.raises(ValueError, match="lambda0"):
        ntk.eta_crit(-1.0)


def test_importing_the_toolkit_is_silent_and_does_not_load_tensorflow():
    code = "import sys, catapult.ntk, catapult.models; assert 'tensorflow' not in sys.modules"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stderr == ""
    code = "from catapult import models; models.fully_connected(8, 1, 1)"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
