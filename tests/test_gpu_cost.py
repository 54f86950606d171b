"""catapult.gpu_cost: the shipped GPU measurements and XLA's FLOP counts."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import pytest

from catapult import gpu_cost


def test_measured_paper_cost_ships_with_its_environment():
    cost = gpu_cost.measured("paper_cost")
    assert cost["finished"] and cost["environment"]["platform"] == "gpu"
    assert 10 < gpu_cost.conv_tflops(cost) < 2000  # model TFLOP/s of the WRN-28-10 steps
    with pytest.raises(ValueError, match="paper_cost"):
        gpu_cost.measured("no_such_measurement")


def test_forward_flops_of_a_matrix_product():
    a, b = jnp.ones((64, 32)), jnp.ones((32, 16))
    flops = gpu_cost.forward_flops(jnp.matmul, a, b)
    assert flops == pytest.approx(2 * 64 * 32 * 16, rel=0.05)
    x = jax.random.normal(jax.random.PRNGKey(0), (1, 8, 8, 3))
    k = jnp.ones((3, 3, 3, 4))
    conv = lambda x, k: jax.lax.conv_general_dilated(x, k, (1, 1), "SAME", dimension_numbers=("NHWC", "HWIO", "NHWC"))  # noqa: E731
    # SAME padding: per axis 8 outputs × 3 taps minus the 2 that fall off the edges = 22 valid taps
    assert gpu_cost.forward_flops(conv, x, k) == pytest.approx(2 * 22 * 22 * 3 * 4, rel=0.05)


def test_sgd_hours():
    # 1 GFLOP per image, 1000 steps of batch 100 (3e14 FLOPs) and 10 logs of 1000 images (1e13), at 1 TFLOP/s
    assert gpu_cost.sgd_hours(1e9, steps=1000, batch_size=100, n_train=1000, log_every=100, tflops=1.0) == pytest.approx(310 / 3600)
    with pytest.raises(ValueError, match="tflops"):
        gpu_cost.sgd_hours(1e9, steps=10, batch_size=1, n_train=1, log_every=1, tflops=0)


def test_lowered_flops_counts_without_compiling_and_agrees_with_forward_flops():
    a, b = jax.ShapeDtypeStruct((64, 32), jnp.float32), jax.ShapeDtypeStruct((32, 16), jnp.float32)
    flops = gpu_cost.lowered_flops(jnp.matmul, a, b)  # shapes only: nothing is allocated or compiled
    assert flops == pytest.approx(2 * 64 * 32 * 16, rel=0.05)
    assert flops == pytest.approx(gpu_cost.forward_flops(jnp.matmul, jnp.ones((64, 32)), jnp.ones((32, 16))), rel=0.05)
