"""Linearized networks, and how far the kernel moves once the catapult is over (Sec. 4.1,
Figures 6 and S13).

The linearization of a network at parameters θ̄ is f_lin(θ, x) = f(θ̄, x) + J(θ̄, x)(θ − θ̄)
(``neural_tangents.linearize``; :func:`tangent_model`). Gradient descent on the MSE
L = Σ (f − y)²/(2mk) moves its outputs exactly by the fixed kernel of θ̄:

    f_train' = f_train − η Θ (f_train − y),      f_test' = f_test − η Θ_test (f_train − y),

with Θ = J_train J_trainᵀ/(mk) (the paper's normalization, :mod:`catapult.ntk`) and
Θ_test = J_test J_trainᵀ/(mk). :func:`gd` computes Θ once (neural-tangents'
structured-derivatives NTK) and runs the exact dynamics of the linearized model in function
space, vmapped over learning rates, at the cost of one (mk × mk) matrix-vector product per step
instead of a pass through the network; the test outputs need only Σ_t e_t, so Θ_test is
applied once, matrix-free, at the end. The tests and
chapter 3 check it against parameter-space GD on ``tangent_model``.

A linearized model is stable iff η < 2/λ_max(Θ): the one taken at initialization cannot
follow a network trained above η_crit = 2/λ0, while one taken after the catapult, when λ has
dropped below 2/η, can, if the kernel has stopped moving (:func:`kernel_change`).

Comparing functions rather than accuracies: :func:`function_gap` (‖f − f_ref‖/‖f_ref‖ on test
inputs, from :func:`stacked_outputs` of the trained network and ``LinearRun.test_outputs``), and
:func:`unexplained`, the share of the network's own move since it was linearized that the
linearization misses (the baseline that makes "linear" quantitative).
How far the kernel still moves after the catapult: :func:`kernel_drift` and
:func:`drift_versus_width` (‖Θ_T − Θ_start‖/‖Θ_start‖, all seeds and rates of a width in one
vmapped program; Fig. S13c). Why ReLU networks collapse beyond ≈ 12/λ0: :func:`dead_fraction`
(App. C.1). App. A's normalization checked on a linear model: :func:`linearized_gd_losses`
(GD in parameter space on the linearization; it converges iff η < 2/λ_max(Θ)).
"""

from __future__ import annotations

import functools
from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from . import models, ntk, tangents, train
from ._checks import positive_array, positive_float, positive_int
from .loop import scan_frozen

__all__ = [
    "ApplyFn",
    "LinearRun",
    "tangent_model",
    "train_kernel",
    "gd",
    "kernel_change",
    "kernel_velocity",
    "stacked_outputs",
    "function_gap",
    "unexplained",
    "dead_fraction",
    "Drift",
    "kernel_drift",
    "drift_versus_width",
    "linearized_gd_losses",
]


ApplyFn = Callable[[Any, jax.Array], jax.Array]


class LinearRun(NamedTuple):
    """Gradient descent on linearized networks at each learning rate (numpy arrays, leading axis = η)."""

    etas: np.ndarray  # (n,)
    lam: np.ndarray  # (n,) λ_max(Θ) of the kernel each run used: stable iff η·λ < 2
    loss: np.ndarray  # (n, T+1) training loss at every step, NaN once divergent
    divergent: np.ndarray  # (n,) bool: non-finite, or above loss_cap times the initial loss
    diverged_at: np.ndarray  # (n,) first divergent step, -1 if none
    train_accuracy: np.ndarray  # (n,) at the end (of the last state below the cap)
    test_loss: np.ndarray  # (n,)
    test_accuracy: np.ndarray  # (n,)
    test_outputs: np.ndarray  # (n, N_test, k) at the end (of the last state below the cap)


def tangent_model(apply_fn: ApplyFn, params: Any) -> ApplyFn:
    """``neural_tangents.linearize(apply_fn, params)``: f(θ̄) + J(θ̄)(θ − θ̄) in parameter space."""
    return tangents.neural_tangents().linearize(apply_fn, params)


@functools.lru_cache(maxsize=16)
def _kernel_fn(apply_fn: ApplyFn) -> Callable:
    structured = tangents.neural_tangents().NtkImplementation.STRUCTURED_DERIVATIVES
    return jax.jit(tangents.empirical_ntk_fn(apply_fn, structured, trace_axes=(), vmap_axes=0))


def _outputs(apply_fn: ApplyFn, params: Any, x: jax.Array) -> jax.Array:
    f = apply_fn(params, x)
    return f[:, None] if f.ndim == 1 else f.reshape(f.shape[0], -1)


def train_kernel(apply_fn: ApplyFn, params: Any, x: Any) -> jax.Array:
    """The dense (mk × mk) Θ = J Jᵀ/(mk) on ``x``, sample-major (structured derivatives)."""
    x = jnp.asarray(x)
    theta = _kernel_fn(apply_fn)(x, None, params)
    m = x.shape[0]
    if theta.ndim == 2:  # one output: neural-tangents drops the trivial axes
        return theta / m
    k = theta.shape[-1]
    return jnp.transpose(theta, (0, 2, 1, 3)).reshape(m * k, m * k) / (m * k)


def _cross_vp(apply_fn: ApplyFn, params: Any, x_train: jax.Array, x_test: jax.Array, v: jax.Array) -> jax.Array:
    """Θ_test v = J_test J_trainᵀ v/(mk), matrix-free (one VJP on x_train, one JVP on x_test)."""
    f_train, vjp = jax.vjp(lambda p: apply_fn(p, x_train), params)
    (g,) = vjp(v.reshape(f_train.shape))
    _, out = jax.jvp(lambda p: apply_fn(p, x_test), (params,), (g,))
    return out / f_train.size


@functools.lru_cache(maxsize=16)
def _dynamics(steps: int):
    """Function-space GD of one linearized model: vmapped over η, the kernel shared."""

    def one(k_train, err0, eta, cap):
        def step(state, t):
            err, acc = state  # err = f_train − y (flat); acc = Σ_s err_s, for the test outputs
            return err - eta * (k_train @ err), acc + err

        def observe(state):
            loss = 0.5 * jnp.mean(state[0] ** 2)
            return (jnp.where(loss > cap, jnp.inf, loss),)

        (loss,), dead, dead_at, (err, acc) = scan_frozen(step, (err0, jnp.zeros_like(err0)), observe, steps)
        return loss, dead, dead_at, err, acc

    return jax.jit(jax.vmap(one, in_axes=(None, None, 0, None)))


@functools.lru_cache(maxsize=16)
def _test_outputs(apply_fn: ApplyFn):
    def one(params, x_train, x_test, eta, acc):
        return apply_fn(params, x_test) - eta * _cross_vp(apply_fn, params, x_train, x_test, acc)

    return jax.jit(jax.vmap(one, in_axes=(None, None, None, 0, 0)))


def gd(
    apply_fn: ApplyFn,
    params: Any,
    x_train: Any,
    y_train: Any,
    x_test: Any,
    y_test: Any,
    etas: Any,
    steps: int,
    *,
    per_eta: bool = False,
    where: Any = None,
    loss_cap: float = 1e8,
) -> LinearRun:
    """Full-batch GD on the network ``apply_fn`` linearized at ``params``, at every η, exactly.

    The kernel Θ of ``params`` on ``x_train`` is computed once (:func:`train_kernel`); the
    training errors then follow e' = e − ηΘe in one program vmapped over ``etas``, and the
    test outputs f_test − η Θ_test Σ_t e_t are formed matrix-free at the end. With
    ``per_eta=True``, ``params`` carries one parameter set per learning rate along a leading
    axis (e.g. the network after 10 steps at each η), linearized one at a time. A run whose
    loss becomes non-finite or exceeds ``loss_cap`` times its initial loss is divergent: it is
    frozen at its last state below the cap, and its later loss records are NaN. ``where``
    (with ``per_eta``, a bool per η): linearize and train only those; the others get NaN
    records (``lam``, losses, accuracies, outputs), ``divergent`` False and ``diverged_at`` −1.
    """
    etas = positive_array("etas", etas)
    if etas.ndim != 1:
        raise ValueError(f"etas must be a 1-D array of learning rates, got shape {etas.shape}.")
    steps = positive_int("steps", steps)
    loss_cap = positive_float("loss_cap", loss_cap)
    x_train, x_test = jnp.asarray(x_train), jnp.asarray(x_test)
    if x_train.ndim < 2 or x_test.ndim < 2 or x_train.shape[1:] != x_test.shape[1:]:
        raise ValueError(f"x_train {x_train.shape} and x_test {x_test.shape} must be (N, ...) with equal sample shapes.")
    if per_eta:
        n = jax.tree_util.tree_leaves(params)[0].shape[0]
        if n != etas.size:
            raise ValueError(f"{n} parameter sets for {etas.size} learning rates; with per_eta=True pass one per η.")
        where = np.ones(n, bool) if where is None else np.asarray(where, bool)
        if where.shape != (n,):
            raise ValueError(f"where has shape {where.shape}; pass one bool per learning rate ({n}).")
        runs = [
            gd(apply_fn, jax.tree_util.tree_map(lambda a: a[i], params), x_train, y_train, x_test, y_test,
               etas[i:i + 1], steps, loss_cap=loss_cap)
            for i in np.flatnonzero(where)
        ]
        if not runs:
            raise ValueError("where selects no learning rate.")
        done = LinearRun(*(np.concatenate(parts) for parts in zip(*runs)))
        out = []
        for name, part in zip(LinearRun._fields, done):
            fill = {"divergent": False, "diverged_at": -1}.get(name, np.nan)
            full = np.full((n,) + part.shape[1:], fill, part.dtype if name in ("divergent", "diverged_at") else float)
            full[where] = part
            out.append(full)
        out[0] = np.asarray(etas)
        return LinearRun(*out)
    if where is not None:
        raise ValueError("where needs per_eta=True (one linearization per learning rate).")

    f_train = _outputs(apply_fn, params, x_train)
    y_train = jnp.asarray(y_train, jnp.float32).reshape(f_train.shape)
    y_test = jnp.asarray(y_test, jnp.float32).reshape(x_test.shape[0], f_train.shape[1])
    k_train = train_kernel(apply_fn, params, x_train)
    err0 = (f_train - y_train).reshape(-1)
    cap = loss_cap * float(0.5 * jnp.mean(err0**2))
    eta32 = jnp.asarray(etas, jnp.float32)
    loss, dead, dead_at, err, acc = _dynamics(steps)(k_train, err0, eta32, cap)
    f_test = _test_outputs(apply_fn)(params, x_train, x_test, eta32, acc.reshape((-1,) + f_train.shape))
    f_test = f_test.reshape(etas.size, x_test.shape[0], -1)
    f_end = err.reshape((-1,) + f_train.shape) + y_train
    lam = ntk.top_eigenvalue(apply_fn, params, x_train)  # Lanczos, matrix-free: λ_max of this Θ
    return LinearRun(
        np.asarray(etas),
        np.full(etas.size, lam),
        np.asarray(loss),
        np.asarray(dead),
        np.asarray(dead_at),
        np.asarray(jax.vmap(train.accuracy, in_axes=(0, None))(f_end, y_train)),
        np.asarray(jax.vmap(train.mse, in_axes=(0, None))(f_test, y_test)),
        np.asarray(jax.vmap(train.accuracy, in_axes=(0, None))(f_test, y_test)),
        np.asarray(f_test),
    )


def kernel_change(apply_fn: ApplyFn, params_a: Any, params_b: Any, x: Any) -> float:
    """‖Θ(θ_b) − Θ(θ_a)‖_F / ‖Θ(θ_a)‖_F on the inputs ``x`` (Fig. S13c)."""
    ka, kb = train_kernel(apply_fn, params_a, x), train_kernel(apply_fn, params_b, x)
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


# ------------------------------------------------- comparing functions, dead units, drift


def stacked_outputs(apply_fn: ApplyFn, params: Any, x: Any) -> np.ndarray:
    """(n, N, k) outputs on ``x`` of the n parameter sets stacked along the leading axis of
    ``params`` (e.g. ``train.sweep(..., keep_params=True).params``), vmapped."""
    x = jnp.asarray(x)
    out = jax.jit(jax.vmap(lambda p: _outputs(apply_fn, p, x)))(params)
    return np.asarray(out)


def function_gap(f_ref: Any, f: Any) -> np.ndarray:
    """‖f − f_ref‖_F / ‖f_ref‖_F over all samples and outputs, per run (leading axis): how far
    a model's function ``f`` is from the reference ``f_ref`` (Sec. 4.1, compared in function
    space rather than by accuracy). Infinite where either is not finite (a diverged run)."""
    f_ref, f = np.asarray(f_ref, float), np.asarray(f, float)
    if f_ref.shape != f.shape or f.ndim < 2:
        raise ValueError(f"f_ref {f_ref.shape} and f {f.shape} must have the same shape (runs, samples, ...).")
    axes = tuple(range(1, f.ndim))
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        gap = np.sqrt(np.sum((f - f_ref) ** 2, axis=axes) / np.sum(f_ref**2, axis=axes))
    ok = np.all(np.isfinite(f), axis=axes) & np.all(np.isfinite(f_ref), axis=axes)
    return np.where(ok & np.isfinite(gap), gap, np.inf)


def unexplained(f_net: Any, f_start: Any, f_lin: Any) -> np.ndarray:
    """‖f_net − f_lin‖_F / ‖f_net − f_start‖_F per run (leading axis): the share of the network's
    own move from ``f_start`` (its outputs when it was linearized) to ``f_net`` (after training)
    that the linearization ``f_lin``, started at ``f_start``, does not reproduce (Sec. 4.1). 0 for
    a network that is its linearization; 1 for a linearization that does not move at all; infinite
    where any output is not finite (a diverged run)."""
    f_net, f_start, f_lin = (np.asarray(a, float) for a in (f_net, f_start, f_lin))
    if not f_net.shape == f_start.shape == f_lin.shape or f_net.ndim < 2:
        raise ValueError(f"f_net {f_net.shape}, f_start {f_start.shape} and f_lin {f_lin.shape} must have the same "
                         "shape (runs, samples, ...).")
    axes = tuple(range(1, f_net.ndim))
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        u = np.sqrt(np.sum((f_net - f_lin) ** 2, axis=axes) / np.sum((f_net - f_start) ** 2, axis=axes))
    ok = np.all(np.isfinite(f_net) & np.isfinite(f_start) & np.isfinite(f_lin), axis=axes)
    return np.where(ok & np.isfinite(u), u, np.inf)


def dead_fraction(params: Any, x: Any) -> np.ndarray:
    """Fraction of the first hidden layer's ReLU units that are dead, i.e. whose
    pre-activation is ≤ 0 on every input of ``x`` (they never pass a gradient again), per
    parameter set stacked along the leading axis of ``params`` (App. C.1, Fig. S7: beyond
    ≈ 12/λ0 units die and the output collapses). ``params``: ``models.fully_connected``
    without biases (the sign of x·W does not depend on the NTK scaling)."""
    first = params[0]
    if not isinstance(first, (tuple, list)) or len(first) != 2 or first[1] is not None:
        raise ValueError("dead_fraction needs the parameters of models.fully_connected without biases.")
    w = jnp.asarray(first[0])
    if w.ndim != 3:
        raise ValueError(f"pass parameter sets stacked along a leading axis; first weight has shape {w.shape}.")
    x = jnp.asarray(x).reshape(np.shape(x)[0], -1)
    pre = jnp.einsum("nd,rdh->rnh", x, w)
    return np.asarray(jnp.mean(jnp.all(pre <= 0, axis=1), axis=-1))


class Drift(NamedTuple):
    """Cumulative kernel drift after step ``start`` of full-batch GD, per run (Fig. S13c)."""

    drift: np.ndarray  # (r,) ‖Θ_T − Θ_start‖_F / ‖Θ_start‖_F, NaN if the run diverged
    drift_early: np.ndarray  # (r,) ‖Θ_start − Θ_0‖_F / ‖Θ_0‖_F: the move up to ``start`` (the catapult)
    lam0: np.ndarray  # (r,) λ_max(Θ_0)
    lam_start: np.ndarray  # (r,) λ_max(Θ_start): the catapult is over when η·λ_start < 2
    loss: np.ndarray  # (r, T+1) training loss at every step


@functools.lru_cache(maxsize=16)
def _drift_program(apply_fn: ApplyFn, start: int, steps: int):
    """GD of every run (vmapped over parameter sets and η), keeping θ_start and θ_T."""

    def one(params, eta, x, y):
        loss_fn = lambda p: train.mse(apply_fn(p, x), y)  # noqa: E731

        def step(p, _):
            loss, g = jax.value_and_grad(loss_fn)(p)
            return jax.tree_util.tree_map(lambda a, b: a - eta * b, p, g), loss

        p_start, first = jax.lax.scan(step, params, None, length=start)
        p_end, second = jax.lax.scan(step, p_start, None, length=steps - start)
        return p_start, p_end, jnp.concatenate([first, second, loss_fn(p_end)[None]])

    return jax.jit(jax.vmap(one, in_axes=(0, 0, None, None)))


def _top(k: jax.Array) -> float:
    return float(jnp.linalg.eigvalsh(k)[-1])


def kernel_drift(apply_fn: ApplyFn, params: Any, x: Any, y: Any, cs: Any, start: int, steps: int) -> Drift:
    """‖Θ_T − Θ_start‖_F/‖Θ_start‖_F of r runs of full-batch GD for T = ``steps`` steps.

    ``params``: r parameter sets stacked along a leading axis (e.g. r seeds, repeated per
    phase); ``cs``: (r,) η·λ0 of each run, λ0 = λ_max(Θ_0) of its own initialization (from the
    dense kernel, exactly). All runs train in one compiled program (vmapped); the dense
    kernels Θ_0, Θ_start, Θ_T are formed one run at a time (:func:`train_kernel`).
    """
    cs = positive_array("cs", cs)
    start, steps = positive_int("start", start), positive_int("steps", steps)
    if start >= steps:
        raise ValueError(f"start ({start}) must come before the last step ({steps}).")
    r = jax.tree_util.tree_leaves(params)[0].shape[0]
    if cs.shape != (r,):
        raise ValueError(f"cs has shape {cs.shape}; pass one η·λ0 per run ({r}).")
    x = jnp.asarray(x)
    y = jnp.asarray(y, jnp.float32)
    pick = lambda tree, i: jax.tree_util.tree_map(lambda a: a[i], tree)  # noqa: E731
    k0 = [train_kernel(apply_fn, pick(params, i), x) for i in range(r)]
    lam0 = np.array([_top(k) for k in k0])
    etas = jnp.asarray(cs / lam0, jnp.float32)
    p_start, p_end, loss = _drift_program(apply_fn, start, steps)(params, etas, x, y)
    drift, early, lam_start = np.full(r, np.nan), np.full(r, np.nan), np.full(r, np.nan)
    for i in range(r):
        ks, kt = train_kernel(apply_fn, pick(p_start, i), x), train_kernel(apply_fn, pick(p_end, i), x)
        if bool(jnp.all(jnp.isfinite(ks))) and bool(jnp.all(jnp.isfinite(kt))):
            drift[i] = float(jnp.linalg.norm(kt - ks) / jnp.linalg.norm(ks))
            early[i] = float(jnp.linalg.norm(ks - k0[i]) / jnp.linalg.norm(k0[i]))
            lam_start[i] = _top(ks)
    loss = np.asarray(loss)
    return Drift(drift, early, lam0, lam_start, np.where(np.isfinite(loss), loss, np.nan))


def drift_versus_width(
    key: jax.Array, widths: Any, x: Any, y: Any, cs: Any, seeds: int, start: int, steps: int
) -> Drift:
    """:func:`kernel_drift` of one-hidden-layer ReLU networks (``models.fully_connected``,
    NTK parameterization) at every width, every η·λ0 of ``cs`` and ``seeds`` initializations
    (init key ``fold_in(fold_in(key, width), seed)``, shared by the η·λ0 of a width): one
    compiled program per width over all (η·λ0, seed) runs. Returns a :class:`Drift` whose
    arrays are shaped (widths, len(cs), seeds[, T+1])."""
    widths = [positive_int("width", w) for w in np.atleast_1d(widths)]
    cs, seeds = positive_array("cs", cs), positive_int("seeds", seeds)
    x = jnp.asarray(x)
    k = int(np.prod(np.shape(y)[1:], dtype=int)) or 1
    parts = []
    for width in widths:
        init_fn, apply_fn, _ = models.fully_connected(width, 1, k)
        inits = [init_fn(jax.random.fold_in(jax.random.fold_in(key, width), s), x.shape)[1] for s in range(seeds)]
        stacked = jax.tree_util.tree_map(lambda *a: jnp.stack(a * cs.size), *inits)  # run = (c, seed)
        run = kernel_drift(apply_fn, stacked, x, y, np.repeat(cs, seeds), start, steps)
        parts.append([a.reshape((cs.size, seeds) + a.shape[1:]) for a in run])
    return Drift(*(np.stack(a) for a in zip(*parts)))


# ------------------------------------------------------------------ the NTK normalization on a linear model (App. A)


def linearized_gd_losses(apply_fn, params, x: jax.Array, y: jax.Array, etas, steps: int) -> np.ndarray:
    """GD on the linearization f0 + J(θ − θ0) of ``apply_fn`` at ``params``, one run per η: (E, steps+1).

    The loss is L = ‖f − y‖²/(2mk) (m samples, k outputs, App. A), whose gradient is
    Jᵀ(f − y)/(mk); with Θ = JJᵀ/(mk) the error obeys f̃′ = (I − ηΘ) f̃, so the run
    converges iff η < 2/λ_max(Θ) = η_crit. Non-finite losses are left as they are.
    """
    steps = positive_int("steps", steps)
    etas = positive_array("learning rate eta", etas)
    f0, jvp = jax.linearize(lambda p: apply_fn(p, x), params)
    vjp = jax.linear_transpose(jvp, params)
    scale = 1.0 / f0.size  # 1/(mk)

    def one(eta):
        def body(delta, _):
            err = f0 + jvp(delta) - y
            (g,) = vjp(err * scale)
            return jax.tree_util.tree_map(lambda d, gg: d - eta * gg, delta, g), 0.5 * scale * jnp.sum(err**2)

        zero = jax.tree_util.tree_map(jnp.zeros_like, params)
        last, losses = jax.lax.scan(body, zero, None, length=steps)
        final = 0.5 * scale * jnp.sum((f0 + jvp(last) - y) ** 2)
        return jnp.concatenate([losses, final[None]])

    return np.asarray(jax.jit(jax.vmap(one))(jnp.asarray(etas, f0.dtype)))
