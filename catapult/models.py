"""neural-tangents ``stax`` builders with the paper's settings (App. A).

Each builder returns ``(init_fn, apply_fn, kernel_fn)``, so a chapter gets the finite
network, and the infinite-width NTK that predicts its λ0, from one call.
"""

from __future__ import annotations

import math

from ._checks import one_of, positive_float, positive_int
from ._quiet import import_quietly


def fully_connected(
    width: int,
    depth: int,
    outputs: int,
    w_std: float = math.sqrt(2.0),
    b_std: float | None = None,
    parameterization: str = "ntk",
):
    """A ReLU network: ``depth`` hidden layers of ``width`` units and a linear readout.

    σ_w² = 2 and no bias by default, NTK parameterization (App. A's σ_w, σ_b are not
    recoverable from the paper's text; these are standard choices for ReLU).
    """
    width, depth, outputs = positive_int("width", width), positive_int("depth", depth), positive_int("outputs", outputs)
    w_std = positive_float("w_std", w_std)
    if b_std is not None:
        b_std = positive_float("b_std", b_std)
    one_of("parameterization", parameterization, ("ntk", "standard"))
    stax = import_quietly("neural_tangents.stax")
    layers = []
    for _ in range(depth):
        layers += [stax.Dense(width, W_std=w_std, b_std=b_std, parameterization=parameterization), stax.Relu()]
    layers.append(stax.Dense(outputs, W_std=w_std, b_std=b_std, parameterization=parameterization))
    return stax.serial(*layers)


def lambda0_versus_width(
    key, x, widths, depth: int, outputs: int = 1, seeds: int = 1, **kw
) -> tuple[float, "np.ndarray"]:
    """λ0 of ``fully_connected`` nets at each width and seed (matrix-free), and at infinite width.

    Returns (λ0 from the infinite-width NTK, array (len(widths), seeds) of finite-width λ0),
    both in the paper's normalization (see :mod:`catapult.ntk`); ``kw`` goes to the builder.
    """
    import jax
    import numpy as np

    from . import ntk

    seeds = positive_int("seeds", seeds)
    widths = [positive_int("width", w) for w in widths]
    _, _, kernel_fn = fully_connected(max(widths), depth, outputs, **kw)
    lam_inf = ntk.infinite_width_top_eigenvalue(kernel_fn, x, outputs)
    lam = np.zeros((len(widths), seeds))
    for i, width in enumerate(widths):
        init_fn, apply_fn, _ = fully_connected(width, depth, outputs, **kw)
        for s in range(seeds):
            _, params = init_fn(jax.random.fold_in(key, 1000 * i + s), x.shape)
            lam[i, s] = ntk.top_eigenvalue(apply_fn, params, x)
    return lam_inf, lam
