"""A ``lax.scan`` that records observations and freezes a run at its first non-finite state.

Shared by every model whose training can diverge: divergence is a result to record,
never an exception.
"""

from __future__ import annotations

from typing import Any, Callable

import jax
import jax.numpy as jnp


def _finite(*xs: jax.Array) -> jax.Array:
    return jnp.all(jnp.stack([jnp.all(jnp.isfinite(x)) for x in xs]))


def scan_frozen(step: Callable[[Any], Any], state: Any, observe: Callable[[Any], tuple], steps: int):
    """Iterate ``step`` ``steps`` times, recording ``observe(state)``; freeze on non-finite.

    Returns (records with shape [T+1, ...], diverged flag, first non-finite step or -1,
    final state: the last finite one for a divergent run).
    """
    first = observe(state)

    def body(carry, t):
        state, dead, dead_at = carry
        new = step(state)
        obs_new = observe(new)
        bad = dead | ~_finite(*jax.tree_util.tree_leaves(new), *obs_new)
        state = jax.tree_util.tree_map(lambda a, b: jnp.where(bad, a, b), state, new)
        dead_at = jnp.where(bad & ~dead, t + 1, dead_at)
        rec = tuple(jnp.where(bad, jnp.nan, o) for o in obs_new)
        return (state, bad, dead_at), rec

    init = (state, jnp.array(False), jnp.array(-1, jnp.int32))
    (final, dead, dead_at), recs = jax.lax.scan(body, init, jnp.arange(steps, dtype=jnp.int32))
    recs = tuple(jnp.concatenate([o[None], r], axis=0) for o, r in zip(first, recs))
    return recs, dead, dead_at, final
