"""Tests of catapult.sphere (scale-invariant nets on the unit sphere) and catapult.synthetic
(the planted-feature task)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from catapult import sphere, synthetic

KEY = jax.random.PRNGKey(0)


@pytest.fixture(scope="module")
def task():
    return synthetic.make_task([1.0, 0.5, 0.0], 64, 200, margin=0.1, noise_dims=2, seed=3)


@pytest.fixture(scope="module")
def tick():
    """The paper's feature shape (a V-shaped band), 4 features of mixed usefulness."""
    return synthetic.make_task([1.0, 0.5, 0.25, 0.0], 80, 120, margin=0.1, seed=5, shape="tick")


@pytest.fixture(scope="module")
def net(task):
    return sphere.mlp(task.input_dim, hidden=8, depth=2)


# ------------------------------------------------------------------ synthetic task


def test_task_shapes_and_labels(task):
    assert task.x_train.shape == (64, 8) and task.x_train.dtype == np.float32
    assert task.x_test.shape == (200, 8)
    assert set(np.unique(task.y_train)) <= {0, 1}
    assert task.input_dim == 2 * 3 + 2 and task.num_features == 3


def _check_planted(task, expected_train, expected_test):
    # exactly round(p·N) informative samples per feature, in both sets
    np.testing.assert_array_equal(task.informative_train.sum(0), expected_train)
    np.testing.assert_array_equal(task.informative_test.sum(0), expected_test)
    for x, y, inf in [(task.x_train, task.y_train, task.informative_train), (task.x_test, task.y_test, task.informative_test)]:
        assert np.all(np.abs(x[:, : 2 * task.num_features]) <= synthetic.LIM + 1e-6)
        for k in range(task.num_features):
            pts = x[:, 2 * k : 2 * k + 2]
            lab = synthetic.feature_label(pts, task.margin, task.shape)
            # informative points lie on the right side of the gap; the others on the boundary
            np.testing.assert_array_equal(lab[inf[:, k]], y[inf[:, k]])
            assert synthetic.on_boundary(pts[~inf[:, k]], task.shape).all()
            assert not synthetic.on_boundary(pts[inf[:, k]], task.shape).any()
    # the ideal reader of feature 0 alone is always right
    assert synthetic.bayes_accuracy(task) == 1.0


def test_features_have_the_planted_usefulness(task, tick):
    _check_planted(task, [64, 32, 0], [200, 100, 0])
    _check_planted(tick, [80, 40, 20, 0], [120, 60, 30, 0])


def test_tick_feature_label():
    # the band |x1| - 2 < x2 < |x1| is class 0, above and below it class 1, the gap -1
    pts = np.array([[0.0, -1.0], [0.0, 0.5], [0.0, -2.5], [1.5, 1.0], [1.5, 1.8], [-1.5, -0.8], [0.0, 0.05], [0.0, -1.95]])
    np.testing.assert_array_equal(synthetic.feature_label(pts, 0.1, "tick"), [0, 1, 1, 0, 1, 1, -1, -1])
    np.testing.assert_array_equal(synthetic.feature_label(pts[1:4], 0.0, "v"), [1, 0, 1])
    assert synthetic.boundary(np.zeros(3), "tick").shape == (2, 3)
    np.testing.assert_array_equal(synthetic.on_boundary(np.array([[1.0, 1.0], [1.0, -1.0], [1.0, 0.0]]), "tick"), [True, True, False])
    # both classes are present in the paper's task, in about equal numbers
    t = synthetic.make_task([1.0] * 16, 512, 100, margin=0.1, seed=0, shape="tick")
    assert t.input_dim == 32 and 0.4 < t.y_train.mean() < 0.6
    with pytest.raises(ValueError):
        synthetic.make_task([1.0], 8, 8, shape="circle")
    with pytest.raises(ValueError):
        synthetic.make_task([1.0], 8, 8, margin=0.6, shape="tick")


@pytest.mark.parametrize("which", ["task", "tick"])
def test_isolate_and_ablate(which, request):
    task = request.getfixturevalue(which)
    x, y = synthetic.isolate(task, 1, n=50)
    assert x.shape == (50, task.input_dim)
    np.testing.assert_array_equal(synthetic.feature_label(x[:, 2:4], task.margin, task.shape), y)
    for k in (0, 2):  # every other feature on its boundary
        assert synthetic.on_boundary(x[:, 2 * k : 2 * k + 2], task.shape).all()
    xa = synthetic.ablate(task, 0)
    assert synthetic.on_boundary(xa[:, :2], task.shape).all()
    np.testing.assert_array_equal(xa[:, 2:], task.x_test[:, 2:])
    xs, ys = synthetic.isolated_sets(task, n=10)
    assert xs.shape == (task.num_features, 10, task.input_dim) and ys.shape == (task.num_features, 10)
    assert synthetic.ablated_sets(task).shape == (task.num_features, len(task.x_test), task.input_dim)


def test_task_is_deterministic(task):
    again = synthetic.make_task([1.0, 0.5, 0.0], 64, 200, margin=0.1, noise_dims=2, seed=3)
    np.testing.assert_array_equal(again.x_train, task.x_train)
    np.testing.assert_array_equal(again.y_test, task.y_test)
    other = synthetic.make_task([1.0, 0.5, 0.0], 64, 200, margin=0.1, noise_dims=2, seed=4)
    assert not np.array_equal(other.x_train, task.x_train)


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(usefulness=[]),
        dict(usefulness=[1.2]),
        dict(usefulness=[np.nan]),
        dict(usefulness=[0.5], n_train=0),
        dict(usefulness=[0.5], margin=0.0),
        dict(usefulness=[0.5], margin=1.5),
        dict(usefulness=[0.5], seed=-1),
        dict(usefulness=[0.5], noise_dims=-2),
    ],
)
def test_task_bad_input(kwargs):
    args = dict(usefulness=[0.5], n_train=8, n_test=8)
    args.update(kwargs)
    with pytest.raises(ValueError):
        synthetic.make_task(**args)


def test_feature_index_checked(task):
    for bad in (-1, 3, 1.0, True):
        with pytest.raises(ValueError):
            synthetic.isolate(task, bad)
        with pytest.raises(ValueError):
            synthetic.ablate(task, bad)


# ------------------------------------------------------------------ the networks


def test_mlp_is_scale_invariant(task, net):
    w = net.init(KEY)
    assert w.shape == (net.dim,) and net.dim == 8 * 8 + 8 * 8
    np.testing.assert_allclose(float(jnp.linalg.norm(w)), 1.0, rtol=1e-6)
    f = net.apply(w, task.x_test)
    assert f.shape == (200, 1)
    for alpha in (0.01, 3.0, 250.0):
        np.testing.assert_allclose(net.apply(alpha * w, task.x_test), f, rtol=2e-4, atol=2e-4)
    # the fixed head has the requested norm
    np.testing.assert_allclose(np.linalg.norm(net.head), 10.0, rtol=1e-5)


def test_convnet_is_scale_invariant():
    cnn = sphere.convnet((4, 6), outputs=3, head_norm=5.0)
    x = jax.random.normal(KEY, (5, 8, 8, 3))
    w = cnn.init(jax.random.PRNGKey(1))
    assert w.shape == (cnn.dim,) and cnn.dim == 3 * 3 * 3 * 4 + 3 * 3 * 4 * 6
    f = cnn.apply(w, x)
    assert f.shape == (5, 3)
    np.testing.assert_allclose(cnn.apply(7.0 * w, x), f, rtol=2e-4, atol=2e-4)


def resnet18_weights(width: int, in_channels: int = 3) -> int:
    """Weights of a pre-activation ResNet-18 without biases or head, counted by hand."""
    n, c_in = 9 * in_channels * width, width
    for stage in range(4):
        c = width * 2**stage
        n += 9 * c_in * c + 9 * c * c + (c_in * c if c != c_in else 0) + 2 * 9 * c * c
        c_in = c
    return n


@pytest.mark.slow
def test_resnet18_is_scale_invariant_and_has_the_papers_size():
    # the paper's width 32 (2.79M trainable weights); 64 gives the 11.16M convolution weights of the standard (pre-activation) ResNet-18
    assert sphere.resnet18(32).dim == resnet18_weights(32) == 2_790_240
    assert sphere.resnet18(64).dim == resnet18_weights(64) == 11_159_232
    net = sphere.resnet18(4, outputs=3, head_norm=5.0)
    assert net.dim == resnet18_weights(4) and net.head.shape == (32, 3)
    x = jax.random.normal(KEY, (5, 16, 16, 3))
    w = net.init(jax.random.PRNGKey(1))
    f = net.apply(w, x)
    assert f.shape == (5, 3) and bool(jnp.all(jnp.isfinite(f)))
    for alpha in (0.05, 7.0):
        np.testing.assert_allclose(net.apply(alpha * w, x), f, rtol=2e-4, atol=2e-4)
    # each image is its own input: the logits of one image do not depend on the others in the batch
    np.testing.assert_allclose(net.apply(w, x[:1]), f[:1], rtol=1e-5, atol=1e-5)
    # and the gradient is orthogonal to w, so projected SGD moves along the sphere
    g = jax.grad(lambda v: sphere.loss_and_accuracy(net.apply(v, x), jnp.arange(5) % 3)[0])(w)
    assert abs(float(jnp.vdot(w, g))) < 1e-4 * float(jnp.linalg.norm(g))
    with pytest.raises(ValueError, match="width"):
        sphere.resnet18(0)


def test_build_picks_the_architecture_and_checks_its_options():
    assert sphere.build("convnet", channels=(4, 6), outputs=3).dim == sphere.convnet((4, 6), outputs=3).dim
    assert sphere.build("resnet18", width=4).dim == resnet18_weights(4)
    with pytest.raises(ValueError, match="arch"):
        sphere.build("vgg16")
    with pytest.raises(ValueError, match="width"):
        sphere.build("convnet", width=32)


@pytest.mark.slow
def test_paper_scale_cifar_settings_build_the_papers_resnet():
    """Chapter 6's paper scale: the paper's SI ResNet-18 of width 32 on the full CIFAR-10 at 32×32,
    batch 128, 200 epochs; a few steps of it run (on 8 images) through the same calls as the chapter."""
    from catapult import data, scales

    pc = scales.settings("06_where_large_lrs_lead", "paper").cifar
    net = sphere.build(pc.arch, head_norm=pc.head_norm, **pc.net.asdict())
    assert net.dim == 2_790_240 and pc.image_size == 32 and pc.batch_size == 128
    assert pc.n_train == 50_000 and pc.pt_steps * pc.batch_size >= 199 * 50_000
    assert pc.pt_steps % pc.log_every == 0
    x = data.pool(np.asarray(jax.random.normal(KEY, (8, 32, 32, 3)), np.float32), pc.image_size)
    runs = sphere.pretrain(net, x, np.arange(8) % 10, [1e-3], 1, 2, batch_size=4, log_every=1, key=KEY, loop="python")
    assert runs.loss.shape == (1, 1, 3) and np.all(np.isfinite(runs.loss)) and not runs.diverged.any()


@pytest.mark.slow
def test_whole_set_statistics_in_chunks_equal_one_pass(monkeypatch, task):
    """Losses and accuracies over a data set larger than SAMPLE_CHUNK are summed over chunks
    (and a remainder): the same numbers as one pass, in evaluate and in the training logs."""
    x, y = task.x_test[:150], task.y_test[:150]
    kw = dict(batch_size=8, log_every=5, key=jax.random.PRNGKey(2))
    fresh = lambda: sphere.mlp(task.input_dim, hidden=8, depth=2)  # noqa: E731  (a new net: a fresh trace)
    w = np.stack([fresh().init(jax.random.PRNGKey(k)) for k in range(3)])
    one_pass = sphere.evaluate(fresh(), w, x, y)
    runs = sphere.pretrain(fresh(), x, y, [0.01, 0.1], 2, 10, **kw)
    monkeypatch.setattr(sphere.networks, "SAMPLE_CHUNK", 40)  # 150 = 3 × 40 + 30 (read where it is defined)
    chunked = sphere.evaluate(fresh(), w, x, y, chunk=2)
    np.testing.assert_allclose(chunked[0], one_pass[0], rtol=1e-5)
    np.testing.assert_allclose(chunked[1], one_pass[1], atol=1e-6)
    for loop in ("scan", "python"):
        again = sphere.pretrain(fresh(), x, y, [0.01, 0.1], 2, 10, loop=loop, **kw)
        np.testing.assert_allclose(again.loss, runs.loss, rtol=1e-5)
        np.testing.assert_allclose(again.accuracy, runs.accuracy, atol=1e-6)


def test_gradient_is_orthogonal_to_weights(task, net):
    # Euler's theorem for a degree-0 homogeneous function: <w, ∇L(w)> = 0
    w = net.init(KEY)
    g = jax.grad(lambda v: sphere.loss_and_accuracy(net.apply(v, task.x_train), task.y_train)[0])(w)
    assert abs(float(jnp.vdot(w, g))) < 1e-4 * float(jnp.linalg.norm(g)) + 1e-7


@pytest.mark.parametrize("bad", [dict(input_dim=0), dict(hidden=1), dict(depth=0), dict(head_norm=-1.0)])
def test_mlp_bad_input(bad):
    args = dict(input_dim=4)
    args.update(bad)
    with pytest.raises(ValueError):
        sphere.mlp(**args)


def test_convnet_bad_input():
    with pytest.raises(ValueError):
        sphere.convnet(())
    with pytest.raises(ValueError):
        sphere.convnet((4, 0))


# ------------------------------------------------------------ loss and geometry


def test_loss_and_accuracy_binary_and_softmax():
    z = jnp.array([[2.0], [-1.0], [0.5]])
    y = jnp.array([1, 1, 0])
    loss, acc = sphere.loss_and_accuracy(z, y)
    expected = np.mean(np.log1p(np.exp([-2.0, 1.0, 0.5])))
    np.testing.assert_allclose(float(loss), expected, rtol=1e-6)
    np.testing.assert_allclose(float(acc), 1 / 3, rtol=1e-6)
    logits = jnp.array([[0.0, 0.0, 0.0], [5.0, 0.0, 0.0]])
    loss, acc = sphere.loss_and_accuracy(logits, jnp.array([2, 0]))
    np.testing.assert_allclose(float(loss), (np.log(3) + np.log1p(2 * np.exp(-5))) / 2, rtol=1e-6)


def test_project_and_angle():
    w = jnp.array([[3.0, 4.0], [0.0, -2.0]])
    np.testing.assert_allclose(np.linalg.norm(sphere.project(w), axis=-1), 1.0, rtol=1e-6)
    np.testing.assert_allclose(sphere.angle([1.0, 0.0], [0.0, 2.0]), np.pi / 2)
    np.testing.assert_allclose(sphere.angle([1.0, 1.0], [2.0, 2.0]), 0.0, atol=1e-7)
    np.testing.assert_allclose(sphere.angle([1.0, 0.0], [-1.0, 0.0]), np.pi)
    np.testing.assert_allclose(sphere.angle(w, w), [0.0, 0.0], atol=1e-7)
    with pytest.raises(ValueError):
        sphere.angle([1.0, 0.0], [1.0, 0.0, 0.0])
    with pytest.raises(ValueError):
        sphere.angle([0.0, 0.0], [1.0, 0.0])


def test_barrier_of_a_point_with_itself_is_zero(task, net):
    w = net.init(KEY)
    alphas = np.linspace(0, 1, 5)
    err = sphere.interpolation_errors(net, w, w, task.x_test, task.y_test, alphas)
    assert err.shape == (5,)
    np.testing.assert_allclose(err, err[0])
    assert sphere.barrier(err, alphas) == 0.0


def test_barrier_formula():
    alphas = np.linspace(0, 1, 5)
    e = np.array([[0.1, 0.3, 0.5, 0.2, 0.3], [0.2, 0.2, 0.2, 0.2, 0.2]])
    np.testing.assert_allclose(sphere.barrier(e, alphas), [0.5 - 0.2, 0.0])
    with pytest.raises(ValueError):
        sphere.barrier(e, alphas[:4])
    with pytest.raises(ValueError):
        sphere.barrier(e, np.linspace(0.1, 1, 5))


# ------------------------------------------------------------------------ training


@pytest.fixture(scope="module")
def sweep(task, net):
    return sphere.pretrain(net, task.x_train, task.y_train, [0.01, 0.3], 2, 40, batch_size=8, log_every=10, key=KEY)


def test_pretrain_shapes_and_sphere(sweep, net):
    assert sweep.loss.shape == (2, 2, 5) and sweep.accuracy.shape == (2, 2, 5)
    np.testing.assert_array_equal(sweep.steps, [0, 10, 20, 30, 40])
    assert sweep.w.shape == (2, 2, net.dim)
    np.testing.assert_allclose(np.linalg.norm(sweep.w, axis=-1), 1.0, rtol=1e-5)
    assert not sweep.diverged.any() and (sweep.diverged_at == -1).all()
    # the same seed starts from the same point at every PLR
    np.testing.assert_allclose(sweep.loss[0, :, 0], sweep.loss[1, :, 0])
    assert sweep.loss[0, 0, 0] != sweep.loss[0, 1, 0]


def test_pretrain_is_deterministic(task, net, sweep):
    again = sphere.pretrain(net, task.x_train, task.y_train, [0.01, 0.3], 2, 40, batch_size=8, log_every=10, key=KEY)
    np.testing.assert_array_equal(again.w, sweep.w)
    np.testing.assert_array_equal(again.loss, sweep.loss)


def test_small_learning_rate_lowers_the_loss(task, net):
    runs = sphere.pretrain(net, task.x_train, task.y_train, [0.03], 1, 300, batch_size=16, log_every=100, key=KEY)
    assert runs.loss[0, 0, -1] < 0.5 * runs.loss[0, 0, 0]


@pytest.mark.slow
def test_finetune_shapes(task, net, sweep):
    ft = sphere.finetune(net, task.x_train, task.y_train, sweep.w, [1e-3, 1e-2], 3, 20, batch_size=8, log_every=10, key=KEY)
    assert ft.w.shape == (2, 2, 2, 3, net.dim)
    assert ft.loss.shape == (2, 2, 2, 3, 3)
    np.testing.assert_allclose(np.linalg.norm(ft.w, axis=-1), 1.0, rtol=1e-5)
    # fine-tuning starts where pre-training ended
    np.testing.assert_allclose(ft.loss[..., 0], np.broadcast_to(sweep.loss[..., -1, None, None], (2, 2, 2, 3)), rtol=1e-4)
    # different fine-tuning seeds end at different points
    assert (sphere.angle(ft.w[..., 0, :], ft.w[..., 1, :]) > 0).all()
    one = sphere.finetune(net, task.x_train, task.y_train, sweep.w[0, 0], [1e-3], 1, 20, batch_size=8, log_every=10, key=KEY)
    assert one.w.shape == (1, 1, net.dim)


def test_divergence_is_recorded_not_raised(task, net):
    runs = sphere.pretrain(net, task.x_train, task.y_train, [1e-2, 1e30], 1, 20, batch_size=8, log_every=10, key=KEY)
    assert runs.diverged.tolist() == [[False], [True]]
    assert runs.diverged_at[1, 0] == 10
    assert np.isnan(runs.loss[1, 0, 1:]).all() and np.isfinite(runs.loss[1, 0, 0])
    assert np.isfinite(runs.w).all()  # the last finite weights are kept
    loss, acc = sphere.evaluate(net, np.full((2, net.dim), np.nan), task.x_test, task.y_test)
    assert np.isnan(loss).all() and np.isnan(acc).all()


@pytest.mark.slow
def test_evaluate_and_sharpness(task, net, sweep):
    loss, acc = sphere.evaluate(net, sweep.w, task.x_train, task.y_train, chunk=3)
    np.testing.assert_allclose(loss, sweep.loss[..., -1], rtol=1e-4)
    np.testing.assert_allclose(acc, sweep.accuracy[..., -1])
    lam = sphere.sharpness(net, sweep.w, task.x_train, task.y_train, iters=30)
    assert lam.shape == (2, 2) and np.isfinite(lam).all()
    # against a dense Hessian for one model
    w = jnp.asarray(sweep.w[0, 0])
    H = jax.hessian(lambda v: sphere.loss_and_accuracy(net.apply(v, task.x_train), task.y_train)[0])(w)
    ev = np.linalg.eigvalsh(np.asarray(H, dtype=np.float64))
    top = ev[np.argmax(np.abs(ev))]
    np.testing.assert_allclose(lam[0, 0], top, rtol=0.05)


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(plrs=[]),
        dict(plrs=[-0.1]),
        dict(seeds=0),
        dict(steps=25),  # not a multiple of log_every
        dict(batch_size=1000),
        dict(y=np.full(64, 2)),
        dict(y=np.zeros(64, dtype=np.float32)),
        dict(x=np.zeros((10, 8), np.float32)),
    ],
)
def test_pretrain_bad_input(task, net, kwargs):
    args = dict(x=task.x_train, y=task.y_train, plrs=[0.01], seeds=1, steps=20, batch_size=8)
    args.update(kwargs)
    with pytest.raises(ValueError):
        sphere.pretrain(
            net, args["x"], args["y"], args["plrs"], args["seeds"], args["steps"],
            batch_size=args["batch_size"], log_every=10, key=KEY,
        )


def test_finetune_bad_input(task, net):
    with pytest.raises(ValueError):
        sphere.finetune(net, task.x_train, task.y_train, np.zeros((2, 3)), [1e-3], 1, 10, batch_size=8, log_every=10, key=KEY)
    with pytest.raises(ValueError):
        sphere.finetune(net, task.x_train, task.y_train, np.full(net.dim, np.nan), [1e-3], 1, 10, batch_size=8, log_every=10, key=KEY)
    with pytest.raises(ValueError):
        sphere.interpolation_errors(net, np.ones(net.dim), np.ones((2, net.dim)), task.x_test, task.y_test, [0, 1])
    with pytest.raises(ValueError):
        sphere.interpolation_errors(net, np.ones(net.dim), np.ones(net.dim), task.x_test, task.y_test, [0.5])


def test_classify_regimes():
    plrs = np.array([1e-3, 1e-2, 3e-2, 1e-1, 1.0])
    late = np.array([[1e-5, 2e-5], [1e-4, 1e-4], [0.2, 0.3], [0.4, 0.5], [5.0, np.nan]])
    r = sphere.classify_regimes(plrs, late, converged_below=1e-2, random_above=1.0)
    assert r.regime.tolist() == [1, 1, 2, 2, 3]
    np.testing.assert_allclose(r.threshold, np.sqrt(1e-2 * 3e-2))
    assert r.random_walk == 1.0
    none = sphere.classify_regimes(plrs, np.full((5, 1), 0.5), converged_below=1e-2, random_above=1.0)
    assert np.isnan(none.threshold) and np.isnan(none.random_walk)
    with pytest.raises(ValueError):
        sphere.classify_regimes(plrs, late[:3], converged_below=1e-2, random_above=1.0)
    with pytest.raises(ValueError):
        sphere.classify_regimes(plrs, late, converged_below=2.0, random_above=1.0)
    with pytest.raises(ValueError):
        sphere.classify_regimes(plrs, late, converged_below=1e-2, random_above=1.0, converged="median")


def test_classify_regimes_every_seed_must_converge():
    # at 1e-2 one seed converged and one did not: regime 1 by the mean, regime 2 by "all"
    plrs = np.array([1e-3, 1e-2, 3e-2])
    late = np.array([[1e-5, 2e-5], [1e-4, 1.5e-2], [0.2, 0.3]])
    by_mean = sphere.classify_regimes(plrs, late, converged_below=1e-2, random_above=1.0)
    by_all = sphere.classify_regimes(plrs, late, converged_below=1e-2, random_above=1.0, converged="all")
    assert by_mean.regime.tolist() == [1, 1, 2] and by_all.regime.tolist() == [1, 2, 2]
    np.testing.assert_allclose(by_all.threshold, np.sqrt(1e-3 * 1e-2))


def test_late_statistics(sweep):
    mean, std = sphere.late_statistics(sweep, window=0.5)
    assert mean.shape == (2, 2)
    np.testing.assert_allclose(mean, sweep.loss[..., -2:].mean(-1), rtol=1e-6)
    with pytest.raises(ValueError):
        sphere.late_statistics(sweep, window=0.0)


def test_classify_regimes_by_accuracy():
    plrs = np.array([1e-3, 1e-2, 1e-1, 1.0])
    late = np.array([[1e-4, 1e-4], [0.3, 0.3], [0.5, 0.6], [0.7, 0.7]])
    acc = np.array([[1.0, 1.0], [0.9, 0.8], [0.55, 0.5], [0.9, 0.9]])
    r = sphere.classify_regimes(plrs, late, converged_below=1e-2, random_above=10.0, late_accuracy=acc, chance_below=0.6)
    assert r.regime.tolist() == [1, 2, 3, 2]
    assert r.random_walk == 1e-1
    with pytest.raises(ValueError, match="together"):
        sphere.classify_regimes(plrs, late, converged_below=1e-2, random_above=10.0, late_accuracy=acc)
    with pytest.raises(ValueError, match="shape"):
        sphere.classify_regimes(plrs, late, converged_below=1e-2, random_above=10.0, late_accuracy=acc[:2], chance_below=0.6)


def test_continue_pretraining(task, net, sweep):
    more = sphere.continue_pretraining(net, task.x_train, task.y_train, sweep.w, [0.01, 0.3], 20, batch_size=8, log_every=10,
                                       key=jax.random.fold_in(KEY, 5))
    assert more.w.shape == sweep.w.shape and more.loss.shape == (2, 2, 3)
    np.testing.assert_allclose(np.linalg.norm(more.w, axis=-1), 1.0, rtol=1e-5)
    # it starts where pre-training ended, each run at its own PLR
    np.testing.assert_allclose(more.loss[..., 0], sweep.loss[..., -1], rtol=1e-4)
    assert (sphere.angle(more.w, sweep.w) > 0).all()
    with pytest.raises(ValueError, match="shape"):
        sphere.continue_pretraining(net, task.x_train, task.y_train, sweep.w[0], [0.01, 0.3], 20, batch_size=8, log_every=10, key=KEY)


def test_subregimes():
    plrs = np.array([1e-3, 5e-3, 7e-3, 1e-2, 2e-2, 1e-1])
    regime = np.array([1, 1, 2, 2, 2, 3])
    a, b = sphere.subregimes(plrs, regime, 6e-3, 2.0)
    np.testing.assert_array_equal(a, [False, False, True, True, False, False])
    np.testing.assert_array_equal(b, [False, False, False, False, True, False])
    a, b = sphere.subregimes(plrs, regime, np.nan, 2.0)
    assert not a.any() and not b.any()
    with pytest.raises(ValueError):
        sphere.subregimes(plrs, regime[:3], 6e-3, 2.0)
    with pytest.raises(ValueError):
        sphere.subregimes(plrs, regime, 6e-3, 0.5)


def test_effective_features():
    acc = np.array([[1.0, 0.5, 0.5, 0.5], [0.9, 0.9, 0.9, 0.9], [0.5, 0.4, 0.5, 0.5], [1.0, 1.0, 0.5, 0.5]])
    np.testing.assert_allclose(synthetic.effective_features(acc), [1.0, 4.0, np.nan, 2.0])
    with pytest.raises(ValueError):
        synthetic.effective_features(np.zeros((3, 0)))


# ---------------------------------------------------------------- the Python loop


@pytest.mark.slow
@pytest.mark.parametrize("loop", ["python", "each"])
def test_python_loop_equals_scan(loop):
    """loop="python" (one jitted step from a Python loop) and loop="each" (one jitted single-run
    step per run, for ConvNets on CPU) give the numbers
    of the lax.scan: losses, weights and divergence records, in pre-training, its continuation
    and fine-tuning. PLRs are kept non-chaotic (a chaotic run amplifies float rounding); the
    huge one overflows, so both loops must freeze it at the same logged step."""
    cnn = sphere.convnet((4, 6), outputs=3, head_norm=5.0)
    x = np.asarray(jax.random.normal(KEY, (24, 8, 8, 3)), np.float32)
    y = np.arange(24) % 3
    plrs = [0.01, 0.1, 3e38]
    kw = dict(batch_size=8, log_every=5, key=jax.random.PRNGKey(4))
    scan = sphere.pretrain(cnn, x, y, plrs, 2, 15, **kw)
    py = sphere.pretrain(cnn, x, y, plrs, 2, 15, loop=loop, **kw)
    assert scan.diverged[2].all() and not scan.diverged[:2].any()
    np.testing.assert_array_equal(py.diverged, scan.diverged)
    np.testing.assert_array_equal(py.diverged_at, scan.diverged_at)
    np.testing.assert_array_equal(py.steps, scan.steps)
    np.testing.assert_allclose(py.loss, scan.loss, rtol=1e-4, atol=1e-5, equal_nan=True)
    np.testing.assert_allclose(py.accuracy, scan.accuracy, atol=1e-6, equal_nan=True)
    np.testing.assert_allclose(py.w, scan.w, atol=1e-5)
    w_end = scan.w[:2]
    more = [sphere.continue_pretraining(cnn, x, y, w_end, plrs[:2], 10, loop=how, **kw) for how in ("scan", loop)]
    np.testing.assert_allclose(more[1].loss, more[0].loss, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(more[1].w, more[0].w, atol=1e-5)
    ft = [sphere.finetune(cnn, x, y, w_end, [1e-3, 1e-2], 2, 10, loop=how, **kw) for how in ("scan", loop)]
    assert ft[1].w.shape == (2, 2, 2, 2, cnn.dim)
    np.testing.assert_allclose(ft[1].loss, ft[0].loss, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(ft[1].w, ft[0].w, atol=1e-5)
    one = sphere.finetune(cnn, x, y, w_end[0, 0], [1e-3], 1, 5, loop=loop, **kw)
    assert one.w.shape == (1, 1, cnn.dim)
    with pytest.raises(ValueError, match="loop"):
        sphere.pretrain(cnn, x, y, plrs, 1, 5, loop="while", **kw)


def test_late_accuracy_uses_the_late_statistics_window():
    T = 9  # records 0..8: the last quarter is round(0.25 · 8) = 2 records
    loss = np.arange(T, dtype=float)[None, :].repeat(2, 0)
    acc = np.linspace(0, 1, T)[None, :].repeat(2, 0)
    runs = sphere.Runs(loss, acc, np.arange(T), np.zeros((2, 3)), np.zeros(2, bool), -np.ones(2, int))
    np.testing.assert_allclose(sphere.late_statistics(runs)[0], [7.5, 7.5])
    np.testing.assert_allclose(sphere.late_accuracy(runs), [np.mean(acc[0, -2:])] * 2)
    np.testing.assert_allclose(sphere.late_accuracy(runs, window=1.0), [acc[0, 1:].mean()] * 2)  # all but initialization
    with pytest.raises(ValueError, match="window"):
        sphere.late_accuracy(runs, window=0)


def test_the_package_reexports_each_module():
    """catapult.sphere is one module per idea (networks, sgd, geometry, regimes); the package
    re-exports every public name of each, and the statistics it used to hold are catapult.stats's."""
    from catapult import stats
    from catapult.sphere import geometry, networks, regimes, sgd

    modules = (networks, sgd, geometry, regimes)
    names = [n for m in modules for n in m.__all__]
    assert len(set(names)) == len(names) and sorted(names) == sorted(sphere.__all__)
    for m in modules:
        for n in m.__all__:
            assert getattr(sphere, n) is getattr(m, n), f"catapult.sphere.{n} is not {m.__name__}.{n}"
    assert sphere.mean_and_error is stats.mean_and_error
    assert sphere.best_inside_vs_outside is stats.best_inside_vs_outside


def test_late_trend_tells_a_steady_trend_from_stationary_noise():
    t = np.arange(41, dtype=float)
    rng = np.random.default_rng(0)
    loss = np.stack([1.0 - 0.01 * t, 0.5 + 0.01 * rng.standard_normal((200, 41))[0]])  # a ramp, then noise
    runs = sphere.Runs(loss=loss, accuracy=np.ones_like(loss), steps=t, w=None, diverged=np.zeros(2, bool),
                       diverged_at=-np.ones(2, int))
    trend = sphere.late_trend(runs)
    assert trend[0] == pytest.approx(-np.sqrt(12 * 10 / 12), rel=0.1)  # √(12 (n−1)/(n+1)) for n = 11 records
    assert abs(trend[1]) < 2.0
    noise = 0.5 + 0.01 * rng.standard_normal((500, 41))
    many = sphere.Runs(loss=noise, accuracy=np.ones_like(noise), steps=t, w=None, diverged=np.zeros(500, bool),
                       diverged_at=-np.ones(500, int))
    assert np.mean(np.abs(sphere.late_trend(many))) < 1.5


def test_average_trajectory_is_the_projected_mean_of_its_checkpoints(task, net, sweep):
    plrs = [0.01, 0.3]
    w_avg, last = sphere.average_trajectory(net, task.x_train, task.y_train, sweep.w, plrs, 2, 10, batch_size=8, key=KEY)
    first = sphere.continue_pretraining(net, task.x_train, task.y_train, sweep.w, plrs, 10, batch_size=8, log_every=10,
                                        key=jax.random.fold_in(KEY, 0))
    expected = sweep.w + first.w + last.w
    np.testing.assert_allclose(w_avg, expected / np.linalg.norm(expected, axis=-1, keepdims=True), rtol=1e-5, atol=1e-6)
    assert w_avg.shape == sweep.w.shape
    with pytest.raises(ValueError):
        sphere.average_trajectory(net, task.x_train, task.y_train, sweep.w, plrs, 0, 10, batch_size=8, key=KEY)
