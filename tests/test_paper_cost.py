"""benchmarks/paper_cost.py: its plain-JAX networks are the stax models, and it runs end to end."""

import importlib.util
import json
import pathlib

import jax
import numpy as np
import pytest

from catapult import models, train

ROOT = pathlib.Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("paper_cost", ROOT / "benchmarks" / "paper_cost.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("nonlinearity", ["relu", "tanh"])
def test_fc_equals_the_stax_network_on_the_same_weights(bench, nonlinearity):
    init_fn, apply_fn, _ = models.fully_connected(16, 3, 10, nonlinearity=nonlinearity)
    x = np.random.default_rng(0).normal(size=(5, 784)).astype(np.float32)
    _, params = init_fn(jax.random.PRNGKey(1), x.shape)
    weights = jax.tree_util.tree_leaves(params)
    assert [w.shape for w in weights] == [w.shape for w in bench.fc_init(0, 784, 16, 3, 10)]
    ours = bench.fc_apply(weights, x, nonlinearity=nonlinearity)
    np.testing.assert_allclose(ours, apply_fn(params, x), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("depth, widening", [(10, 1), (10, 2)])  # (10, 2): a stride-1 projection, as WRN-28-10
def test_wrn_equals_the_stax_network_on_the_same_weights(bench, depth, widening):
    init_fn, apply_fn, _ = models.wide_resnet(depth, widening)
    x = np.random.default_rng(0).normal(size=(3, 8, 8, 3)).astype(np.float32)
    _, params = init_fn(jax.random.PRNGKey(2), x.shape)
    weights = jax.tree_util.tree_leaves(params)
    assert [w.shape for w in weights] == bench.wrn_shapes(depth, widening)
    ours = bench.wrn_apply(weights, x, depth=depth, widening=widening)
    want = apply_fn(params, x)
    assert ours.shape == want.shape == (3, 10)
    np.testing.assert_allclose(ours, want, rtol=1e-5, atol=1e-5)


def test_wrn_28_10_has_the_stax_parameter_shapes(bench):
    init_fn, _, _ = models.wide_resnet(28, 10)
    params = jax.eval_shape(lambda k: init_fn(k, (1, 32, 32, 3))[1], jax.random.PRNGKey(0))
    shapes = [tuple(p.shape) for p in jax.tree_util.tree_leaves(params)]
    assert shapes == bench.wrn_shapes(28, 10)
    assert sum(int(np.prod(s)) for s in shapes) == 36_461_232  # WRN-28-10: 36.5 M weights (no biases, no norm params)


def test_init_scales(bench):
    fc = bench.fc_init(0, 784, 256, 2, 10)
    assert abs(float(np.std(fc[1])) - 1.0) < 0.02  # NTK parameterization: N(0, 1)
    wrn = bench.wrn_init(0, 10, 2)
    fan_in = np.prod(wrn[2].shape[:-1])
    assert abs(float(np.std(wrn[2])) * np.sqrt(fan_in) - 1.0) < 0.05  # LeCun: N(0, 1/fan_in)


def test_lambda_count_matches_the_sweep_schedule(bench):
    # t = 0, 10, ..., 390 in the scan, t = 400 at the end, one exact time: 40 + 1 + 1
    assert bench.lambda_count(400, 10, 1) == 42
    assert bench.lambda_count(330, 10, 1) == 35
    assert bench.lambda_count(666, 10, 1, early=10) == 67 + 9 + 1 + 1  # plus every step t <= 10
    assert bench.lambda_count(5, None, 0) == 0
    # against train.sweep's own schedule: the scheduled steps t < T, one at t = T, one exact time
    x = np.random.default_rng(0).normal(size=(8, 3)).astype(np.float32)
    apply_fn = lambda p, xs: xs @ p  # noqa: E731
    steps, every = 10, 3
    kw = {"early": 4} if "early" in train.Curvature._fields else {}
    run = train.sweep(apply_fn, np.ones((3, 2), np.float32), x, x[:, :2], [0.1], steps,
                      eig=train.Curvature(x, every=every, times=(0.5,), iters=2, **kw))
    in_scan = int(np.sum(run.lam_steps < steps))
    assert bench.lambda_count(steps, every, 1, **kw) == in_scan + 1 + 1


@pytest.mark.slow
def test_tiny_run_end_to_end(bench, tmp_path):
    out = tmp_path / "cost.json"
    data = bench.main(["--tiny", "--out", str(out), "--repeats", "1"])
    saved = json.loads(out.read_text())
    assert saved["finished"] and data["finished"]
    assert not saved["errors"], saved["errors"]
    m = saved["measurements"]
    for name in ("fc_relu_sweep_10_steps", "fc_relu_sweep_20_steps", "fc_tanh_sweep_20_steps",
                 "wrn_lambda_1_rates", "wrn_step_1_rates", "wrn_lambda_2_rates", "wrn_step_2_rates"):
        assert "median_s" in m[name], name
    ex = saved["extrapolated"]
    for key in ("fc_relu_s", "fc_tanh_s", "wrn_s", "chapter4_total_s"):
        assert np.isfinite(ex[key]) and ex[key] > 0, key
    assert saved["environment"]["jax"] == jax.__version__
    assert saved["settings"]["wrn"]["parameters"] == sum(int(np.prod(s)) for s in bench.wrn_shapes(10, 1))
