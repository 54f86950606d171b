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
