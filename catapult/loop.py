"""The one loop core: every trainer of catapult iterates through here.

A trainer supplies a *step* (one update of its state, built from optax pieces where optax
has them) and this module runs it, in one of two ways that give the same numbers:

- ``loop="scan"``: ``jax.lax.scan`` over the steps, inside the caller's ``jit`` (the
  default, and the only sensible choice on a GPU);
- ``loop="python"``: the step compiled once (``jit``) and called from a Python loop. On
  XLA:CPU convolutions inside ``scan``/``while`` bodies run 10-20x slower than outside
  them (jax#12868; a WRN-10-1 step at batch 16: 0.05 s alone, 1.2 s in a scan);
- ``loop="each"``: the Python loop, and independent runs (learning rates, seeds) stepped by
  one compiled *single-run* program called once per run (:func:`iterate` with ``in_axes``;
  :func:`each` for a one-off stage) instead of one
  ``vmap``-ped program. ``vmap`` over per-run weights turns every convolution into a
  grouped convolution, which XLA:CPU runs 4-10x slower than the same convolutions one run
  at a time; the single-run program also compiles as fast as the vmapped one. Networks
  with convolutions use this on a CPU (:func:`conv_loop`).

It also owns what every trainer shares:

- **freeze-on-divergence** (divergence is a result, never an exception): :func:`finite`,
  :func:`select` and :func:`mark` freeze a run at its last finite state and remember the
  first bad step; :func:`scan_frozen` is the whole pattern for runs observed every
  ``every`` steps;
- **chunked evaluation** of a model on a whole data set (:func:`outputs`).
"""

from __future__ import annotations

import concurrent.futures
import functools
import math
import os
from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np

from ._checks import one_of

__all__ = [
    "LOOPS",
    "conv_loop",
    "stepped",
    "split_runs",
    "stack_runs",
    "runs_of",
    "map_runs",
    "each",
    "over_runs",
    "finite",
    "select",
    "mark",
    "iterate",
    "stage",
    "program",
    "scan_frozen",
    "outputs",
]

LOOPS = ("scan", "python", "each")


def conv_loop() -> str:
    """The ``loop`` for a network with convolutions on the default backend: ``"each"`` on CPU,
    where XLA runs convolutions inside loop bodies 10-20x slower (jax#12868) and vmapped over
    runs 4-10x slower (grouped convolutions), else ``"scan"``."""
    return "each" if jax.default_backend() == "cpu" else "scan"


def stepped(loop: str) -> bool:
    """True for the loops that step from Python (``"python"``, ``"each"``), not ``lax.scan``."""
    return one_of("loop", loop, LOOPS) != "scan"


# ------------------------------------------------------------ independent runs


def split_runs(tree: Any, runs: int, axes: int = 1) -> list:
    """``tree`` cut along its leading run axes (the first ``axes`` axes taken as one, ``runs``
    entries) into one pytree per run. Done on the host: no program is compiled."""
    leaves, treedef = jax.tree_util.tree_flatten(tree)
    host = [np.asarray(leaf).reshape((runs,) + np.shape(leaf)[axes:]) for leaf in leaves]
    return [jax.tree_util.tree_unflatten(treedef, [_put(h[r]) for h in host]) for r in range(runs)]


def _put(a: np.ndarray) -> jax.Array:
    # on the default device and committed to it, as a compiled function's outputs are: a jitted
    # step fed both kinds would compile twice (jit keys on where its arguments live)
    return jax.device_put(a, jax.devices()[0])


def stack_runs(trees: list, lead: tuple = ()) -> Any:
    """The inverse of :func:`split_runs`: the runs' pytrees stacked on leading axes ``lead``
    (default one axis of len(trees)). Done on the host: no program is compiled."""
    if not trees or trees[0] is None:
        return None
    lead = tuple(lead) or (len(trees),)
    return jax.tree_util.tree_map(lambda *r: _put(np.stack([np.asarray(v) for v in r]).reshape(lead + np.shape(r[0]))), *trees)


@functools.lru_cache(maxsize=128)
def _one_run(fn: Callable, static_argnums: tuple) -> Callable:
    return jax.jit(fn, static_argnums=static_argnums)


def runs_of(args: tuple, in_axes: tuple, axes: int = 1) -> tuple[tuple, list]:
    """(the leading run shape, one tuple of ``args`` per run): the arguments whose ``in_axes`` is
    0 cut along their first ``axes`` axes (:func:`split_runs`), the others (None) repeated."""
    mapped = [a for a, ax in zip(args, in_axes) if ax == 0]
    if not mapped:
        raise ValueError("the runs need at least one argument with in_axes 0.")
    lead = tuple(np.shape(jax.tree_util.tree_leaves(mapped[0])[0])[:axes])
    runs = math.prod(lead)
    cut = [split_runs(a, runs, axes) if ax == 0 else None for a, ax in zip(args, in_axes)]
    return lead, [tuple(a if c is None else c[r] for a, c in zip(args, cut)) for r in range(runs)]


def each(fn: Callable, in_axes: tuple, static_argnums: tuple = (), axes: int = 1) -> Callable:
    """``jax.jit(jax.vmap(fn, in_axes))`` computed run by run: the arguments whose axis is 0
    are cut along their leading run axes (the first ``axes`` axes, e.g. seeds × rates, taken
    as one), ``jit(fn)`` (compiled once, cached on ``fn``) is called for each run and the
    outputs are stacked with the same leading axes. Arguments at ``static_argnums`` (Python
    values, e.g. a flag) are passed to every run unchanged and must have ``in_axes`` None.
    Same numbers as the vmapped program up to float rounding; on XLA:CPU several times
    faster for convolutions (see the module docstring). For a one-off stage (set-up, finish);
    :func:`iterate` keeps the runs apart for a whole loop.
    """
    if any(ax not in (0, None) for ax in in_axes):
        raise ValueError(f"each maps over axis 0 or broadcasts (None), got in_axes {in_axes}.")
    if any(in_axes[i] is not None for i in static_argnums):
        raise ValueError("a static argument is shared by every run: give it in_axes None.")
    one = _one_run(fn, tuple(static_argnums))

    def mapped(*args):
        lead, per_run = runs_of(args, in_axes, axes)
        return stack_runs(map_runs(one, per_run), lead)

    return mapped


def over_runs(fn: Callable, in_axes: tuple, loop: str, static_argnums: tuple = ()) -> Callable:
    """``fn`` mapped over the leading run axis as ``loop`` wants it: ``jax.vmap`` for the
    vmapped loops, the arguments at ``static_argnums`` (Python values, e.g. a flag) passed
    through unchanged; :func:`each` for ``"each"`` (a one-off stage: a loop keeps its runs
    apart with :func:`iterate`)."""
    if one_of("loop", loop, LOOPS) == "each":
        return each(fn, in_axes, static_argnums)
    if not static_argnums:
        return jax.vmap(fn, in_axes=in_axes)

    def mapped(*args):
        static = {i: args[i] for i in static_argnums}
        dyn_axes = tuple(ax for i, ax in enumerate(in_axes) if i not in static)

        def inner(*dyn):
            it = iter(dyn)
            return fn(*[static[i] if i in static else next(it) for i in range(len(args))])

        return jax.vmap(inner, in_axes=dyn_axes)(*[a for i, a in enumerate(args) if i not in static])

    return mapped


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
    # the records of a Python loop on a leading time axis, stacked on the host (jnp.stack would
    # compile a program with one input per step: seconds for a thousand steps)
    if not records or records[0] is None:
        return None
    return jax.tree_util.tree_map(lambda *r: jnp.asarray(np.stack([np.asarray(v) for v in r])), *records)


def iterate(
    step: Callable,
    carry: Any,
    xs: Any,
    *,
    args: tuple = (),
    flags: Any = None,
    loop: str = "scan",
    unroll: int | bool = 1,
    in_axes: tuple | None = None,
    run_axes: int = 1,
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

    With ``loop="each"``, ``step`` is the step of *one* run, called as it is (compile it, or
    the pieces it calls, yourself): the carry's leading ``run_axes`` axes index independent
    runs, ``in_axes`` says which ``args`` have them too (0) and which are shared (None). Each
    run is kept apart for the whole loop and stepped on its own; the final carry and the
    records (time first, then the run axes) are stacked as the other loops return them.
    """
    one_of("loop", loop, LOOPS)
    if loop == "each":
        if in_axes is None or len(in_axes) != len(args):
            raise ValueError("loop='each' needs in_axes: 0 or None for each of args (the run axis of each).")
        return _iterate_each(step, carry, xs, args, flags, tuple(in_axes), run_axes)
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


def _iterate_each(step, carry, xs, args, flags, in_axes, run_axes):
    lead, per_run = runs_of((carry,) + tuple(args), (0,) + in_axes, run_axes)
    length = jax.tree_util.tree_leaves(xs)[0].shape[0]
    xs = jax.tree_util.tree_map(np.asarray, xs)
    steps = [jax.tree_util.tree_map(lambda a: a[t], xs) for t in range(length)]
    flags = None if flags is None else [bool(f) for f in np.asarray(flags, bool)]

    def one_run(c, *run_args):
        recs = []
        for t in range(length):
            c, rec = step(c, steps[t], *run_args) if flags is None else step(c, steps[t], flags[t], *run_args)
            recs.append(rec)
        return c, _stack(recs)

    finals, records = zip(*map_runs(one_run, per_run))
    stacked = stack_runs(list(records), lead)  # (*lead, T, ...)
    if stacked is not None:
        stacked = jax.tree_util.tree_map(lambda a: jnp.moveaxis(a.reshape((-1,) + a.shape[len(lead):]), 1, 0).reshape(
            (length,) + lead + a.shape[len(lead) + 1:]), stacked)
    return stack_runs(list(finals), lead), stacked


def map_runs(fn: Callable, per_run: list) -> list:
    """``[fn(*args) for args in per_run]``, independent runs spread over a few host threads.

    A single run's step of a small convolutional network keeps XLA:CPU's threads only partly
    busy; two runs at once use the second core (1.4x for chapter 5's CNN on 2 cores). Each
    run is computed by the same compiled programs from the same inputs whichever thread runs
    it, so the results do not depend on the threads. The first run goes alone, so that its
    programs are compiled once before the others start."""
    workers = min(len(per_run) - 1, os.cpu_count() or 1, 4)
    if workers <= 1:
        return [fn(*args) for args in per_run]
    first = fn(*per_run[0])
    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        return [first] + list(pool.map(lambda args: fn(*args), per_run[1:]))


def stage(fn: Callable, loop: str, **jit_kwargs: Any) -> Callable:
    """A piece of a program around :func:`iterate` (set-up, finish): compiled on its own in
    the Python loop, left to the enclosing :func:`program`'s ``jit`` under ``scan`` (under
    ``"each"`` a trainer compiles its single-run stages itself, e.g. with :func:`each`)."""
    return jax.jit(fn, **jit_kwargs) if one_of("loop", loop, LOOPS) == "python" else fn


def program(fn: Callable, loop: str, **jit_kwargs: Any) -> Callable:
    """A whole trainer (set-up, :func:`iterate`, finish): one ``jit`` under ``scan``; under the
    Python loops its stages compile separately, so the whole is not jitted."""
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
    compiled forms are cached on them); ``loop="each"`` steps every run on its own with the
    same single-run programs (for convolutions on XLA:CPU, see the module docstring).
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
    if runs and loop == "each":  # every run on its own, one after the other
        one = lambda s: scan_frozen(step, s, observe, steps, args=args, every=every, loop="python")  # noqa: E731
        out = map_runs(one, [(s,) for s in split_runs(state, jax.tree_util.tree_leaves(state)[0].shape[0])])
        recs, dead, dead_at, final = (stack_runs(list(part)) for part in zip(*out))
        return recs, dead, dead_at, final
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
    recs = tuple(jnp.asarray(np.stack([np.asarray(v) for v in r], axis=1 if runs else 0)) for r in zip(*records))
    return recs, dead, dead_at, state


# ------------------------------------------------------------ whole-set evaluation


def outputs(apply_fn: Callable, params: Any, x: jax.Array, chunk: int, *, unrolled: bool = False) -> jax.Array:
    """``apply_fn(params, x)`` on all of ``x``, at most ``chunk`` samples at a time (``lax.map``,
    or a traced Python loop when ``unrolled``, for convolutions on XLA:CPU); bounds memory.

    The n samples are cut into ⌈n/chunk⌉ pieces of equal size ⌈n/⌈n/chunk⌉⌉ (1,024 samples at
    ``chunk`` 1,000 are 2 × 512) and what is left over is one smaller piece: nothing is padded.
    """
    n = x.shape[0]
    size = -(-n // -(-n // max(1, min(chunk, n))))  # ⌈n / ⌈n / chunk⌉⌉
    full = n // size
    body = x[: full * size].reshape((full, size) + x.shape[1:])
    if unrolled:
        out = jnp.concatenate([apply_fn(params, body[i]) for i in range(full)])
    else:
        out = jax.lax.map(lambda xb: apply_fn(params, xb), body)
        out = out.reshape((-1,) + out.shape[2:])
    if full * size < n:
        out = jnp.concatenate([out, apply_fn(params, x[full * size :])])
    return out
