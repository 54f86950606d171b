"""The stax builders and the finite- vs infinite-width λ0 helper."""

import jax
import numpy as np
import pytest

from catapult import models


def test_fully_connected_shapes_and_bad_input():
    init_fn, apply_fn, kernel_fn = models.fully_connected(16, 2, 3)
    x = jax.random.normal(jax.random.PRNGKey(0), (5, 4))
    _, params = init_fn(jax.random.PRNGKey(1), x.shape)
    assert apply_fn(params, x).shape == (5, 3)
    assert kernel_fn(x, None, "ntk").shape == (5, 5)
    for bad in [dict(width=0), dict(depth=-1), dict(w_std=float("nan")), dict(parameterization="mup")]:
        args = dict(width=8, depth=1, outputs=1) | bad
        with pytest.raises(ValueError):
            models.fully_connected(**args)


def test_lambda0_versus_width_shapes_and_agreement():
    x = jax.random.normal(jax.random.PRNGKey(2), (16, 6))
    lam_inf, lam = models.lambda0_versus_width(jax.random.PRNGKey(3), x, [32, 512], depth=1, seeds=2)
    assert lam.shape == (2, 2) and np.all(lam > 0)
    gap = np.sqrt(np.mean((lam - lam_inf) ** 2, axis=1)) / lam_inf
    assert gap[1] < gap[0] and gap[1] < 0.1


def test_tanh_network_matches_its_infinite_width_kernel_and_defaults_to_lecun():
    x = jax.random.normal(jax.random.PRNGKey(4), (12, 5))
    lam_inf, lam = models.lambda0_versus_width(jax.random.PRNGKey(5), x, [2048], depth=2, nonlinearity="tanh")
    assert abs(lam[0, 0] - lam_inf) / lam_inf < 0.1
    init_fn, apply_fn, _ = models.fully_connected(4096, 1, 1, nonlinearity="tanh")
    _, params = init_fn(jax.random.PRNGKey(6), (1, 5))
    assert abs(float(np.std(params[0][0])) - 1.0) < 0.05  # σ_w = 1 (LeCun), NTK parameterization
    with pytest.raises(ValueError):
        models.fully_connected(8, 1, 1, nonlinearity="sigmoid")


@pytest.mark.slow
def test_cnn_and_wide_resnet_shapes_lambda0_and_bad_input():
    from catapult import ntk

    x = jax.random.normal(jax.random.PRNGKey(7), (4, 16, 16, 3))
    for init_fn, apply_fn, _ in [models.cnn(10, channels=8, dense=16), models.wide_resnet(10, 1, 10)]:
        _, params = init_fn(jax.random.PRNGKey(8), x.shape)
        f = apply_fn(params, x)
        assert f.shape == (4, 10) and np.all(np.isfinite(f)) and 0.05 < float(np.std(f)) < 10
        lam = ntk.top_eigenvalue(apply_fn, params, x)
        assert np.isfinite(lam) and lam > 0
    # WRN-16-2 has 2 blocks per group and twice the channels of WRN-16-1
    count = lambda b: sum(p.size for p in jax.tree_util.tree_leaves(b[0](jax.random.PRNGKey(0), x.shape)[1]))  # noqa: E731
    assert count(models.wide_resnet(16, 2)) > 3 * count(models.wide_resnet(16, 1)) > 3 * count(models.wide_resnet(10, 1))
    # the per-sample LayerNorm makes each output a function of its own sample only
    init_fn, apply_fn, _ = models.wide_resnet(10, 1)
    _, params = init_fn(jax.random.PRNGKey(9), x.shape)
    np.testing.assert_allclose(apply_fn(params, x)[:1], apply_fn(params, x[:1]), rtol=1e-4, atol=1e-5)
    for bad in [dict(depth=12), dict(depth=4), dict(widening=0), dict(norm="batch"), dict(w_std=0.0)]:
        with pytest.raises(ValueError):
            models.wide_resnet(**(dict(depth=10, widening=1) | bad))
    for bad in [dict(channels=0), dict(kernel=-1), dict(parameterization="mup")]:
        with pytest.raises(ValueError):
            models.cnn(**bad)


def test_builders_issue_no_user_warnings():
    import warnings

    x = jax.random.normal(jax.random.PRNGKey(0), (3, 4))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        init_fn, _, kernel_fn = models.fully_connected(8, 1, 1, nonlinearity="tanh")
        init_fn(jax.random.PRNGKey(0), x.shape)
        kernel_fn(x, None, "ntk")
        models.wide_resnet(10, 1)
    assert not [w for w in caught if issubclass(w.category, UserWarning)], [str(w.message) for w in caught]
