"""The SGD learning-rate sweep: closed forms, stability boundary, divergence, batches, devices."""

import os
import subprocess
import sys
import textwrap

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from claim_cases import record

from catapult import models, ntk, train


def linear_problem(m=48, d=10, k=2, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(m, d)).astype(np.float32)
    y = rng.normal(size=(m, k)).astype(np.float32)
    params = {"w": jnp.asarray(0.3 * rng.normal(size=(d, k)), jnp.float32)}
    return (lambda p, xs: xs @ p["w"]), params, x, y


def relu_problem(width=32, m=40, seed=1):
    """A 2-hidden-layer ReLU net on m random 6-d inputs with one-hot labels of 3 classes."""
    init_fn, apply_fn, _ = models.fully_connected(width, 2, 3)
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(m, 6)).astype(np.float32)
    y = np.eye(3, dtype=np.float32)[rng.integers(0, 3, m)]
    _, params = init_fn(jax.random.PRNGKey(0), x.shape)
    return apply_fn, params, x, y


def test_full_batch_gd_on_a_linear_model_matches_the_closed_form():
    apply_fn, params, x, y = linear_problem()
    m, k = y.shape
    x64, y64 = x.astype(np.float64), y.astype(np.float64)
    gram = x64 @ x64.T / (m * k)  # Θ for one output; the k outputs decouple
    s, u = np.linalg.eigh(gram)
    e0 = x64 @ np.asarray(params["w"], np.float64) - y64
    etas = np.array([0.3, 1.0, 1.7]) / s[-1]
    steps = 60
    run = train.sweep(apply_fn, params, x, y, etas, steps)
    for i, eta in enumerate(etas):
        t = np.arange(steps + 1)[:, None]
        coeff = u.T @ e0  # (m, k) in the eigenbasis
        e_t = np.einsum("ai,ti,ik->tak", u, (1 - eta * s)[None, :] ** t, coeff)
        closed = 0.5 * np.mean(e_t**2, axis=(1, 2))
        np.testing.assert_allclose(run.loss[i], closed, rtol=2e-4, atol=1e-6)
    assert not run.divergent.any() and np.all(run.diverged_at == -1)


def test_linear_model_converges_below_and_diverges_above_eta_crit():
    """physics.md §5 item 10: η = 0.99 η_crit converges, 1.01 η_crit diverges."""
    apply_fn, params, x, y = linear_problem()
    lam0 = ntk.dense_top_eigenvalue(apply_fn, params, x)
    ec = ntk.eta_crit(lam0)
    run = train.sweep(apply_fn, params, x, y, [0.99 * ec, 1.01 * ec], 6000)
    assert np.isfinite(run.loss[0]).all() and run.loss[0, -1] < run.loss[0, 0]
    assert not run.divergent[0]
    assert run.divergent[1] and run.diverged_at[1] > 0
    assert np.isnan(run.loss[1, -1]) and np.isnan(run.train_loss[1])
    # λ of a linear model never changes
    run = train.sweep(apply_fn, params, x, y, [0.5 * ec], 20, eig=train.Curvature(x, every=5, times=(1.0,)))
    np.testing.assert_allclose(run.lam, lam0, rtol=1e-4)
    np.testing.assert_allclose(run.lam_at, lam0, rtol=1e-4)


def test_momentum_moves_the_linear_limit_to_2_times_1_plus_mu_over_lambda():
    """App. C.2: with heavy-ball momentum μ a linear model converges for η < 2(1 + μ)/λ0 and diverges above;
    momentum 0 is plain SGD, step for step."""
    apply_fn, params, x, y = linear_problem()
    lam0 = ntk.dense_top_eigenvalue(apply_fn, params, x)
    mu = 0.9
    limit = 2 * (1 + mu) / lam0
    run = train.sweep(apply_fn, params, x, y, [0.5 / lam0, 0.97 * limit, 1.03 * limit], 6000, momentum=mu)
    assert not run.divergent[:2].any() and np.all(run.loss[:2, -1] < 0.5 * run.loss[:2, 0])
    np.testing.assert_allclose(run.loss[1, -1], run.loss[0, -1], rtol=1e-4)  # both at the least-squares minimum
    assert run.divergent[2]
    assert train.sweep(apply_fn, params, x, y, [0.97 * limit], 2000).divergent[0]  # without momentum it diverges
    plain = train.sweep(apply_fn, params, x, y, [0.5 / lam0], 30)
    np.testing.assert_array_equal(train.sweep(apply_fn, params, x, y, [0.5 / lam0], 30, momentum=0.0).loss, plain.loss)
    # the first heavy-ball step is a plain step: it overshoots at ηλ0 > 2 even below the momentum limit
    assert train.loss_rise(run)[1] > 1


def test_divergence_is_recorded_without_raising_and_frozen():
    apply_fn, params, x, y = linear_problem()
    lam0 = ntk.dense_top_eigenvalue(apply_fn, params, x)
    run = train.sweep(apply_fn, params, x, y, [1.0 / lam0, 50.0 / lam0], 400, keep_params=True, loss_cap=1e8)
    assert list(run.divergent) == [False, True]
    at = run.diverged_at[1]
    assert 0 < at < 400
    assert np.isfinite(run.loss[1, :at]).all() and np.isnan(run.loss[1, at:]).all()
    assert np.isfinite(run.params["w"]).all()  # frozen at the last finite state
    # without a cap, a float32 overflow is caught the same way
    run = train.sweep(apply_fn, params, x, y, [50.0 / lam0], 400)
    assert run.divergent[0] and np.isnan(run.loss[0, -1])


@pytest.mark.slow
def test_sweep_is_deterministic_and_equals_one_eta_at_a_time():
    apply_fn, params, x, y = relu_problem(32, 40, seed=1)
    etas = np.array([0.2, 1.0, 3.0])
    kw = dict(batch_size=8, seed=3, eig=train.Curvature(x[:16], every=10, times=(2.0,)), x_test=x[:8], y_test=y[:8])
    a = train.sweep(apply_fn, params, x, y, etas, 30, **kw)
    b = train.sweep(apply_fn, params, x, y, etas, 30, **kw)
    for field in ("loss", "lam", "lam_at", "train_accuracy", "test_loss"):
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field))
    for i, eta in enumerate(etas):
        one = train.sweep(apply_fn, params, x, y, [eta], 30, **kw)
        np.testing.assert_allclose(one.loss[0], a.loss[i], rtol=1e-5)
        np.testing.assert_allclose(one.lam[0], a.lam[i], rtol=1e-4)
        np.testing.assert_allclose(one.lam_at[0], a.lam_at[i], rtol=1e-4)


def test_batch_order_is_fixed_per_seed():
    a = train.batch_indices(20, 6, 10, seed=0)
    assert a.shape == (11, 6)
    np.testing.assert_array_equal(a, train.batch_indices(20, 6, 10, seed=0))
    assert not np.array_equal(a, train.batch_indices(20, 6, 10, seed=1))
    # an epoch (3 batches of 6 of 20 samples) draws each sample at most once
    for e in range(3):
        epoch = a[3 * e : 3 * e + 3].ravel()
        assert len(set(epoch.tolist())) == 18
    full = train.batch_indices(5, None, 3)
    assert full.shape == (4, 5) and (full == np.arange(5)).all()
    # the batch order is shared by every learning rate and a seed changes it
    apply_fn, params, x, y = linear_problem()
    r0 = train.sweep(apply_fn, params, x, y, [0.1], 10, batch_size=8, seed=0)
    r1 = train.sweep(apply_fn, params, x, y, [0.1], 10, batch_size=8, seed=1)
    assert r0.loss[0, 0] != r1.loss[0, 0]


@pytest.mark.slow
def test_curvature_record_follows_a_relu_network_and_lanczos_is_accurate():
    init_fn, apply_fn, _ = models.fully_connected(64, 2, 3)
    x = jax.random.normal(jax.random.PRNGKey(0), (30, 8))
    _, params = init_fn(jax.random.PRNGKey(1), x.shape)
    ref = ntk.dense_top_eigenvalue(apply_fn, params, x)
    lz = float(jax.jit(lambda p: ntk.lanczos_top_eigenvalue(apply_fn, p, x, iters=25))(params))
    assert abs(lz - ref) / ref < 1e-4
    # an exhausted Krylov space (rank 2 kernel, 2 samples): still the top eigenvalue
    lz2 = float(ntk.lanczos_top_eigenvalue(apply_fn, params, jnp.stack([x[0], x[0]]), iters=6))
    ref2 = ntk.dense_top_eigenvalue(apply_fn, params, jnp.stack([x[0], x[0]]))
    assert abs(lz2 - ref2) / ref2 < 1e-4
    y = jnp.zeros((30, 3))
    run = train.sweep(apply_fn, params, x, y, [0.5 / ref], 12, eig=train.Curvature(x, every=4, times=(0.0 + 6 * 0.5 / ref,)))
    assert run.lam_steps.tolist() == [0, 4, 8, 12]
    assert abs(run.lam[0, 0] - ref) / ref < 1e-4
    # λ at physical time 6η is measured at step 6, between the records at steps 4 and 8
    assert min(run.lam[0, 1], run.lam[0, 2]) - 1e-3 <= run.lam_at[0, 0] <= max(run.lam[0, 1], run.lam[0, 2]) + 1e-3
    # early: λ at every step up to 3 as well, the common records unchanged
    dense = train.sweep(apply_fn, params, x, y, [0.5 / ref], 12, eig=train.Curvature(x, every=4, early=3))
    assert dense.lam_steps.tolist() == [0, 1, 2, 3, 4, 8, 12]
    np.testing.assert_allclose(dense.lam[0, [0, 4, 5, 6]], run.lam[0], rtol=1e-4)


@pytest.mark.parametrize(
    "bad",
    [
        dict(etas=[]),
        dict(etas=[0.1, -1.0]),
        dict(etas=[[0.1]]),
        dict(steps=0),
        dict(batch_size=1000),
        dict(record_every=0),
        dict(weight_decay=-1.0),
        dict(momentum=1.0),
        dict(momentum=-0.1),
        dict(x_test=np.zeros((3, 10), np.float32)),
        dict(y=np.zeros((5, 2), np.float32)),
        dict(y=np.zeros((48, 3), np.float32)),
        dict(eig=train.Curvature(np.zeros((4, 7), np.float32), every=2)),
        dict(eig=train.Curvature(np.zeros((4, 10), np.float32), every=0)),
        dict(eig=train.Curvature(np.zeros((4, 10), np.float32), times=(-1.0,))),
        dict(eig=train.Curvature(np.zeros((4, 10), np.float32), every=2, early=-1)),
    ],
)
def test_bad_input_raises_value_error(bad):
    apply_fn, params, x, y = linear_problem()
    args = dict(apply_fn=apply_fn, params=params, x=x, y=y, etas=[0.1], steps=5) | bad
    with pytest.raises(ValueError):
        train.sweep(**args)


MULTI_DEVICE = textwrap.dedent(
    """
    import os
    os.environ["XLA_FLAGS"] = "--xla_force_host_platform_device_count=4"
    import jax, numpy as np
    from catapult import models, train
    assert len(jax.devices()) == 4, jax.devices()
    init_fn, apply_fn, _ = models.fully_connected(32, 2, 3)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 6)).astype(np.float32)
    y = np.eye(3, dtype=np.float32)[rng.integers(0, 3, 40)]
    _, params = init_fn(jax.random.PRNGKey(0), x.shape)
    etas = np.array([0.1, 0.5, 1.0, 2.0, 4.0, 40.0])  # 6 rates: padded to 8 on 4 devices
    kw = dict(batch_size=8, eig=train.Curvature(x[:16], every=5, times=(3.0,)), x_test=x[:10], y_test=y[:10],
              keep_params=True)
    many = train.sweep(apply_fn, params, x, y, etas, 25, **kw)
    one = train.sweep(apply_fn, params, x, y, etas, 25, devices=jax.devices()[:1], **kw)
    assert many.loss.shape == (6, 26) and many.divergent[-1] and not many.divergent[0]
    for f in ("loss", "lam", "lam_at", "train_loss", "test_accuracy", "divergent", "diverged_at"):
        np.testing.assert_allclose(getattr(many, f), getattr(one, f), rtol=1e-5, atol=1e-7, err_msg=f)
    for a, b in zip(jax.tree_util.tree_leaves(many.params), jax.tree_util.tree_leaves(one.params)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    py = train.sweep(apply_fn, params, x, y, etas, 25, loop="python", **kw)  # the step loop, sharded the same way
    for f in ("loss", "lam", "lam_at", "divergent", "diverged_at"):
        np.testing.assert_allclose(getattr(py, f), getattr(one, f), rtol=1e-4, atol=1e-6, err_msg=f)
    print("OK")
    """
)


@pytest.mark.slow
def test_sweep_over_four_devices_equals_one_device():
    env = dict(os.environ, JAX_PLATFORMS="cpu")
    env.pop("XLA_FLAGS", None)
    proc = subprocess.run([sys.executable, "-c", MULTI_DEVICE], capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "OK" in proc.stdout


def test_unrolled_scan_gives_the_same_sweep():
    apply_fn, params, x, y = linear_problem()
    a = train.sweep(apply_fn, params, x, y, [0.1, 0.3], 6, batch_size=16)
    b = train.sweep(apply_fn, params, x, y, [0.1, 0.3], 6, batch_size=16, unroll=True)
    np.testing.assert_allclose(a.loss, b.loss, rtol=1e-5)
    with pytest.raises(ValueError):
        train.sweep(apply_fn, params, x, y, [0.1], 6, unroll=0)


@pytest.mark.slow
@pytest.mark.parametrize("loop", ["python", "each"])
def test_python_loop_gives_the_same_sweep_as_the_scan(loop):
    apply_fn, params, x, y = relu_problem(32, 40, seed=2)
    etas = np.array([0.2, 1.0, 3.0, 60.0])  # the last one diverges
    kw = dict(batch_size=8, seed=1, eig=train.Curvature(x[:16], every=4, times=(2.0, 5.0)), x_test=x[:8],
              y_test=y[:8], keep_params=True, loss_cap=1e6)
    a = train.sweep(apply_fn, params, x, y, etas, 20, **kw)
    b = train.sweep(apply_fn, params, x, y, etas, 20, loop=loop, **kw)
    assert a.divergent[-1] and not a.divergent[0]
    for f in ("loss", "lam", "lam_at", "train_loss", "test_accuracy", "divergent", "diverged_at"):
        np.testing.assert_allclose(getattr(b, f), getattr(a, f), rtol=1e-4, atol=1e-6, err_msg=f)
    for u, v in zip(jax.tree_util.tree_leaves(a.params), jax.tree_util.tree_leaves(b.params)):
        np.testing.assert_allclose(v, u, rtol=1e-4, atol=1e-5)
    with pytest.raises(ValueError):
        train.sweep(apply_fn, params, x, y, [0.1], 5, loop="fori")


@pytest.mark.slow
def test_reading_a_sweep():
    apply_fn, params, x, y = relu_problem(1024, 32, seed=4)
    lam0 = ntk.top_eigenvalue(apply_fn, params, x)
    etas = np.array([0.3, 3.0, 100.0]) * 2 / lam0  # lazy, catapult, divergent
    run = train.sweep(apply_fn, params, x, y, etas, 24, eig=train.Curvature(x, every=5, times=(10.0 / lam0,), early=3),
                      keep_params=True)
    drift = train.lambda_drift(run, lam0, 10.0 / lam0)
    assert drift[0] < 0.1 and drift[1] > drift[0]
    # against a direct reading of the records
    sel = run.lam_steps * etas[1] <= 10.0 / lam0
    direct = max(np.abs(run.lam[1, sel] / lam0 - 1).max(), abs(run.lam_at[1, 0] / lam0 - 1))
    assert drift[1] == pytest.approx(direct)
    spikes = train.spike_steps(run)
    assert np.isfinite(spikes[:2]).all() and np.isinf(spikes[2])
    peak = int(np.argmax(run.loss[1]))
    assert run.loss[1, int(spikes[1])] < run.loss[1, 0] and (run.loss[1, peak:int(spikes[1])] >= run.loss[1, 0]).all()
    rise = train.early_rise(run, lam0, 3)
    np.testing.assert_allclose(rise[:2], run.lam[:2, 1:4].max(axis=1) / lam0)
    ratio = train.param_norm_ratio(run, params)
    assert ratio.shape == (3,) and np.isfinite(ratio[:2]).all() and ratio[0] == pytest.approx(1.0, abs=0.1)
    with pytest.raises(ValueError, match="keep_params"):
        train.param_norm_ratio(run._replace(params=None), params)


def test_conv_loop_steps_each_run_on_its_own_on_cpu():
    assert train.conv_loop() == ("each" if jax.default_backend() == "cpu" else "scan")
    assert train.conv_loop() in train.LOOPS


def test_lambda_at_the_start_is_computed_once_for_every_rate():
    """λ(θ0) is shared by every rate (one initialization): one value, NaN only where the loss at
    θ0 is already over the cap; it equals a direct Lanczos on θ0."""
    apply_fn, params, x, y = relu_problem(32, 24, seed=5)
    eig = train.Curvature(x[:12], every=3, iters=20)
    run = train.sweep(apply_fn, params, x, y, [0.1, 0.5, 2.0], 6, eig=eig)
    assert np.unique(run.lam[:, 0]).size == 1
    direct = float(ntk.lanczos_top_eigenvalue(apply_fn, params, x[:12], iters=20))
    assert run.lam[0, 0] == pytest.approx(direct, rel=1e-5)
    capped = train.sweep(apply_fn, params, x, y, [0.1, 0.5], 6, eig=eig, loss_cap=1e-12)
    assert np.isnan(capped.lam[:, 0]).all() and capped.divergent.all()


def test_each_maps_runs_like_vmap():
    """loop.each: the single-run function called per run gives vmap's result, over one or two
    run axes, with a static flag, a shared argument and a pytree of outputs."""
    from catapult import loop

    def f(a, b, flag):
        return {"y": a * b if flag else a + b, "s": a.sum()}

    a = jnp.arange(24.0).reshape(2, 3, 4)
    b = jnp.full(4, 2.0)
    for flag in (True, False):
        got = loop.each(f, (0, None, None), (2,), axes=2)(a, b, flag)
        want = jax.vmap(jax.vmap(lambda u: f(u, b, flag)))(a)
        for k in want:
            np.testing.assert_array_equal(got[k], want[k])
        got = loop.over_runs(f, (0, None, None), "python", (2,))(a[0], b, flag)
        np.testing.assert_array_equal(got["y"], jax.vmap(lambda u: f(u, b, flag))(a[0])["y"])
    with pytest.raises(ValueError, match="axis 0"):
        loop.each(f, (1, None, None))
    with pytest.raises(ValueError, match="static"):
        loop.each(f, (0, None, 0), (2,))


@pytest.mark.parametrize("n, chunk", [(1024, 1000), (1001, 1000), (7, 3), (512, 1024), (5, 5)])
@pytest.mark.parametrize("unrolled", [False, True])
def test_chunked_outputs_pad_nothing(n, chunk, unrolled):
    from catapult import loop

    seen = []

    def apply(p, xb):
        seen.append(xb.shape[0])
        return xb * p

    x = jnp.arange(n, dtype=jnp.float32)[:, None]
    out = loop.outputs(apply, 3.0, x, chunk, unrolled=unrolled)
    np.testing.assert_array_equal(out, 3.0 * x)
    assert max(seen) <= chunk and sum(seen) <= n + (0 if unrolled else max(seen))  # lax.map traces its body once
    if unrolled:
        assert sum(seen) == n


def test_steps_to_loss_is_the_first_step_whose_trailing_mean_reaches_the_level():
    loss = np.array([[1.0, 0.9, 0.2, 0.9, 0.1, 0.1, 0.1], [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0],
                     [1.0, 0.1, np.nan, np.nan, np.nan, np.nan, np.nan]])
    run = record(train.Run, etas=np.array([1.0, 2.0, 3.0]), loss_steps=np.arange(7) * 10, loss=loss)
    out = train.steps_to_loss(run, 0.3, window=3)
    # run 0: one low minibatch (0.2) is not enough; the mean of the last three first reaches 0.3 at record 6
    assert out[0] == 60 and out[1] == np.inf and out[2] == np.inf  # never; diverged first
    assert train.steps_to_loss(run, 0.3, window=1)[0] == 20  # without averaging the noisy 0.2 counts
    with pytest.raises(ValueError):
        train.steps_to_loss(run, 0.3, window=0)
