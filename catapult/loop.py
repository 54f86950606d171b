"""The one loop core: every trainer of catapult iterates through here.

A trainer supplies a *step* (one update of its state, built from optax pieces where optax
has them) and this module runs it, in one of two ways that give the same numbers:

- ``loop="scan"``: ``jax.lax.scan`` over the steps, inside the caller's ``jit`` (the
  default, and the only sensible choice on a GPU);
- ``loop="python"``: the step compiled once (``jit``) and called from a Python loop. On
  XLA:CPU convolutions inside ``scan``/``while`` bodies run 10-20x slower than outside
  them (jax#12868; a WRN-10-1 step at batch 16: 0.05 s alone, 1.2 s in a scan), so
  networks with convolutions use this loop on a CPU (:func:`conv_loop`).

It also owns what every trainer shares:

- **freeze-on-divergence** (divergence is a result, never an exception): :func:`finite`,
  :func:`select` and :func:`mark` freeze a run at its last finite state and remember the
  first bad step; :func:`scan_frozen` is the whole pattern for runs observed every
  ``every`` steps;
- **chunked evaluation** of a model on a whole data set (:func:`outputs`).
"""

from __future__ import annotations

import functools
from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np

from ._checks import one_of

__all__ = [
    "LOOPS",
    "conv_loop",
    "finite",
    "select",
    "mark",
    "iterate",
    "stage",
    "program",
    "scan_frozen",
    "outputs",
]

LOOPS = ("scan", "python")


def conv_loop() -> str:
    """The ``loop`` for a network with convolutions on the default backend: ``"python"`` on
    CPU, where XLA runs convolutions inside loop bodies 10-20x slower (jax#12868), else ``"scan"``."""
    return "python" if jax.default_backend() == "cpu" else "scan"


# ------------------------------------------------------------ freeze on divergence


def finite(*trees: Any) -> jax.Array:
    """True when every leaf of every tree is finite (integer leaves always are)."""
    leaves = [leaf for tree in trees for leaf in jax.tree_util.tree_leaves(tree)]
    return jnp.all(jnp.stack([jnp.all(jnp.isfinite(leaf)) for leaf in leaves]))


def select(cond: jax.Array, a: Any, b: Any) -> Any:
    """``a`` where ``cond`` else ``b``, leaf by leaf (a scalar ``cond`` for one run)."""
    return jax.tree_util.tree_map(lambda u, v: jnp.where(cond, u, v), a, b)


def mark(dead: jax.Array, dead_at: jax.Array, bad: jax.Array, t: Any) -> tuple[jax.Array, jax.Array]:
    """A run turns dead when ``bad``; ``dead_at`` keeps the first step ``t`` at which it did."""
    return dead | bad, jnp.where(bad & ~dead, t, dead_at)


# ------------------------------------------------------------------ the loop


@functools.lru_cache(maxsize=64)
def _compiled(step: Callable, with_flags: bool) -> Callable:
    # one compiled step per step function (and per value of a static flag)
    return jax.jit(step, static_argnums=2) if with_flags else jax.jit(step)


def _stack(records: list) -> Any:
    if not records or records[0] is None:
        return None
    return jax.tree_util.tree_map(lambda *r: jnp.stack(r), *records)


def iterate(
    step: Callable,
    carry: Any,
    xs: Any,
    *,
    args: tuple = (),
    flags: Any = None,
    loop: str = "scan",
    unroll: int | bool = 1,
) -> tuple[Any, Any]:
    """``carry, record_t = step(carry, xs[t], *args)`` for t = 0, 1, ...; returns the last
    carry and the records stacked on a leading time axis (like ``lax.scan``).

    ``args`` are passed unchanged to every step (data, per-run constants). ``flags`` (one
    bool per step) comes as the third argument, ``step(carry, xs[t], flag, *args)``: a traced
    bool under ``scan`` (use it in a ``lax.cond``), a Python bool in the Python loop, where
    the step is compiled once per flag value (so an expensive branch is not even traced when
    off). With ``loop="python"`` the caller must not wrap this call in ``jit``: the step is
    compiled once (cached on the step function, so build it once) and ``xs`` are sliced on
    the host.
    """
    one_of("loop", loop, LOOPS)
    if loop == "scan":
        if flags is None:
            return jax.lax.scan(lambda c, a: step(c, a, *args), carry, xs, unroll=unroll)
        return jax.lax.scan(lambda c, a: step(c, a[0], a[1], *args), carry, (xs, jnp.asarray(flags)), unroll=unroll)
    fn = _compiled(step, flags is not None)
    length = jax.tree_util.tree_leaves(xs)[0].shape[0]
    xs = jax.tree_util.tree_map(np.asarray, xs)
    flags = None if flags is None else np.asarray(flags, bool)
    records = []
    for t in range(length):
        x_t = jax.tree_util.tree_map(lambda a: a[t], xs)
        carry, rec = fn(carry, x_t, *args) if flags is None else fn(carry, x_t, bool(flags[t]), *args)
        records.append(rec)
    return carry, _stack(records)


def stage(fn: Callable, loop: str, **jit_kwargs: Any) -> Callable:
    """A piece of a program around :func:`iterate` (set-up, finish): compiled on its own in
    the Python loop, left to the enclosing :func:`program`'s ``jit`` under ``scan``."""
    return jax.jit(fn, **jit_kwargs) if one_of("loop", loop, LOOPS) == "python" else fn


def program(fn: Callable, loop: str, **jit_kwargs: Any) -> Callable:
    """A whole trainer (set-up, :func:`iterate`, finish): one ``jit`` under ``scan``; under the
    Python loop its stages compile separately, so the whole is not jitted."""
    return jax.jit(fn, **jit_kwargs) if one_of("loop", loop, LOOPS) == "scan" else fn


# ---------------------------------------------------- runs observed every k steps


@functools.lru_cache(maxsize=64)
def _frozen_update(observe: Callable) -> Callable:
    def update(state, new, dead, dead_at, t, *args):
        obs = observe(new, *args)
        bad = dead | ~finite(new, *obs)
        state = select(bad, state, new)
        dead_at = jnp.where(bad & ~dead, t, dead_at)
        return state, bad, dead_at, tuple(jnp.where(bad, jnp.nan, o) for o in obs)

    return update


@functools.lru_cache(maxsize=64)
def _runs_jit(fn: Callable, runs: bool, in_axes: tuple) -> Callable:
    # ``fn`` vmapped over the runs axis and compiled, cached on ``fn`` itself (a trainer builds
    # its step and observation once, in a cached factory, so repeated sweeps reuse the compile)
    return jax.jit(jax.vmap(fn, in_axes=in_axes) if runs else fn)


def scan_frozen(
    step: Callable[..., Any],
    state: Any,
    observe: Callable[..., tuple],
    steps: int,
    *,
    args: tuple = (),
    every: int = 1,
    loop: str = "scan",
    runs: bool = False,
) -> tuple[tuple, jax.Array, jax.Array, Any]:
    """Iterate ``state = step(state, t, *args)`` for t = 0..steps-1, recording
    ``observe(state, *args)`` at t = 0, every, 2·every, ...; a run whose state or observation
    is non-finite at a record is frozen at its last recorded finite state (later records NaN).

    ``step`` and ``observe`` describe one run; ``args`` are shared by all runs (data). With
    ``runs=True`` ``state`` carries a leading axis of independent runs, each frozen on its own
    (``jax.vmap``). ``steps`` must be a multiple of ``every``. Returns (records, each with
    steps/every + 1 rows on its time axis, which follows the run axis when ``runs``; dead
    flag; first non-finite record index or -1; final state: the last finite one of a
    divergent run). Under ``loop="python"`` pass ``step`` and ``observe`` built once (their
    compiled forms are cached on them).
    """
    one_of("loop", loop, LOOPS)
    if steps % every:
        raise ValueError(f"steps ({steps}) must be a multiple of every ({every}).")
    blocks = steps // every
    update = _frozen_update(observe)

    if loop == "scan" and runs:  # independent runs: the one-run scan, vmapped
        one = lambda s: scan_frozen(step, s, observe, steps, args=args, every=every)  # noqa: E731
        return jax.vmap(one)(state)

    if loop == "scan":
        first = observe(state, *args)

        def block(carry, b):
            state, dead, dead_at = carry
            if every == 1:
                new = step(state, b, *args)
            else:
                ts = b * every + jnp.arange(every, dtype=jnp.int32)
                new = jax.lax.scan(lambda s, t: (step(s, t, *args), None), state, ts)[0]
            state, dead, dead_at, rec = update(state, new, dead, dead_at, b + 1, *args)
            return (state, dead, dead_at), rec

        init = (state, jnp.array(False), jnp.array(-1, jnp.int32))
        (final, dead, dead_at), recs = jax.lax.scan(block, init, jnp.arange(blocks, dtype=jnp.int32))
        recs = tuple(jnp.concatenate([o[None], r], axis=0) for o, r in zip(first, recs))
        return recs, dead, dead_at, final

    shared = (None,) * len(args)
    step_c = _runs_jit(step, runs, (0, None) + shared)
    update_c = _runs_jit(update, runs, (0, 0, 0, 0, None) + shared)
    first = _runs_jit(observe, runs, (0,) + shared)(state, *args)
    lead = jax.tree_util.tree_leaves(state)[0].shape[:1] if runs else ()
    dead, dead_at = jnp.zeros(lead, bool), jnp.full(lead, -1, jnp.int32)
    records = [first]
    t = 0
    for b in range(blocks):
        new = state
        for _ in range(every):
            new = step_c(new, np.int32(t), *args)
            t += 1
        state, dead, dead_at, rec = update_c(state, new, dead, dead_at, np.int32(b + 1), *args)
        records.append(rec)
    recs = tuple(jnp.stack(r, axis=1 if runs else 0) for r in zip(*records))
    return recs, dead, dead_at, state


# ------------------------------------------------------------ whole-set evaluation


def outputs(apply_fn: Callable, params: Any, x: jax.Array, chunk: int, *, unrolled: bool = False) -> jax.Array:
    """``apply_fn(params, x)`` on all of ``x``, ``chunk`` samples at a time (``lax.map``, or a
    traced Python loop when ``unrolled``, for convolutions on XLA:CPU); bounds memory."""
    n = x.shape[0]
    chunk = min(chunk, n)
    pad = (-n) % chunk
    xp = jnp.concatenate([x, jnp.zeros((pad,) + x.shape[1:], x.dtype)]) if pad else x
    chunks = xp.reshape((-1, chunk) + x.shape[1:])
    if unrolled:
        out = jnp.stack([apply_fn(params, chunks[i]) for i in range(chunks.shape[0])])
    else:
        out = jax.lax.map(lambda xb: apply_fn(params, xb), chunks)
    return out.reshape((-1,) + out.shape[2:])[:n]
