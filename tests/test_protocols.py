"""catapult.protocols: both fair comparisons of Sec. 3.2 from one vmapped program."""

import jax
import numpy as np
import pytest

from catapult import models, protocols, train


def _problem(n=32, d=6, k=3, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, d)).astype(np.float32)
    labels = rng.integers(0, k, n)
    y = np.eye(k, dtype=np.float32)[labels]
    return x, y


def _net(width=16, d=6, k=3, seeds=2):
    init, apply, _ = models.fully_connected(width, 1, k)
    params = protocols.init_seeds(init, (-1, d), seeds, 0)
    return apply, params


def _gd(apply, p, x, y, eta, steps, wd=0.0):
    g = jax.jit(jax.grad(lambda q: train.mse(apply(q, x), y)))
    for _ in range(steps):
        grads = g(p)
        p = jax.tree_util.tree_map(lambda a, b: a - eta * (b + wd * a), p, grads)
    return p


def _acc(apply, p, x, y):
    return float(train.accuracy(apply(p, x), y))


@pytest.mark.slow
def test_matches_explicit_gd_for_both_protocols():
    x, y = _problem()
    xt, yt = _problem(n=20, seed=1)
    apply, params = _net()
    etas = np.array([0.5, 1.0, 2.0])
    steps, final_steps, final_eta = 8, 3, 0.25
    r = protocols.compare(
        apply, params, x, y, xt, yt, etas, steps, final_eta=final_eta, final_steps=final_steps,
        weight_decay=1e-3, eval_every=4,
    )
    assert r.fixed_test_acc.shape == (2, 3) and r.train_acc_t.shape == (2, 3, 3)
    np.testing.assert_array_equal(r.eval_steps, [0, 4, 8])
    np.testing.assert_array_equal(r.budget_steps[0], [8, 4, 2])  # τ = min(η)·steps = 4
    for s in range(2):
        p0 = jax.tree_util.tree_map(lambda a: a[s], params)
        for i, eta in enumerate(etas):
            pa = _gd(apply, p0, x, y, eta, steps, 1e-3)
            assert r.fixed_test_acc[s, i] == pytest.approx(_acc(apply, pa, xt, yt))
            assert r.fixed_train_acc[s, i] == pytest.approx(_acc(apply, pa, x, y))
            pb = _gd(apply, p0, x, y, eta, int(r.budget_steps[s, i]), 1e-3)
            assert r.budget_test_acc[s, i] == pytest.approx(_acc(apply, pb, xt, yt))
            pb = _gd(apply, pb, x, y, final_eta, final_steps, 1e-3)
            assert r.phys_test_acc[s, i] == pytest.approx(_acc(apply, pb, xt, yt))
            assert r.phys_train_acc[s, i] == pytest.approx(_acc(apply, pb, x, y))
    assert not r.divergent.any()
    # loss record at t = 0 is the initial training loss (full batch)
    p0 = jax.tree_util.tree_map(lambda a: a[0], params)
    assert r.loss[0, 0, 0] == pytest.approx(float(train.mse(apply(p0, x), y)), rel=1e-5)


def test_per_seed_learning_rates_and_divergence_is_a_result():
    x, y = _problem()
    apply, params = _net()
    etas = np.array([[0.5, 1e4], [0.25, 2e4]])
    r = protocols.compare(apply, params, x, y, x, y, etas, 6)
    assert r.divergent.tolist() == [[False, True], [False, True]]
    assert np.isnan(r.fixed_test_acc[:, 1]).all() and np.isfinite(r.fixed_test_acc[:, 0]).all()
    # protocol (b) stops these runs after one step, before they blow up: NaN exactly where divergent
    np.testing.assert_array_equal(np.isnan(r.phys_test_acc), r.budget_divergent)
    assert not r.budget_divergent[:, 0].any()
    np.testing.assert_allclose(r.physical_time, [3.0, 1.5])
    np.testing.assert_array_equal(r.budget_steps[:, 0], [6, 6])
    np.testing.assert_array_equal(r.budget_steps[:, 1], [1, 1])  # rounds to 0: at least one step


def test_stop_at_fit_freezes_a_fitted_run():
    x, y = _problem(n=8)
    apply, params = _net(width=64, seeds=1)
    r = protocols.compare(apply, params, x, y, x, y, np.array([1.0]), 400, stop_at_fit=True, eval_every=400)
    s = int(r.fit_step[0, 0])
    assert s >= 0
    assert r.fixed_train_acc[0, 0] == 1.0
    # frozen after the fit: the loss stays put
    assert np.allclose(r.loss[0, 0, s:], r.loss[0, 0, s])


def test_sgd_batches_follow_train_batch_indices():
    x, y = _problem(n=16)
    apply, params = _net(seeds=1)
    r = protocols.compare(apply, params, x, y, x, y, np.array([0.5]), 5, batch_size=4, seed=3)
    idx = train.batch_indices(16, 4, 6, 3)
    p = jax.tree_util.tree_map(lambda a: a[0], params)
    g = jax.grad(lambda q, xb, yb: train.mse(apply(q, xb), yb))
    for t in range(5):
        assert r.loss[0, 0, t] == pytest.approx(float(train.mse(apply(p, x[idx[t]]), y[idx[t]])), rel=1e-5)
        p = jax.tree_util.tree_map(lambda a, b: a - 0.5 * b, p, g(p, x[idx[t]], y[idx[t]]))


@pytest.mark.parametrize(
    "kw, match",
    [
        (dict(physical_time=100.0), "physical_time"),
        (dict(final_steps=3), "final_eta"),
        (dict(weight_decay=-1.0), "weight_decay"),
        (dict(etas=np.ones((3, 2))), "etas"),
        (dict(etas=np.array([0.0, 1.0])), "etas"),
        (dict(loop="while"), "loop"),
    ],
)
def test_bad_input_fails_loudly(kw, match):
    x, y = _problem()
    apply, params = _net()
    args = dict(etas=np.array([0.5, 1.0]))
    args.update(kw)
    etas = args.pop("etas")
    with pytest.raises(ValueError, match=match):
        protocols.compare(apply, params, x, y, x, y, etas, 10, **args)


@pytest.mark.parametrize("loop", ["python", "each"])
def test_python_loop_equals_scan(loop):
    x, y = _problem()
    apply, params = _net()
    kw = dict(final_eta=0.3, final_steps=3, eval_every=3, batch_size=8, weight_decay=1e-3, stop_at_fit=True)
    a = protocols.compare(apply, params, x, y, x[:10], y[:10], np.array([0.5, 1.0, 3e4]), 7, **kw)
    b = protocols.compare(apply, params, x, y, x[:10], y[:10], np.array([0.5, 1.0, 3e4]), 7, loop=loop, **kw)
    for name in ("loss", "train_acc_t", "test_acc_t", "fixed_test_acc", "phys_test_acc", "budget_test_acc"):
        np.testing.assert_allclose(getattr(a, name), getattr(b, name), rtol=1e-5, atol=1e-6, err_msg=name)
    np.testing.assert_array_equal(a.divergent, b.divergent)
    np.testing.assert_array_equal(a.fit_step, b.fit_step)


def test_lambda0_per_seed_matches_each_seed():
    from catapult import models, ntk

    init_fn, apply_fn, _ = models.fully_connected(16, 1, 2)
    params = protocols.init_seeds(init_fn, (-1, 3), 2, 0)
    x = np.random.default_rng(0).normal(size=(6, 3)).astype(np.float32)
    lam = protocols.lambda0_per_seed(apply_fn, params, x)
    first = jax.tree_util.tree_map(lambda a: a[1], params)
    assert lam.shape == (2,) and lam[1] == pytest.approx(ntk.top_eigenvalue(apply_fn, first, x))
