"""Linearized networks in function space against parameter-space GD on neural_tangents.linearize."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from catapult import linearize, models, ntk, train


@pytest.fixture(scope="module")
def setup():
    key = jax.random.PRNGKey(0)
    x = jax.random.normal(key, (24, 6))
    x_test = jax.random.normal(jax.random.fold_in(key, 1), (10, 6))
    labels = np.arange(24) % 3
    y = np.eye(3, dtype=np.float32)[labels]
    y_test = np.eye(3, dtype=np.float32)[np.arange(10) % 3]
    init_fn, apply_fn, _ = models.fully_connected(64, 1, 3)
    _, params = init_fn(jax.random.fold_in(key, 2), x.shape)
    lam = ntk.top_eigenvalue(apply_fn, params, x)
    return dict(x=x, x_test=x_test, y=y, y_test=y_test, apply_fn=apply_fn, params=params, lam=lam)


def _gd(s, etas, steps, **kw):
    return linearize.gd(s["apply_fn"], s["params"], s["x"], s["y"], s["x_test"], s["y_test"], etas, steps, **kw)


def test_the_kernel_matches_the_ntk_toolkit(setup):
    s = setup
    dense = ntk.dense_ntk(s["apply_fn"], s["params"], s["x"])
    np.testing.assert_allclose(linearize.train_kernel(s["apply_fn"], s["params"], s["x"]), dense, rtol=1e-4, atol=1e-6)
    assert _gd(s, [0.1], 1).lam[0] == pytest.approx(s["lam"], rel=1e-4)


def test_function_space_gd_equals_parameter_space_gd_on_the_linearized_network(setup):
    s = setup
    etas = np.array([0.5, 1.5]) / s["lam"]
    steps = 60
    fs = _gd(s, etas, steps)
    tangent = linearize.tangent_model(s["apply_fn"], s["params"])
    ps = train.sweep(tangent, s["params"], s["x"], s["y"], etas, steps, x_test=s["x_test"], y_test=s["y_test"])
    np.testing.assert_allclose(fs.loss, ps.loss, rtol=2e-4)
    np.testing.assert_allclose(fs.test_loss, ps.test_loss, rtol=2e-4)
    np.testing.assert_array_equal(fs.test_accuracy, ps.test_accuracy)
    np.testing.assert_array_equal(fs.train_accuracy, ps.train_accuracy)


def test_the_linearized_model_is_stable_exactly_below_two_over_lambda(setup):
    s = setup
    run = _gd(s, np.array([0.95, 1.05]) * 2 / s["lam"], 3000)
    assert not run.divergent[0] and run.divergent[1]
    assert run.diverged_at[0] == -1 and run.diverged_at[1] > 0
    assert np.isnan(run.loss[1, -1]) and np.isfinite(run.loss[0]).all()


def test_one_model_per_learning_rate_equals_a_shared_model(setup):
    s = setup
    etas = np.array([0.3, 1.0, 1.9]) / s["lam"]
    stacked = jax.tree_util.tree_map(lambda a: np.stack([a] * 3), s["params"])
    a = linearize.gd(s["apply_fn"], stacked, s["x"], s["y"], s["x_test"], s["y_test"], etas, 40, per_eta=True)
    b = _gd(s, etas, 40)
    for u, v in zip(a, b):
        np.testing.assert_allclose(u, v, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="one per"):
        linearize.gd(s["apply_fn"], stacked, s["x"], s["y"], s["x_test"], s["y_test"], etas[:2], 40, per_eta=True)


def test_kernel_change_is_zero_without_a_step_and_small_for_a_small_step(setup):
    s = setup
    assert linearize.kernel_change(s["apply_fn"], s["params"], s["params"], s["x"]) == 0.0
    eta = 1.0 / s["lam"]
    changes, losses = linearize.kernel_velocity(s["apply_fn"], s["params"], s["x"], s["y"], eta, 5, 3)
    assert changes.shape == (3,) and losses.shape == (9,)
    assert np.all((changes > 0) & (changes < 0.1))


def test_bad_input_fails_loudly(setup):
    s = setup
    with pytest.raises(ValueError, match="positive"):
        _gd(s, [-0.1], 10)
    with pytest.raises(ValueError):
        _gd(s, [0.1], 0)
    with pytest.raises(ValueError, match="sample shapes"):
        linearize.gd(s["apply_fn"], s["params"], s["x"], s["y"], s["x_test"][:, :3], s["y_test"], [0.1], 5)


def test_the_linearized_run_returns_its_test_outputs(setup):
    s = setup
    etas = np.array([0.5, 1.0]) / s["lam"]
    run = _gd(s, etas, 30)
    assert run.test_outputs.shape == (2, 10, 3)
    tangent = linearize.tangent_model(s["apply_fn"], s["params"])
    ps = train.sweep(tangent, s["params"], s["x"], s["y"], etas, 30, keep_params=True)
    f = linearize.stacked_outputs(tangent, ps.params, s["x_test"])
    np.testing.assert_allclose(run.test_outputs, f, rtol=1e-3, atol=1e-5)
    assert np.all(linearize.function_gap(f, run.test_outputs) < 1e-3)


def test_function_gap():
    f = np.ones((3, 4, 2))
    g = f.copy()
    g[1] *= 1.5
    g[2, 0, 0] = np.nan
    gap = linearize.function_gap(f, g)
    assert gap[0] == 0 and gap[1] == pytest.approx(0.5) and gap[2] == np.inf
    with pytest.raises(ValueError, match="same shape"):
        linearize.function_gap(f, g[:, :3])


def test_unexplained_is_the_share_of_the_networks_move_a_linearization_misses():
    start = np.zeros((3, 4, 2))
    net = np.ones((3, 4, 2))  # the network moved by 1 everywhere
    lin = np.stack([net[0], 0.5 * net[0], net[0]])  # exact, half-way, and one non-finite output
    lin[2, 1, 1] = np.inf
    u = linearize.unexplained(net, start, lin)
    assert u[0] == 0 and u[1] == pytest.approx(0.5) and u[2] == np.inf
    assert linearize.unexplained(net, start, start)[0] == pytest.approx(1.0)  # a linearization that never moves
    with pytest.raises(ValueError, match="same"):
        linearize.unexplained(net, start[:, :3], lin)


def test_dead_fraction_counts_units_negative_on_every_input():
    x = np.array([[1.0, 0.0], [0.0, 1.0]])
    w = np.array([[[1.0, -1.0, -1.0, 1.0], [1.0, -1.0, 1.0, -1.0]]])  # one set, 4 units: 2nd dead
    assert linearize.dead_fraction([(w, None), (), (np.ones((1, 4, 1)), None)], x).tolist() == [0.25]
    with pytest.raises(ValueError, match="without biases"):
        linearize.dead_fraction([(w, np.zeros((1, 4))), ()], x)


def test_kernel_drift_is_zero_at_the_start_and_falls_with_width(setup):
    s = setup
    x, y = s["x"], s["y"]
    d = linearize.drift_versus_width(jax.random.PRNGKey(3), [32, 512], x, y, [0.5], 2, 5, 25)
    assert d.drift.shape == (2, 1, 2) and d.loss.shape == (2, 1, 2, 26)
    assert np.all(d.drift > 0) and np.all(d.drift[1] < d.drift[0])
    assert np.all(d.lam_start < 2 * d.lam0)
    assert np.all(np.diff(d.loss[..., :], axis=-1) < 0)  # lazy: the loss falls at every step
    stacked = jax.tree_util.tree_map(lambda a: np.stack([a, a]), s["params"])
    with pytest.raises(ValueError, match="one η·λ0 per run"):
        linearize.kernel_drift(s["apply_fn"], stacked, x, y, [0.5], 5, 25)
    with pytest.raises(ValueError, match="before"):
        linearize.kernel_drift(s["apply_fn"], stacked, x, y, [0.5, 0.5], 25, 25)


def test_per_eta_runs_only_where_asked(setup):
    s = setup
    etas = np.array([0.3, 1.0, 1.9]) / s["lam"]
    stacked = jax.tree_util.tree_map(lambda a: np.stack([a] * 3), s["params"])
    args = (s["apply_fn"], stacked, s["x"], s["y"], s["x_test"], s["y_test"], etas, 20)
    some = linearize.gd(*args, per_eta=True, where=[True, False, True])
    full = linearize.gd(*args, per_eta=True)
    np.testing.assert_allclose(some.test_outputs[[0, 2]], full.test_outputs[[0, 2]], rtol=1e-5, atol=1e-6)
    assert np.isnan(some.test_outputs[1]).all() and np.isnan(some.lam[1]) and not some.divergent[1]
    np.testing.assert_array_equal(some.etas, etas)
    with pytest.raises(ValueError, match="one bool per"):
        linearize.gd(*args, per_eta=True, where=[True])
    with pytest.raises(ValueError, match="per_eta"):
        _gd(s, etas, 20, where=[True, True, True])


def test_linearized_gd_converges_below_and_diverges_above_eta_crit():
    X = jax.random.normal(jax.random.PRNGKey(0), (6, 4))
    y = jax.random.normal(jax.random.PRNGKey(1), (6, 3))
    apply = lambda W, x: x @ W  # noqa: E731  a linear model with k = 3 outputs: Θ = XXᵀ ⊗ I/(mk)
    W0 = jnp.zeros((4, 3))
    lam = float(np.linalg.eigvalsh(np.asarray(X @ X.T))[-1]) / (6 * 3)
    L = linearize.linearized_gd_losses(apply, W0, X, y, np.array([0.99, 1.01]) * 2 / lam, 1500)
    assert (L[0, 1:] <= L[0, 0]).all() and L[1, -1] > 10 * L[1, 0]
