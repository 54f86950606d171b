"""Projected SGD on the unit sphere: pre-training, its continuation and fine-tuning (Sadrtdinov et al. 2024, Secs. 3-4).

The networks of :mod:`catapult.sphere.networks` are scale invariant, so plain SGD changes
the *effective* learning rate η/‖w‖² as the norm drifts. Projecting w back onto the unit
sphere after every step,

    w ← (w − η ĝ) / ‖w − η ĝ‖,

keeps ‖w‖ = 1 and the effective learning rate fixed at η. With the weights held as one flat
vector, the whole state of a run is a point on the sphere S^{D−1}.

- :func:`pretrain` runs a sweep over pre-training learning rates (PLRs) and seeds as one
  compiled program (the sweep of Sec. 3, Fig. 1); :func:`continue_pretraining` continues its
  end points to a later checkpoint;
- :func:`finetune` continues every end point at several small fine-tuning learning rates
  (FLRs) and seeds, again as one program (Sec. 4, Fig. 2).

Each iterates as :data:`LOOPS` says (one ``lax.scan``, or one jitted step from a Python
loop); both give the same numbers. Divergence (a non-finite loss or weight) is recorded,
never raised (see :func:`catapult.loop.scan_frozen`).
"""

from __future__ import annotations

import functools
import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from .._checks import one_of, positive_array, positive_int
from ..loop import LOOPS, scan_frozen
from .networks import SphereNet, _check_data, _dataset_loss_and_accuracy, loss_and_accuracy

__all__ = [
    "LOOPS",
    "Runs",
    "project",
    "initial_points",
    "pretrain",
    "continue_pretraining",
    "average_trajectory",
    "finetune",
]

# How :func:`pretrain`, :func:`continue_pretraining` and :func:`finetune` iterate
# (catapult.loop.LOOPS): ``"scan"`` (one compiled ``lax.scan`` for the whole sweep),
# ``"python"`` (one compiled, vmapped SGD step over every run, called from a Python loop) or
# ``"each"`` (the Python loop, one compiled single-run step called for each run; for ConvNets
# on CPU, where XLA runs convolutions inside ``scan`` bodies 10-20x slower, jax#12868, and
# vmapped over runs several times slower). Same numbers either way, up to float rounding.


def project(w: jax.Array) -> jax.Array:
    """Back onto the unit sphere: w / ‖w‖ (over the last axis). The same projection as optax's
    ``projections.projection_l2_sphere``, which multiplies by 1/‖w‖ instead of dividing: a
    different float32 rounding, and chapter 6's long runs at large PLRs amplify rounding into
    different end points (a rounding change moved its seed statistics by up to 1.4 standard
    errors, CHANGELOG 0.2.0), so the book keeps the division its results were measured with."""
    return w / jnp.linalg.norm(w, axis=-1, keepdims=True)


class Runs(NamedTuple):
    """Runs of projected SGD, one per (leading index...): ``loss`` and ``accuracy`` on the
    whole training set every ``log_every`` steps (shape (..., T+1), NaN after divergence),
    ``steps`` (T+1,), the final weights ``w`` (..., D; the last finite ones of a divergent
    run), ``diverged`` (...) and ``diverged_at`` (first non-finite step, or -1)."""

    loss: np.ndarray
    accuracy: np.ndarray
    steps: np.ndarray
    w: np.ndarray
    diverged: np.ndarray
    diverged_at: np.ndarray


def _batch_indices(key: jax.Array, t: jax.Array, n: int, batch: int) -> jax.Array:
    """Minibatch ``t``: ``batch`` indices drawn uniformly (with replacement) from a key
    that depends only on (key, t), so every learning rate sees the same sequence."""
    return jax.random.randint(jax.random.fold_in(key, t), (batch,), 0, n)


@functools.lru_cache(maxsize=32)
def _sgd(net: SphereNet, batch: int):
    """One run's projected-SGD step and observation for one network and batch size, built
    once (cached), so the Python loop reuses its compiled step across sweeps. The state of a
    run is (w, η, key): its point on the sphere, its learning rate and its minibatch key."""

    def step(state, t, x, y):
        w, eta, key = state
        idx = _batch_indices(key, t, x.shape[0], batch)
        g = jax.grad(lambda v: loss_and_accuracy(net.apply(v, x[idx]), y[idx])[0])(w)
        sgd = optax.sgd(eta)  # plain SGD (no state), then back onto the sphere
        updates, _ = sgd.update(g, sgd.init(w))
        return project(optax.apply_updates(w, updates)), eta, key

    def observe(state, x, y):
        return _dataset_loss_and_accuracy(net, state[0], x, y)

    return step, observe


def _run_one(net: SphereNet, x, y, w0, eta, key, steps: int, batch: int, log_every: int):
    """One run of projected SGD at (effective) learning rate ``eta`` from ``w0`` (a ``lax.scan``
    of :func:`catapult.loop.scan_frozen`, logged and frozen every ``log_every`` steps)."""
    step, observe = _sgd(net, batch)
    (loss, acc), dead, dead_at, final = scan_frozen(step, (w0, eta, key), observe, steps, args=(x, y), every=log_every)
    return loss, acc, final[0], dead, dead_at


def _checked_schedule(steps, batch_size, log_every, n) -> tuple[int, int, int]:
    steps = positive_int("steps", steps)
    batch_size = positive_int("batch_size", batch_size)
    log_every = positive_int("log_every", log_every)
    if batch_size > n:
        raise ValueError(f"batch_size ({batch_size}) exceeds the number of training samples ({n}).")
    if steps % log_every:
        raise ValueError(f"steps ({steps}) must be a multiple of log_every ({log_every}).")
    return steps, batch_size, log_every


def _pack(loss, acc, w, dead, dead_at, steps, log_every) -> Runs:
    return Runs(
        np.asarray(loss), np.asarray(acc), np.arange(steps // log_every + 1) * log_every,
        np.asarray(w), np.asarray(dead), np.where(np.asarray(dead_at) >= 0, np.asarray(dead_at) * log_every, -1),
    )


def _flat_python(net, x, y, w0, etas, keys, lead, steps, batch, log_every, loop="python"):
    """The runs of :func:`_run_one` for runs given with a common leading shape ``lead`` (``w0``
    lead + (D,), ``etas`` lead, ``keys`` lead + (2,)), stepped from a Python loop: one compiled
    step vmapped over every run, or called for each (:func:`catapult.loop.scan_frozen` with
    ``loop`` "python" or "each")."""
    R = math.prod(lead)
    step, observe = _sgd(net, batch)
    state = (w0.reshape(R, -1), etas.reshape(R), keys.reshape(R, -1))
    (loss, acc), dead, dead_at, final = scan_frozen(
        step, state, observe, steps, args=(x, y), every=log_every, loop=loop, runs=True
    )
    return tuple(a.reshape(lead + a.shape[1:]) for a in (loss, acc, final[0], dead, dead_at))


@functools.partial(jax.jit, static_argnames=("net", "lead", "steps", "batch", "log_every"))
def _flat_scan(net, x, y, w0, etas, keys, lead, steps, batch, log_every):
    """The same runs as one compiled program: :func:`_run_one` vmapped over every run."""
    R = math.prod(lead)
    run = lambda w, e, k: _run_one(net, x, y, w, e, k, steps, batch, log_every)  # noqa: E731
    out = jax.vmap(run)(w0.reshape(R, -1), etas.reshape(R), keys.reshape(R, -1))
    return tuple(a.reshape(lead + a.shape[1:]) for a in out)


def _runs(net, x, y, w0, etas, keys, steps, batch, log_every, loop) -> Runs:
    """Every run of a grid: ``w0`` (..., D), ``etas`` (...) and ``keys`` (..., 2) broadcast to
    one leading shape; ``loop`` as in :func:`pretrain`."""
    lead = tuple(np.broadcast_shapes(w0.shape[:-1], etas.shape, keys.shape[:-1]))
    w0 = jnp.broadcast_to(w0, lead + w0.shape[-1:])
    etas = jnp.broadcast_to(jnp.asarray(etas, jnp.float32), lead)
    keys = jnp.broadcast_to(keys, lead + keys.shape[-1:])
    if one_of("loop", loop, LOOPS) == "scan":
        out = _flat_scan(net, x, y, w0, etas, keys, lead, steps, batch, log_every)
    else:
        out = _flat_python(net, x, y, w0, etas, keys, lead, steps, batch, log_every, loop)
    return _pack(*out, steps, log_every)


def initial_points(net: SphereNet, seeds: int, key: jax.Array) -> jax.Array:
    """The starting points on the sphere that :func:`pretrain` uses for ``seeds`` seeds and ``key``: (seeds, D)."""
    seeds = positive_int("seeds", seeds)
    return jax.vmap(lambda s: net.init(jax.random.fold_in(jax.random.fold_in(key, s), 0)))(jnp.arange(seeds))


def pretrain(
    net: SphereNet,
    x,
    y,
    plrs,
    seeds: int,
    steps: int,
    *,
    batch_size: int,
    log_every: int,
    key: jax.Array,
    loop: str = "scan",
) -> Runs:
    """Pre-train from ``seeds`` random points on the sphere at every PLR: results have
    leading shape (len(plrs), seeds). Seed s fixes the starting point and the order of the
    minibatches, shared by every PLR, so the PLR is the only difference along the first
    axis. One jit-compiled program vmapped over PLRs and seeds (``loop="scan"``), or one
    jitted SGD step vmapped over them and called from a Python loop (``loop="python"``,
    for ConvNets on CPU; see :data:`LOOPS`)."""
    x, y = _check_data(net, x, y)
    plrs = positive_array("plrs", plrs).astype(np.float32)
    seeds = positive_int("seeds", seeds)
    steps, batch_size, log_every = _checked_schedule(steps, batch_size, log_every, x.shape[0])
    keys = jax.vmap(lambda s: jax.random.fold_in(key, s))(jnp.arange(seeds))
    w0 = initial_points(net, seeds, key)
    order = jax.vmap(lambda k: jax.random.fold_in(k, 1))(keys)  # (seeds, 2), shared by every PLR
    return _runs(net, x, y, w0, plrs[:, None], order, steps, batch_size, log_every, loop)


def continue_pretraining(
    net: SphereNet,
    x,
    y,
    w_end,
    plrs,
    steps: int,
    *,
    batch_size: int,
    log_every: int,
    key: jax.Array,
    loop: str = "scan",
) -> Runs:
    """Continue the end points ``w_end`` (P, S, D) of :func:`pretrain` for ``steps`` more steps,
    each at its own PLR (``plrs``, (P,)), with minibatch orders drawn from ``key`` (use a key
    other than pre-training's for a fresh order). Gives a second, later checkpoint of every
    run; results have leading shape (P, S). Divergent (non-finite) end points are refused.
    ``loop`` as in :func:`pretrain`."""
    x, y = _check_data(net, x, y)
    plrs = positive_array("plrs", plrs).astype(np.float32)
    w_end = jnp.asarray(w_end, jnp.float32)
    if w_end.ndim != 3 or w_end.shape[0] != plrs.size or w_end.shape[-1] != net.dim:
        raise ValueError(f"w_end must have shape (len(plrs), seeds, {net.dim}) = ({plrs.size}, S, {net.dim}), got {w_end.shape}.")
    if not bool(jnp.all(jnp.isfinite(w_end))):
        raise ValueError("w_end contains non-finite weights; continue only finite end points.")
    steps, batch_size, log_every = _checked_schedule(steps, batch_size, log_every, x.shape[0])
    keys = jax.vmap(lambda s: jax.random.fold_in(key, s))(jnp.arange(w_end.shape[1]))  # (S, 2)
    return _runs(net, x, y, project(w_end), plrs[:, None], keys, steps, batch_size, log_every, loop)


def average_trajectory(
    net: SphereNet,
    x,
    y,
    w_end,
    plrs,
    checkpoints: int,
    every: int,
    *,
    batch_size: int,
    key: jax.Array,
    loop: str = "scan",
) -> tuple[np.ndarray, Runs]:
    """Stochastic weight averaging (SWA) of the pre-training trajectory, as in the paper's code
    (isadrtdinov/understanding-large-lrs: a uniform average of checkpoints taken at the constant PLR):
    continue every end point ``w_end`` (P, S, D) at its own PLR for ``checkpoints`` stretches of
    ``every`` steps (:func:`continue_pretraining`, stretch c with minibatch key ``fold_in(key, c)``),
    and average ``w_end`` and the ``checkpoints`` later points. Returns the average, projected back
    onto the sphere (the network is scale-invariant), and the runs of the last stretch (their ``w``:
    the last checkpoint)."""
    checkpoints = positive_int("checkpoints", checkpoints)
    total = jnp.asarray(w_end, jnp.float32)
    w, runs = total, None
    for c in range(checkpoints):
        runs = continue_pretraining(net, x, y, w, plrs, every, batch_size=batch_size, log_every=every,
                                    key=jax.random.fold_in(key, c), loop=loop)
        w = jnp.asarray(runs.w)
        total = total + w
    return np.asarray(project(total)), runs


def finetune(
    net: SphereNet,
    x,
    y,
    w_start,
    flrs,
    seeds: int,
    steps: int,
    *,
    batch_size: int,
    log_every: int,
    key: jax.Array,
    loop: str = "scan",
) -> Runs:
    """Continue every start point (``w_start`` of shape (..., D), e.g. the PLR × seed end
    points of :func:`pretrain`) at every FLR with ``seeds`` minibatch orders: results have
    leading shape (..., len(flrs), seeds). Fine-tuning seed r uses the same minibatch order
    for every start point and FLR. One jit-compiled program (``loop`` as in :func:`pretrain`)."""
    x, y = _check_data(net, x, y)
    w_start = jnp.asarray(w_start, jnp.float32)
    if w_start.ndim < 1 or w_start.shape[-1] != net.dim:
        raise ValueError(f"w_start must have shape (..., {net.dim}), got {w_start.shape}.")
    if not bool(jnp.all(jnp.isfinite(w_start))):
        raise ValueError("w_start contains non-finite weights; fine-tune only finite end points.")
    w_start = project(w_start)
    flrs = positive_array("flrs", flrs).astype(np.float32)
    seeds = positive_int("seeds", seeds)
    steps, batch_size, log_every = _checked_schedule(steps, batch_size, log_every, x.shape[0])
    keys = jax.vmap(lambda s: jax.random.fold_in(key, s))(jnp.arange(seeds))
    # start points × FLRs × fine-tuning seeds; seed r's minibatch order is shared by all
    if one_of("loop", loop, LOOPS) != "scan":
        return _runs(net, x, y, w_start[..., None, None, :], flrs[:, None], keys, steps, batch_size, log_every, loop)
    w1 = w_start if w_start.ndim > 1 else w_start[None]
    out = _finetune_scan(net, x, y, w1, jnp.asarray(flrs), keys, steps, batch_size, log_every)
    if w_start.ndim == 1:
        out = jax.tree_util.tree_map(lambda a: a[0], out)
    return _pack(*out, steps, log_every)


@functools.partial(jax.jit, static_argnames=("net", "steps", "batch", "log_every"))
def _finetune_scan(net, x, y, w_start, flrs, keys, steps, batch, log_every):
    """Fine-tuning as one compiled program, each start point shared (not copied) by its FLRs and
    seeds: the vmaps nest as the grid does. (The flat grid of :func:`_runs` gives the same runs
    up to float32 rounding, which fine-tuning's barriers amplify: chapter 6's seed barrier moved
    from 3.02 to 2.35 standard errors at ci, so the results keep this program.)"""
    run = lambda w, e, k: _run_one(net, x, y, w, e, k, steps, batch, log_every)  # noqa: E731
    over_ft_seeds = jax.vmap(run, in_axes=(None, None, 0))
    over_flrs = jax.vmap(over_ft_seeds, in_axes=(None, 0, None))
    out = jax.vmap(over_flrs, in_axes=(0, None, None))(w_start.reshape(-1, w_start.shape[-1]), flrs, keys)
    return jax.tree_util.tree_map(lambda a: a.reshape(w_start.shape[:-1] + a.shape[1:]), out)
