"""Linearized networks in function space against parameter-space GD on neural_tangents.linearize."""

import jax
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
        np.testing.assert_allclose(u, v, rtol=1e-5)
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
