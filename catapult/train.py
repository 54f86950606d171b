"""Learning-rate sweeps of plain SGD on any network, as one compiled program (Sec. 3, App. A).

``sweep(apply_fn, params, x, y, etas, steps)`` trains one shared initialization ``params``
at every learning rate of ``etas``: a ``lax.scan`` over steps, ``vmap``-ped over the
learning-rate axis, under one ``jit``. With several devices the learning-rate axis is
split across them (``jax.sharding``), so the same call runs on one CPU or eight GPUs.

- Optimizer: SGD (``optax.sgd``), without momentum unless ``momentum`` = μ > 0 (heavy ball,
  v ← μv + g, θ ← θ − ηv: a linear model is then stable for η < 2(1 + μ)/λ0, App. C.2), and
  optional weight decay added to the gradient (``optax.add_decayed_weights``: L2
  regularisation (wd/2)‖θ‖²).
- Loss: MSE in the paper's normalization, L = (1/(2·m·k)) Σ_α Σ_i (f_i(x_α) − y_αi)² over
  a batch of m samples and k outputs, consistent with :mod:`catapult.ntk`'s Θ = JJᵀ/(m·k),
  so η_crit = 2/λ0.
- Batches: ``batch_size=None`` is full-batch gradient descent. Otherwise each epoch is a
  permutation of the training set drawn from ``seed`` (``batch_indices``), cut into
  ``n // batch_size`` batches (the remainder is dropped); the order is shared by every
  learning rate, so runs differ only in η.
- Recorded loss: ``loss[:, r]`` is the loss of θ_t on the batch used at step t (t =
  ``loss_steps[r]``), computed for free with the gradient; for full-batch GD it is the
  training loss. At t = T it is θ_T on the next batch in order. The full training and
  test sets are evaluated once, at the end.
- Divergence is a result: the first non-finite (or above ``loss_cap``) loss or parameter
  freezes a run at its last finite state; its later records are NaN and it is marked
  ``divergent`` with ``diverged_at`` = the first step whose loss is not finite. Nothing raises.
- Curvature (App. A: top NTK eigenvalue, matrix-free, on a fixed batch of a few hundred
  samples), by ``Curvature(x, every=..., times=...)``, two schedules:

  * ``every``: λ_t at the common steps t = 0, every, 2·every, … (≤ T), plus every step
    t ≤ ``early`` (to resolve the first steps of a catapult), for every learning
    rate, evaluated inside the scan under a ``lax.cond`` whose predicate depends on t
    only (so ``vmap`` keeps it a branch, not a select). Run ``lam``; physical time of
    entry (i, r) is ``lam_steps[r] · etas[i]``. Use it for λ_t versus t·η curves.
  * ``times``: λ at the exact physical times τ_j, i.e. at step round(τ_j/η_i) of each
    learning rate, which differ between learning rates. The parameters at those steps
    are kept (a copy per τ_j and η, so keep ``times`` short), and λ is computed after the
    scan. Run ``lam_at``; NaN where the step exceeds T or the run diverged by then.
    Use it for "λ at t·η = 250 versus η" (Fig. 3c,f).

  Both use :func:`catapult.ntk.lanczos_top_eigenvalue` (``iters`` Lanczos steps).
- Loop: ``loop="scan"`` (default) is the whole sweep as one ``lax.scan`` under ``jit``.
  ``loop="python"`` runs the same vmapped step function, jitted once, from a Python loop
  (T calls of one compiled step; same schedules, same divergence handling, same numbers).
  ``loop="each"`` calls one compiled single-run step for each learning rate instead
  (:func:`catapult.loop.iterate`), with λ from :func:`catapult.ntk.lanczos_top_eigenvalue_stepped`. Use it for convolutional networks on CPU
  (:func:`conv_loop`): XLA:CPU runs convolutions inside ``scan`` / ``while`` bodies 10-20x
  slower than outside them (jax#12868; WRN-10-1, batch 16: 0.05 s a step alone, 1.2 s
  inside a scan), ``unroll=True`` pays seconds of compile per step, and vmapped over rates
  they become grouped convolutions, several times slower than one rate at a time.
- λ at t = 0 is the same for every learning rate (one shared initialization): it is
  computed once per sweep, not once per rate.
"""

from __future__ import annotations

import functools
import math
from typing import Any, Callable, NamedTuple, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from . import loop as loop_
from . import ntk
from ._checks import one_of, positive_array, positive_int

__all__ = [
    "ApplyFn",
    "LOOPS",
    "loss_rise",
    "conv_loop",
    "Curvature",
    "Run",
    "mse",
    "accuracy",
    "batch_indices",
    "sweep",
    "max_trainable",
    "lambda_drift",
    "steps_to_loss",
    "spike_steps",
    "early_rise",
    "param_norm_ratio",
]


ApplyFn = Callable[[Any, jax.Array], jax.Array]

LOOPS = loop_.LOOPS
conv_loop = loop_.conv_loop  # the loop for networks with convolutions (see catapult.loop)


class Curvature(NamedTuple):
    """Where and how to measure λ_max(Θ) during a sweep (see the module docstring).

    x: the fixed batch of inputs (a few hundred samples, App. A); every: λ every that many
    steps (None: never); times: physical times t·η at which λ is measured exactly per η;
    iters: Lanczos steps per measurement; early: with ``every``, also λ at every step t ≤ early.
    """

    x: Any
    every: int | None = None
    times: Sequence[float] = ()
    iters: int = 20
    early: int = 0


class Run(NamedTuple):
    """The result of ``sweep``; arrays over learning rates have a leading axis of len(etas)."""

    etas: np.ndarray  # (n,)
    loss_steps: np.ndarray  # (R,) steps t of the loss records
    loss: np.ndarray  # (n, R) loss of θ_t on the batch of step t (NaN once divergent)
    divergent: np.ndarray  # (n,) bool
    diverged_at: np.ndarray  # (n,) first step with a non-finite loss, -1 if none
    lam_steps: np.ndarray  # (E,) steps of the common curvature schedule
    lam: np.ndarray  # (n, E) λ_max(Θ) at those steps
    lam_times: np.ndarray  # (J,) physical times of the exact schedule
    lam_at: np.ndarray  # (n, J) λ_max(Θ) at step round(τ_j/η_i)
    train_loss: np.ndarray  # (n,) on the whole training set at the end (NaN if divergent)
    train_accuracy: np.ndarray  # (n,)
    test_loss: np.ndarray  # (n,) NaN without a test set
    test_accuracy: np.ndarray  # (n,)
    params: Any  # final parameters stacked over etas (numpy leaves), None if not kept
    batch_size: int | None
    seed: int

    @property
    def steps(self) -> int:
        return int(self.loss_steps[-1])

    def physical_time(self) -> np.ndarray:
        """(n, R) physical time t·η of every loss record."""
        return self.etas[:, None] * self.loss_steps[None, :]


# ------------------------------------------------------------------ pieces


def mse(f: jax.Array, y: jax.Array) -> jax.Array:
    """L = (1/(2·m·k)) Σ (f − y)²: the paper's MSE (App. A), η_crit = 2/λ0."""
    return 0.5 * jnp.mean((f - jnp.reshape(y, f.shape)) ** 2)


def accuracy(f: jax.Array, y: jax.Array) -> jax.Array:
    """Fraction of samples whose arg-max output is the arg-max label (sign for one output)."""
    if f.ndim == 1 or f.shape[-1] == 1:
        return jnp.mean(jnp.sign(jnp.ravel(f)) == jnp.sign(jnp.ravel(y)))
    return jnp.mean(jnp.argmax(f, -1) == jnp.argmax(y, -1))


def batch_indices(n: int, batch_size: int | None, steps: int, seed: int = 0) -> np.ndarray:
    """Sample indices of the batch of each step t = 0..steps, shape (steps + 1, batch_size).

    Epoch e is ``np.random.default_rng([seed, e]).permutation(n)`` cut into n // batch_size
    batches (remainder dropped). ``batch_size=None`` (full batch): every row is 0..n−1.
    """
    n, steps = positive_int("n", n), int(steps)
    if batch_size is None:
        return np.broadcast_to(np.arange(n, dtype=np.int32), (steps + 1, n))
    batch_size = positive_int("batch_size", batch_size)
    if batch_size > n:
        raise ValueError(f"batch_size = {batch_size} exceeds the {n} training samples; pass at most {n} or None.")
    per_epoch = n // batch_size
    epochs = math.ceil((steps + 1) / per_epoch)
    rows = [
        np.random.default_rng([seed, e]).permutation(n)[: per_epoch * batch_size].reshape(per_epoch, batch_size)
        for e in range(epochs)
    ]
    return np.concatenate(rows)[: steps + 1].astype(np.int32)


def _evaluate(apply_fn, params, x, y, chunk, unrolled=False):
    """(loss, accuracy) on all of (x, y), computed ``chunk`` samples at a time."""
    f = loop_.outputs(apply_fn, params, x, chunk, unrolled=unrolled)
    return mse(f, y), accuracy(f, y)


# --------------------------------------------------------------- the program


@functools.lru_cache(maxsize=32)
def _program(
    apply_fn: ApplyFn,
    steps: int,
    eig_iters: int,
    has_every: bool,
    n_times: int,
    has_test: bool,
    eval_chunk: int,
    keep_params: bool,
    loss_cap: float,
    weight_decay: float,
    momentum: float,
    mesh,
    unroll: int | bool,
    loop: str,
):
    """The sweep for one configuration (cached, so repeated sweeps reuse the compile): set-up,
    the steps of every learning rate (vmapped) run by :func:`catapult.loop.iterate`, finish."""
    import optax
    from jax.sharding import NamedSharding, PartitionSpec

    by_eta = NamedSharding(mesh, PartitionSpec("eta"))
    if mesh.size == 1:
        # Nothing to split, and jax 0.7's batching rule for convolutions refuses a vmapped
        # convolution under a named sharding (NotImplementedError): add no constraint.
        shard = lambda tree: tree  # noqa: E731
    else:
        shard = lambda tree: jax.lax.with_sharding_constraint(tree, by_eta)  # noqa: E731

    def make_opt(eta):  # SGD (heavy-ball momentum if μ > 0), with L2 weight decay (wd/2)‖θ‖² added to the gradient
        sgd = optax.sgd(eta, momentum=momentum or None)
        return optax.chain(optax.add_decayed_weights(weight_decay), sgd) if weight_decay else sgd

    python = loop_.stepped(loop)

    def lam_fn(p, eig_x):
        return ntk.lanczos_top_eigenvalue(apply_fn, p, eig_x, iters=eig_iters, unroll=True if python else 1)

    def keep_snaps(snaps, params, hit):
        return jax.tree_util.tree_map(lambda s, p: jnp.where(hit.reshape((-1,) + (1,) * p.ndim), p[None], s), snaps, params)

    # one learning rate: start, one step, finish
    def start(eta, params):
        snaps = jax.tree_util.tree_map(lambda a: jnp.broadcast_to(a, (n_times,) + a.shape), params)
        return (params, make_opt(eta).init(params), snaps, jnp.array(False), jnp.array(-1, jnp.int32))

    def step(eta, carry, t, batch_x, batch_y, eig_t, eig_x, time_steps):
        opt = make_opt(eta)
        params, opt_state, snaps, dead, dead_at = carry
        if n_times:  # keep θ_t where t is the step of a physical time τ_j (per-η steps)
            snaps = keep_snaps(snaps, params, time_steps == t)
        loss, grads = jax.value_and_grad(lambda p: mse(apply_fn(p, batch_x), batch_y))(params)
        if isinstance(eig_t, bool):  # the Python loop: two compiled steps, with and without λ
            lam = lam_fn(params, eig_x) if eig_t else jnp.array(jnp.nan, loss.dtype)
        elif has_every:
            lam = jax.lax.cond(eig_t, lambda p: lam_fn(p, eig_x), lambda p: jnp.array(jnp.nan, loss.dtype), params)
        else:
            lam = jnp.array(jnp.nan, loss.dtype)
        updates, new_opt_state = opt.update(grads, opt_state, params)
        new = optax.apply_updates(params, updates)
        # the loss at θ_t marks step t, a non-finite θ_(t+1) step t + 1; either freezes the run
        rec_dead, dead_at = loop_.mark(dead, dead_at, ~jnp.isfinite(loss) | (loss > loss_cap), t)
        new_dead, dead_at = loop_.mark(rec_dead, dead_at, ~loop_.finite(new), t + 1)
        params = loop_.select(new_dead, params, new)
        opt_state = loop_.select(new_dead, opt_state, new_opt_state)
        rec = (jnp.where(rec_dead, jnp.nan, loss), jnp.where(rec_dead, jnp.nan, lam))
        return (params, opt_state, snaps, new_dead, dead_at), rec

    def finish(carry, losses, lams, x, y, last_batch, eig_last, eig_x, time_steps, x_test, y_test,
               lam_last=None, lam_at=None):
        # lam_last, lam_at: λ at θ_T and at the kept θ_(t_j), when measured outside (loop="each")
        params, _, snaps, dead, dead_at = carry
        # the final state, t = T
        last = mse(apply_fn(params, x[last_batch]), y[last_batch])
        dead, dead_at = loop_.mark(dead, dead_at, ~jnp.isfinite(last) | (last > loss_cap), steps)
        losses = jnp.concatenate([losses, jnp.where(dead, jnp.nan, last)[None]])
        if lam_last is None:
            lam_last = lam_fn(params, eig_x) if has_every else jnp.array(jnp.nan, last.dtype)
        lams = jnp.concatenate([lams, jnp.where(eig_last & ~dead, lam_last, jnp.nan)[None]])
        if n_times:
            snaps = keep_snaps(snaps, params, time_steps == steps)
            if lam_at is None and python:
                pick = lambda j: jax.tree_util.tree_map(lambda a: a[j], snaps)  # noqa: E731
                lam_at = jnp.stack([lam_fn(pick(j), eig_x) for j in range(n_times)])
            elif lam_at is None:
                lam_at = jax.lax.map(lambda p: lam_fn(p, eig_x), snaps)
            alive = (dead_at < 0) | (time_steps < dead_at)
            lam_at = jnp.where(alive & (time_steps <= steps), lam_at, jnp.nan)
        else:
            lam_at = jnp.zeros((0,), last.dtype)
        nan = jnp.array(jnp.nan, last.dtype)
        tr_loss, tr_acc = _evaluate(apply_fn, params, x, y, eval_chunk, python)
        if has_test:
            te_loss, te_acc = _evaluate(apply_fn, params, x_test, y_test, eval_chunk, python)
        else:
            te_loss = te_acc = nan
        evals = tuple(jnp.where(dead, nan, v) for v in (tr_loss, tr_acc, te_loss, te_acc))
        out = dict(loss=losses, lam=lams, lam_at=lam_at, dead=dead, dead_at=dead_at, evals=evals)
        if keep_params:
            out["params"] = params
        return out

    if loop == "each":  # every learning rate on its own (convolutional networks on CPU)
        return _each_program(apply_fn, steps, eig_iters, has_every, n_times, start, step, finish, keep_snaps)

    # every learning rate at once (vmapped; with several devices, split across them)
    def start_all(etas, params):
        return shard(loop_.over_runs(start, (0, None), loop)(shard(etas), params))

    step_at = (0, 0, None, None, None, None, None, 0)

    def step_all(carry, xs, eig_t, etas, x, y, eig_x, time_steps):
        t, batch = xs
        bx, by = x[batch], y[batch]
        one = loop_.over_runs(step, step_at, loop, static_argnums=(5,) if python else ())
        return shard(one(shard(etas), carry, t, bx, by, eig_t, eig_x, shard(time_steps)))

    def finish_all(carry, losses, lams, *rest):
        at = (0, 0, 0, None, None, None, None, None, 0, None, None)
        return shard(loop_.over_runs(finish, at, loop)(carry, losses, lams, *rest[:5], shard(rest[5]), *rest[6:]))

    start_s, finish_s = loop_.stage(start_all, loop), loop_.stage(finish_all, loop)
    lam0_s = jax.jit(lam_fn) if python else lam_fn

    def run(etas, params, x, y, idx, eig_now, eig_x, time_steps, x_test, y_test):
        ts = np.arange(steps, dtype=np.int32)
        flags = eig_now[:steps]
        if has_every:  # λ at t = 0 is the same for every rate: computed once, below
            flags = flags.at[0].set(False)
        carry, (losses, lams) = loop_.iterate(
            step_all, start_s(etas, params), (ts, idx[:steps]), flags=flags,
            args=(etas, x, y, eig_x, time_steps), loop=loop, unroll=unroll,
        )
        if has_every:
            lams = lams.at[0].set(jnp.where(jnp.isnan(losses[0]), jnp.nan, lam0_s(params, eig_x)))
        return finish_s(carry, losses.T, lams.T, x, y, idx[steps], eig_now[steps], eig_x, time_steps, x_test, y_test)

    return loop_.program(run, loop)


def _each_program(apply_fn, steps, eig_iters, has_every, n_times, start, step, finish, keep_snaps):
    """The sweep under ``loop="each"`` (convolutional networks on CPU): every learning rate
    stepped on its own by one compiled single-run step, λ measured between steps by the
    Lanczos stepped from Python (:func:`catapult.ntk.lanczos_top_eigenvalue_stepped`), whose
    one compiled NTK-vector product serves every measurement of the sweep."""
    start_c = jax.jit(jax.vmap(start, in_axes=(0, None)))

    def gathered(eta, carry, t, batch, x, y, eig_x, time_steps):  # λ is measured outside: eig_t False
        return step(eta, carry, t, x[batch], y[batch], False, eig_x, time_steps)

    step_c = jax.jit(gathered)
    finish_c = jax.jit(finish)

    def lam(params, eig_x):
        return ntk.lanczos_top_eigenvalue_stepped(apply_fn, params, eig_x, iters=eig_iters)

    def step_one(carry, xs, eig_t, eta, x, y, eig_x, time_steps):
        t, batch = xs
        lam_t = lam(carry[0], eig_x) if eig_t and not bool(carry[3]) else None  # a frozen run records NaN
        carry, (loss, nan) = step_c(eta, carry, np.int32(t), batch, x, y, eig_x, time_steps)
        return carry, (loss, nan if lam_t is None else jnp.where(jnp.isnan(loss), jnp.nan, lam_t))

    def finish_one(carry, losses, lams, x, y, last_batch, eig_last, eig_x, time_steps, x_test, y_test):
        params, _, snaps, dead, _ = carry
        lam_last = None
        if has_every:  # a frozen run's final λ is not recorded
            lam_last = jnp.array(jnp.nan, losses.dtype) if bool(dead) else lam(params, eig_x)
        lam_at = None
        if n_times:  # the kept θ_(t_j), with θ_T where t_j = T, as finish keeps them
            snaps = keep_snaps(snaps, params, time_steps == steps)
            lam_at = jnp.stack([lam(jax.tree_util.tree_map(lambda a: a[j], snaps), eig_x) for j in range(n_times)])
        return finish_c(carry, losses, lams, x, y, last_batch, eig_last, eig_x, time_steps, x_test, y_test,
                        lam_last, lam_at)

    def run(etas, params, x, y, idx, eig_now, eig_x, time_steps, x_test, y_test):
        flags = np.asarray(eig_now[:steps], bool).copy()
        flags[0] = False  # λ at t = 0 is the same for every rate: computed once, below
        carry, (losses, lams) = loop_.iterate(
            step_one, start_c(etas, params), (np.arange(steps, dtype=np.int32), np.asarray(idx[:steps])), flags=flags,
            args=(etas, x, y, eig_x, time_steps), loop="each", in_axes=(0, None, None, None, 0),
        )
        if has_every:
            lams = lams.at[0].set(jnp.where(jnp.isnan(losses[0]), jnp.nan, lam(params, eig_x)))
        at = (0, 0, 0, None, None, None, None, None, 0, None, None)
        args = (carry, losses.T, lams.T, x, y, idx[steps], eig_now[steps], eig_x, time_steps, x_test, y_test)
        lead, per_run = loop_.runs_of(args, at, 1)
        return loop_.stack_runs(loop_.map_runs(finish_one, per_run), lead)

    return run


def sweep(
    apply_fn: ApplyFn,
    params: Any,
    x: Any,
    y: Any,
    etas: Any,
    steps: int,
    *,
    batch_size: int | None = None,
    seed: int = 0,
    x_test: Any = None,
    y_test: Any = None,
    record_every: int = 1,
    eig: Curvature | None = None,
    weight_decay: float = 0.0,
    momentum: float = 0.0,
    loss_cap: float | None = None,
    keep_params: bool = False,
    eval_chunk: int = 1024,
    devices: Sequence[Any] | None = None,
    unroll: int | bool = 1,
    loop: str = "scan",
) -> Run:
    """Train the shared initialization ``params`` with SGD at every learning rate in ``etas``.

    One jitted program: ``vmap`` over learning rates of a ``lax.scan`` over ``steps``
    steps; with several ``devices`` (default ``jax.devices()``) the learning-rate axis is
    padded to a multiple of their number and split across them. ``x``: (N, ...) inputs,
    ``y``: (N, k) or (N,) targets; ``record_every`` thins the loss record (every step is
    computed anyway); ``momentum``: μ in [0, 1) of heavy-ball SGD; ``loss_cap``: a loss above it counts as divergence (default: only
    non-finite values do); ``keep_params``: return the final parameters (stacked over
    etas). See the module docstring for batches, records, divergence and curvature.
    """
    one_of("loop", loop, LOOPS)
    etas = positive_array("etas", etas)
    if etas.ndim != 1:
        raise ValueError(f"etas must be a 1-D array of learning rates, got shape {etas.shape}.")
    steps = positive_int("steps", steps)
    record_every = positive_int("record_every", record_every)
    eval_chunk = positive_int("eval_chunk", eval_chunk)
    seed = int(seed)
    if not (isinstance(weight_decay, (int, float)) and math.isfinite(weight_decay) and weight_decay >= 0):
        raise ValueError(f"weight_decay must be a finite number >= 0, got {weight_decay!r}.")
    if not (isinstance(momentum, (int, float)) and 0 <= momentum < 1):
        raise ValueError(f"momentum must be a number in [0, 1) (0: plain SGD), got {momentum!r}.")
    cap = math.inf if loss_cap is None else float(positive_array("loss_cap", loss_cap)[0])
    x, y = jnp.asarray(x), jnp.asarray(y)
    if x.ndim < 2 or x.shape[0] == 0:
        raise ValueError(f"x must be (N, ...) samples with N >= 1, got shape {x.shape}.")
    if y.shape[0] != x.shape[0]:
        raise ValueError(f"x and y must have the same number of samples, got {x.shape[0]} and {y.shape[0]}.")
    out = jax.eval_shape(apply_fn, params, x[:1])
    if out.size != np.prod(y.shape[1:], dtype=int):
        raise ValueError(f"apply_fn gives {out.shape[1:]} outputs per sample but y has {y.shape[1:]}.")
    has_test = x_test is not None
    if has_test != (y_test is not None):
        raise ValueError("pass both x_test and y_test, or neither.")
    if has_test:
        x_test, y_test = jnp.asarray(x_test), jnp.asarray(y_test)
        if x_test.shape[0] != y_test.shape[0] or x_test.shape[1:] != x.shape[1:]:
            raise ValueError(f"x_test {x_test.shape} and y_test {y_test.shape} do not match x {x.shape}, y {y.shape}.")
    else:
        x_test, y_test = x[:1], y[:1]
    idx = jnp.asarray(batch_indices(x.shape[0], batch_size, steps, seed))

    # curvature schedules
    eig = Curvature(x[:1], None, (), 1) if eig is None else eig
    eig_iters = positive_int("eig.iters", eig.iters)
    has_every = eig.every is not None
    every = positive_int("eig.every", eig.every) if has_every else steps + 1
    early = int(eig.early)
    if early < 0:
        raise ValueError(f"eig.early must be a step count >= 0, got {eig.early!r}.")
    lam_steps = np.union1d(np.arange(0, steps + 1, every), np.arange(0, min(early, steps) + 1))
    eig_now = jnp.asarray(np.isin(np.arange(steps + 1), lam_steps) & has_every)
    times = np.asarray(eig.times, dtype=float).ravel()
    if times.size:
        times = positive_array("eig.times", times)
    time_steps = np.rint(times[None, :] / etas[:, None]).astype(np.int64)
    time_steps = np.minimum(time_steps, steps + 1).astype(np.int32)  # steps + 1: beyond the run
    eig_x = jnp.asarray(eig.x)
    if has_every or times.size:
        if eig_x.ndim != x.ndim or eig_x.shape[1:] != x.shape[1:] or eig_x.shape[0] == 0:
            raise ValueError(f"eig.x must be a batch of inputs shaped like x {x.shape[1:]}, got {eig_x.shape}.")

    # devices: pad the eta axis to a multiple of their number
    devices = list(jax.devices() if devices is None else devices)
    if not devices:
        raise ValueError("devices is empty; pass None (all devices) or a list of jax devices.")
    from jax.sharding import Mesh, NamedSharding, PartitionSpec

    mesh = Mesh(np.array(devices), ("eta",))
    n = etas.size
    pad = (-n) % len(devices)
    etas_p = np.concatenate([etas, np.repeat(etas[-1:], pad)])
    ts_p = np.concatenate([time_steps, np.repeat(time_steps[-1:], pad, axis=0)])
    if len(devices) == 1:
        # One device: plain placement. (A NamedSharding here makes jax 0.7 give vmapped
        # convolutions an out_sharding that its batching rule refuses: NotImplementedError.)
        sharded = replicated = jax.sharding.SingleDeviceSharding(devices[0])
    else:
        sharded = NamedSharding(mesh, PartitionSpec("eta"))
        replicated = NamedSharding(mesh, PartitionSpec())
    dtype = jax.tree_util.tree_leaves(params)[0].dtype
    put = lambda a: jax.device_put(a, replicated)  # noqa: E731
    args = (
        jax.device_put(jnp.asarray(etas_p, dtype), sharded),
        put(params),
        put(x),
        put(y),
        put(idx),
        put(eig_now),
        put(eig_x),
        jax.device_put(jnp.asarray(ts_p), sharded),
        put(x_test),
        put(y_test),
    )
    program = _program(
        apply_fn,
        steps,
        eig_iters,
        has_every,
        int(times.size),
        has_test,
        min(eval_chunk, max(x.shape[0], x_test.shape[0])),
        bool(keep_params),
        cap,
        float(weight_decay),
        float(momentum),
        mesh,
        unroll if isinstance(unroll, bool) else positive_int("unroll", unroll),
        loop,
    )
    res = jax.device_get(program(*args))
    cut = lambda a: np.asarray(a)[:n]  # noqa: E731
    loss = cut(res["loss"])
    rec = np.arange(0, steps + 1, record_every)
    if rec[-1] != steps:
        rec = np.append(rec, steps)
    tr_loss, tr_acc, te_loss, te_acc = (cut(v) for v in res["evals"])
    nan = np.full(n, np.nan)
    return Run(
        etas=etas,
        loss_steps=rec,
        loss=loss[:, rec],
        divergent=cut(res["dead"]).astype(bool),
        diverged_at=cut(res["dead_at"]).astype(np.int64),
        lam_steps=lam_steps if has_every else np.zeros(0, np.int64),
        lam=cut(res["lam"])[:, lam_steps] if has_every else np.zeros((n, 0)),
        lam_times=times,
        lam_at=cut(res["lam_at"]) if times.size else np.zeros((n, 0)),
        train_loss=tr_loss,
        train_accuracy=tr_acc,
        test_loss=te_loss if has_test else nan,
        test_accuracy=te_acc if has_test else nan,
        params=jax.tree_util.tree_map(cut, res["params"]) if keep_params else None,
        batch_size=batch_size,
        seed=seed,
    )


def max_trainable(run: Run) -> float:
    """The largest learning rate of the sweep whose run did not diverge (NaN if none)."""
    ok = ~run.divergent
    return float(run.etas[ok].max()) if ok.any() else math.nan


# ------------------------------------------------------------------ reading a sweep


def lambda_drift(run: Run, lam0: float, until: float) -> np.ndarray:
    """(n,) largest |λ_t/λ0 − 1| of each run over its λ records up to physical time ``until``.

    Uses the common schedule (``lam``) and the exact-time records (``lam_at``) that fall
    within ``until``; NaN records (after divergence) are skipped. The lazy phase of
    Sec. 3.1 predicts a drift that vanishes with width.
    """
    lam0 = float(lam0)
    out = np.full(run.etas.shape, np.nan)
    for i, eta in enumerate(run.etas):
        vals = [run.lam[i, run.lam_steps * eta <= until], run.lam_at[i, run.lam_times <= until + 1e-12]]
        vals = np.concatenate(vals)
        vals = vals[np.isfinite(vals)]
        if vals.size:
            out[i] = float(np.max(np.abs(vals / lam0 - 1.0)))
    return out


def steps_to_loss(run: Run, level: float, window: int = 5) -> np.ndarray:
    """(n,) first step at which each run's minibatch loss, averaged over its last ``window``
    records, is at or below ``level``; inf if it never is (or the run diverged first).

    Compares runs by training progress rather than by steps: e.g. a run with momentum against
    the loss a plain run reached (App. C.2, Fig. S8). The average tames the minibatch noise.
    """
    window = positive_int("window", window)
    out = np.full(run.etas.shape, np.inf)
    if run.loss.shape[1] < window:
        return out
    kernel = np.ones(window) / window
    for i in range(run.etas.size):
        mean = np.convolve(run.loss[i], kernel, mode="valid")  # record j + window - 1
        hit = np.flatnonzero(mean <= level)  # NaN (after divergence) never counts
        if hit.size:
            out[i] = float(run.loss_steps[hit[0] + window - 1])
    return out


def spike_steps(run: Run) -> np.ndarray:
    """(n,) steps until each run's loss, after its peak, is back below its initial value.

    The catapult's loss spike (Fig. 3a,d) is over at that step; a run whose loss never
    rises above L0 gives its first step below L0 after the start, a run that never comes
    back (or diverges) gives inf. Needs the loss at every step (``record_every=1``) for
    a count in steps; otherwise the count is in records × record_every.
    """
    every = int(run.loss_steps[1] - run.loss_steps[0]) if run.loss_steps.size > 1 else 1
    out = np.full(run.etas.shape, np.inf)
    for i in range(run.etas.size):
        loss = run.loss[i]
        if run.divergent[i] or not np.isfinite(loss).any():
            continue
        peak = int(np.nanargmax(loss))
        below = np.flatnonzero(loss[peak:] < loss[0])
        if below.size:
            out[i] = float((peak + below[0]) * every)
    return out


def early_rise(run: Run, lam0: float, until: int) -> np.ndarray:
    """(n,) largest λ_t/λ0 over the common λ records at steps 1..``until`` (NaN if none).

    The paper notes that in a Wide ResNet λ_t first rises before the catapult brings it
    down (Sec. 3.1); values above 1 show that rise. Use ``Curvature(early=until)``.
    """
    sel = (run.lam_steps >= 1) & (run.lam_steps <= until)
    if not sel.any():
        return np.full(run.etas.shape, np.nan)
    with np.errstate(invalid="ignore"):
        return np.nanmax(np.where(np.isfinite(run.lam[:, sel]), run.lam[:, sel], -np.inf), axis=1) / float(lam0)


def param_norm_ratio(run: Run, params0: Any) -> np.ndarray:
    """(n,) ‖θ_T‖/‖θ_0‖ of each run (needs ``keep_params=True``).

    With normalization layers the loss does not change when a block's weights are scaled,
    and SGD then grows them; the effective learning rate falls as 1/‖θ‖² (Ch. 6).
    """
    if run.params is None:
        raise ValueError("param_norm_ratio needs the final parameters: run the sweep with keep_params=True.")
    sq0 = sum(float(np.sum(np.square(np.asarray(p, np.float64)))) for p in jax.tree_util.tree_leaves(params0))
    sq = sum(np.sum(np.square(np.asarray(p, np.float64)).reshape(run.etas.size, -1), axis=1)
             for p in jax.tree_util.tree_leaves(run.params))
    return np.sqrt(sq / sq0)


def loss_rise(run: Run) -> np.ndarray:
    """(n,) each run's largest loss after the start over its initial loss, max_{t≥1} L_t/L_0.

    The catapult's signature (Sec. 3.1, Fig. 3a,d): above η_crit the loss first grows, then
    falls; in the lazy phase it only falls (up to minibatch noise, since L_t is the loss on
    step t's batch). A run that diverges gives inf; NaN records are skipped.
    """
    out = np.full(run.etas.shape, np.inf)
    for i in range(run.etas.size):
        loss = run.loss[i]
        if run.divergent[i] or not np.isfinite(loss[1:]).any():
            continue
        out[i] = float(np.nanmax(loss[1:]) / loss[0])
    return out
