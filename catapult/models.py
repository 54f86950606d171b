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
