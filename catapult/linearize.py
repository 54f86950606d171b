"""Linearized networks, and how far the kernel moves once the catapult is over (Sec. 4.1,
Figures 6 and S13).

The linearization of a network at parameters θ̄ is f_lin(θ, x) = f(θ̄, x) + J(θ̄, x)(θ − θ̄)
(``neural_tangents.linearize``; :func:`tangent_model`). Gradient descent on the MSE
L = Σ (f − y)²/(2mk) moves its outputs exactly by the fixed kernel of θ̄:

    f_train' = f_train − η Θ (f_train − y),      f_test' = f_test − η Θ_test (f_train − y),

with Θ = J_train J_trainᵀ/(mk) (the paper's normalization, :mod:`catapult.ntk`) and
Θ_test = J_test J_trainᵀ/(mk). :func:`linearize` computes the two kernels once
(neural-tangents' structured-derivatives NTK), and :func:`gd` then runs the exact dynamics of
the linearized model in function space, vmapped over learning rates, at the cost of one
(mk × mk) matrix-vector product per step instead of a pass through the network. The tests and
chapter 3 check it against parameter-space GD on ``tangent_model``.

A linearized model is stable iff η < 2/λ_max(Θ): the one taken at initialization cannot
follow a network trained above η_crit = 2/λ0, while one taken after the catapult, when λ has
dropped below 2/η, can, if the kernel has stopped moving (:func:`kernel_change`).
"""

from __future__ import annotations

import functools
from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from . import ntk, train
from ._checks import positive_array, positive_float, positive_int
from ._scan import scan_frozen

ApplyFn = Callable[[Any, jax.Array], jax.Array]


class LinearModel(NamedTuple):
    """A network linearized at θ̄, in function space (arrays may carry a leading batch axis).

    k_train: (mk, mk) Θ = J_tr J_trᵀ/(mk); k_test: (nk, mk) J_te J_trᵀ/(mk), sample-major;
    f_train: (m, k) and f_test: (n, k), the outputs at θ̄.
    """

    k_train: jax.Array
    k_test: jax.Array
    f_train: jax.Array
    f_test: jax.Array

    @property
    def top_eigenvalue(self) -> np.ndarray:
        """λ_max(Θ) of each model (float64 ``eigvalsh``): the model is stable iff η < 2/λ_max."""
        k = np.asarray(self.k_train, dtype=np.float64)
        return np.linalg.eigvalsh(k)[..., -1]


class LinearRun(NamedTuple):
    """Gradient descent on linearized models at each learning rate (numpy arrays, leading axis = η)."""

    etas: np.ndarray  # (n,)
    loss: np.ndarray  # (n, T+1) training loss at every step, NaN once divergent
    divergent: np.ndarray  # (n,) bool: non-finite, or above loss_cap
    diverged_at: np.ndarray  # (n,) first divergent step, -1 if none
    train_accuracy: np.ndarray  # (n,) at the end (of the last finite state)
    test_loss: np.ndarray  # (n,)
    test_accuracy: np.ndarray  # (n,)


def tangent_model(apply_fn: ApplyFn, params: Any) -> ApplyFn:
    """``neural_tangents.linearize(apply_fn, params)``: f(θ̄) + J(θ̄)(θ − θ̄) in parameter space."""
    return ntk._neural_tangents().linearize(apply_fn, params)


@functools.lru_cache(maxsize=16)
def _kernel_fn(apply_fn: ApplyFn) -> Callable:
    nt = ntk._neural_tangents()
    impl = nt.NtkImplementation.STRUCTURED_DERIVATIVES
    return jax.jit(nt.empirical_ntk_fn(apply_fn, trace_axes=(), vmap_axes=0, implementation=impl))


def _as_matrix(theta: jax.Array) -> jax.Array:
    """(n1, n2, k, k) from neural-tangents → (n1·k, n2·k), sample-major."""
    n1, n2, k, _ = theta.shape
    return jnp.transpose(theta, (0, 2, 1, 3)).reshape(n1 * k, n2 * k)


def _outputs(apply_fn: ApplyFn, params: Any, x: jax.Array) -> jax.Array:
    f = apply_fn(params, x)
    return f[:, None] if f.ndim == 1 else f.reshape(f.shape[0], -1)


def linearize(apply_fn: ApplyFn, params: Any, x_train: Any, x_test: Any) -> LinearModel:
    """The network ``apply_fn`` linearized at ``params``, as kernels and outputs (see module)."""
    x_train, x_test = jnp.asarray(x_train), jnp.asarray(x_test)
    if x_train.ndim < 2 or x_test.ndim < 2 or x_train.shape[1:] != x_test.shape[1:]:
        raise ValueError(f"x_train {x_train.shape} and x_test {x_test.shape} must be (N, ...) with equal sample shapes.")
    f_train, f_test = _outputs(apply_fn, params, x_train), _outputs(apply_fn, params, x_test)
    kernel = _kernel_fn(apply_fn)
    norm = f_train.size  # m·k
    if f_train.shape[1] == 1:  # neural-tangents drops the trivial output axes
        expand = lambda t: t.reshape(t.shape[0], t.shape[1], 1, 1)  # noqa: E731
    else:
        expand = lambda t: t  # noqa: E731
    k_train = _as_matrix(expand(kernel(x_train, None, params))) / norm
    k_test = _as_matrix(expand(kernel(x_test, x_train, params))) / norm
    return LinearModel(k_train, k_test, f_train, f_test)


def linearize_each(apply_fn: ApplyFn, stacked_params: Any, x_train: Any, x_test: Any) -> LinearModel:
    """:func:`linearize` at each of a stack of parameters (leading axis), e.g. one per η."""
    n = jax.tree_util.tree_leaves(stacked_params)[0].shape[0]
    models = [linearize(apply_fn, jax.tree_util.tree_map(lambda a: a[i], stacked_params), x_train, x_test) for i in range(n)]
    return LinearModel(*(jnp.stack(parts) for parts in zip(*models)))


@functools.lru_cache(maxsize=16)
def _gd_program(steps: int, batched: bool):
    def one(model: LinearModel, eta, y_train, y_test, cap):
        k = model.f_train.shape[1]

        def step(state):
            err, acc = state  # err = f_train − y (flat); acc = Σ_s err_s, for the test outputs
            return err - eta * (model.k_train @ err), acc + err

        def observe(state):
            loss = 0.5 * jnp.mean(state[0] ** 2)
            return (jnp.where(loss > cap, jnp.inf, loss),)

        err0 = (model.f_train - y_train).reshape(-1)
        (loss,), dead, dead_at, (err, acc) = scan_frozen(step, (err0, jnp.zeros_like(err0)), observe, steps)
        f_train = (err.reshape(-1, k) + y_train)
        f_test = model.f_test - eta * (model.k_test @ acc).reshape(-1, k)
        return (
            loss,
            dead,
            dead_at,
            train.accuracy(f_train, y_train),
            train.mse(f_test, y_test),
            train.accuracy(f_test, y_test),
        )

    axes = (0 if batched else None, 0, None, None, None)
    return jax.jit(jax.vmap(one, in_axes=axes))


def gd(
    model: LinearModel, y_train: Any, y_test: Any, etas: Any, steps: int, *, loss_cap: float = 1e8
) -> LinearRun:
    """Full-batch GD on the linearized ``model`` at every learning rate in ``etas``, exactly.

    One jitted program vmapped over ``etas``; ``model`` is shared by all of them, or carries
    one model per learning rate along a leading axis (from :func:`linearize_each`). A run whose
    loss becomes non-finite or exceeds ``loss_cap`` times its initial loss is divergent: it is
    frozen at its last state below the cap, and its later loss records are NaN.
    """
    etas = positive_array("etas", etas)
    if etas.ndim != 1:
        raise ValueError(f"etas must be a 1-D array of learning rates, got shape {etas.shape}.")
    steps = positive_int("steps", steps)
    loss_cap = positive_float("loss_cap", loss_cap)
    batched = model.k_train.ndim == 3
    if batched and model.k_train.shape[0] != etas.size:
        raise ValueError(f"{model.k_train.shape[0]} linearized models for {etas.size} learning rates; pass one per η.")
    y_train = jnp.asarray(y_train, jnp.float32).reshape(model.f_train.shape[-2:])
    y_test = jnp.asarray(y_test, jnp.float32).reshape(model.f_test.shape[-2:])
    f0 = model.f_train if not batched else model.f_train[0]
    cap = loss_cap * float(0.5 * jnp.mean((f0 - y_train) ** 2))
    out = _gd_program(steps, batched)(model, jnp.asarray(etas, jnp.float32), y_train, y_test, cap)
    loss, dead, dead_at, acc_train, loss_test, acc_test = (np.asarray(o) for o in out)
    return LinearRun(np.asarray(etas), loss, dead, dead_at, acc_train, loss_test, acc_test)


def kernel_change(apply_fn: ApplyFn, params_a: Any, params_b: Any, x: Any) -> float:
    """‖Θ(θ_b) − Θ(θ_a)‖_F / ‖Θ(θ_a)‖_F on the inputs ``x`` (Fig. S13c)."""
    x = jnp.asarray(x)
    kernel = _kernel_fn(apply_fn)
    ka, kb = kernel(x, None, params_a), kernel(x, None, params_b)
    return float(jnp.linalg.norm(kb - ka) / jnp.linalg.norm(ka))


def kernel_velocity(
    apply_fn: ApplyFn, params: Any, x: Any, y: Any, eta: float, start: int, window: int
) -> tuple[np.ndarray, np.ndarray]:
    """Relative kernel change between consecutive GD steps t → t+1 for t = start … start+window−1.

    Full-batch GD at learning rate ``eta`` from ``params`` (:func:`catapult.train.sweep`);
    returns (the step-to-step changes, the training loss at every step up to start+window).
    Divergent runs give NaN changes.
    """
    eta = positive_float("eta", eta)
    start, window = positive_int("start", start), positive_int("window", window)
    run = train.sweep(apply_fn, params, x, y, [eta], start, keep_params=True)
    losses = [run.loss[0]]
    changes = []
    current = jax.tree_util.tree_map(lambda a: a[0], run.params)
    for _ in range(window):
        if run.divergent[0]:
            changes.append(np.nan)
            continue
        run = train.sweep(apply_fn, current, x, y, [eta], 1, keep_params=True)
        nxt = jax.tree_util.tree_map(lambda a: a[0], run.params)
        changes.append(kernel_change(apply_fn, current, nxt, x))
        losses.append(run.loss[0][1:])
        current = nxt
    return np.asarray(changes), np.concatenate(losses)
