"""The simple ReLU model of App. C.1 / Fig. S7 (arXiv 2003.02218): two ReLU hidden layers
trained on one sample, x = 1, y = 1, where the paper finds training up to η ≈ 12/λ0.

The model, in NTK parameterization (all weights N(0, 1), a 1/√fan-in factor per layer, no
biases), for a scalar input x:

    h1 = u x,  a1 = σ(h1);   h2 = W a1 / √n,  a2 = σ(h2);   f = vᵀ a2 / √n,

with u, v ∈ Rⁿ, W ∈ Rⁿˣⁿ and σ = ReLU (or the identity, the linear control). The loss of the
one sample is L = (f − y)²/2 and full-batch gradient descent is θ′ = θ − η (f − y) ∂f/∂θ. With
one sample the NTK is a single number, λ = ‖∂f/∂θ‖² (Sec. 2.1, eq. 5's analogue), so
η_crit = 2/λ0 as in the warmup model. Backpropagation in closed form:

    ∂f/∂v = a2/√n,   δ2 = σ′(h2) ⊙ v/√n,   ∂f/∂W = δ2 a1ᵀ/√n,   δ1 = σ′(h1) ⊙ Wᵀδ2/√n,   ∂f/∂u = δ1 x,
    λ = ‖a2‖²/n + ‖δ2‖² ‖a1‖²/n + x² ‖δ1‖².

At infinite width with x = 1 each of the three terms is 1/4, so λ0 → 3/4 (ReLU; σ′(0) = 0).
A unit is *dead* (for this one sample) when its pre-activation is ≤ 0: it passes no signal and
gets no gradient, so once dead it stays dead unless the layer below moves it back. A run that
ends with every unit of a layer dead has f = 0 and zero gradient: the trivial solution, stuck at
L = y²/2, which App. C.1 reports beyond ~12/λ0 in place of divergence.

Everything runs in float32 (the dynamics up to |f| ~ 1e12 fit; overflow is recorded as
divergence, never raised). :func:`sweep` trains all (seed, learning rate) pairs in one
compiled program (``vmap`` over both, ``lax.scan`` over steps).
"""

from __future__ import annotations

from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

__all__ = [
    "ACTIVATIONS",
    "TRAINED",
    "TRIVIAL",
    "DIVERGED",
    "UNCONVERGED",
    "OUTCOMES",
    "Params",
    "init_params",
    "draw_params",
    "initial_ntk",
    "forward",
    "loss",
    "ntk",
    "gd_step",
    "Sweep",
    "sweep",
    "lambda_at_time",
    "largest_trainable",
]

#: The hidden-layer nonlinearities: ReLU (App. C.1) and the identity (the linear control).
ACTIVATIONS = ("relu", "linear")
#: Outcome codes of a run (:attr:`Sweep.outcome`).
TRAINED, TRIVIAL, DIVERGED, UNCONVERGED = 0, 1, 2, 3
OUTCOMES = ("trained", "trivial f = 0", "diverged", "unconverged")


class Params(NamedTuple):
    """Weights of the model (App. C.1): first layer u (n,), hidden W (n, n), readout v (n,)."""

    u: jax.Array
    w: jax.Array
    v: jax.Array


def _check_activation(activation: str) -> None:
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {ACTIVATIONS}, got {activation!r}.")


def _leak(activation: str) -> float:
    """The slope of σ below 0: 0 for ReLU, 1 for the identity (so both share one compiled program)."""
    _check_activation(activation)
    return 0.0 if activation == "relu" else 1.0


def _sigma(z: jax.Array, leak) -> tuple[jax.Array, jax.Array]:
    """σ(z) and σ′(z) for σ(z) = z (z > 0), leak·z (z ≤ 0): ReLU (σ′(0) = 0) or the identity."""
    pos = z > 0
    return jnp.where(pos, z, leak * z), jnp.where(pos, 1.0, leak).astype(z.dtype)


def init_params(key: jax.Array, width: int) -> Params:
    """All weights N(0, 1), float32 (NTK parameterization, App. C.1)."""
    if int(width) < 1:
        raise ValueError(f"width must be a positive integer, got {width!r}.")
    ku, kw, kv = jax.random.split(key, 3)
    n = int(width)
    return Params(jax.random.normal(ku, (n,)), jax.random.normal(kw, (n, n)), jax.random.normal(kv, (n,)))


def draw_params(seed: int, width: int, n_seeds: int) -> Params:
    """``n_seeds`` initializations stacked on axis 0, all weights N(0, 1), float32 (App. C.1).

    Drawn with numpy's generator (seeded by ``(seed, width)``) rather than ``jax.random``, so a
    sweep compiles no random-number program: the draws are tiny, the compile is not.
    """
    for name, value in (("width", width), ("n_seeds", n_seeds)):
        if int(value) != value or int(value) < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}.")
    if int(seed) != seed or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}.")
    rng = np.random.default_rng([int(seed), int(width)])
    n, s = int(width), int(n_seeds)
    draw = [rng.standard_normal(shape, dtype=np.float32) for shape in ((s, n), (s, n, n), (s, n))]
    return Params(*(jnp.asarray(a) for a in draw))


def initial_ntk(p: Params, activation: str = "relu") -> np.ndarray:
    """λ = ‖∂f/∂θ‖² at x = 1 of each stacked model of ``p`` (e.g. :func:`draw_params`), in numpy
    (the closed form of the module docstring; no compile), float64."""
    leak = _leak(activation)
    u, w, v = (np.asarray(a, dtype=np.float64) for a in p)
    if u.ndim != 2 or w.shape != u.shape + u.shape[-1:] or v.shape != u.shape:
        raise ValueError(f"expected stacked params (S, n), (S, n, n), (S, n), got {u.shape}, {w.shape}, {v.shape}.")
    s = np.sqrt(u.shape[-1])
    a1, d1 = np.where(u > 0, u, leak * u), np.where(u > 0, 1.0, leak)
    h2 = np.einsum("sij,sj->si", w, a1) / s
    a2, d2 = np.where(h2 > 0, h2, leak * h2), np.where(h2 > 0, 1.0, leak)
    delta2 = d2 * v / s
    delta1 = d1 * np.einsum("sij,si->sj", w, delta2) / s
    a1_sq, a2_sq = np.sum(a1**2, axis=-1), np.sum(a2**2, axis=-1)
    return a2_sq / s**2 + np.sum(delta2**2, axis=-1) * a1_sq / s**2 + np.sum(delta1**2, axis=-1)


def _pass(p: Params, x: float, leak):
    """Forward and closed-form backward pass: f, ∂f/∂θ (as Params), h1, h2."""
    n = p.u.shape[-1]
    s = jnp.sqrt(jnp.asarray(n, p.u.dtype))
    h1 = p.u * x
    a1, d1 = _sigma(h1, leak)
    h2 = p.w @ a1 / s
    a2, d2 = _sigma(h2, leak)
    f = p.v @ a2 / s
    delta2 = d2 * p.v / s
    delta1 = d1 * (p.w.T @ delta2) / s
    grad = Params(delta1 * x, jnp.outer(delta2, a1) / s, a2 / s)
    return f, grad, h1, h2


def forward(p: Params, x: float = 1.0, activation: str = "relu") -> jax.Array:
    """The output f(x) = vᵀσ(W σ(u x)/√n)/√n (App. C.1)."""
    return _pass(p, x, _leak(activation))[0]


def loss(p: Params, x: float = 1.0, y: float = 1.0, activation: str = "relu") -> jax.Array:
    """L = (f(x) − y)²/2, the MSE of the one sample."""
    return 0.5 * (forward(p, x, activation) - y) ** 2


def ntk(p: Params, x: float = 1.0, activation: str = "relu") -> jax.Array:
    """λ = ‖∂f/∂θ‖², the NTK (and the loss curvature along the gradient) of the one sample."""
    g = _pass(p, x, _leak(activation))[1]
    return jnp.sum(g.u**2) + jnp.sum(g.w**2) + jnp.sum(g.v**2)


def gd_step(p: Params, eta: float, x: float = 1.0, y: float = 1.0, activation: str = "relu") -> Params:
    """One full-batch GD step θ′ = θ − η (f − y) ∂f/∂θ, with the closed-form gradient."""
    f, g, _, _ = _pass(p, x, _leak(activation))
    return Params(*(a - eta * (f - y) * b for a, b in zip(p, g)))


class Sweep(NamedTuple):
    """A sweep over c = η·λ0 and initializations (App. C.1, Fig. S7). Leading axes (seed, c)."""

    cs: np.ndarray  # (C,) η·λ0
    lam0: np.ndarray  # (S,) λ0 of each initialization
    etas: np.ndarray  # (S, C) η = c/λ0
    f: np.ndarray  # (S, C, T+1) output per step (NaN/inf once a run overflows)
    lam: np.ndarray  # (S, C, T+1) NTK λ per step
    dead1: np.ndarray  # (S, C, T+1) fraction of first-layer units with h1 ≤ 0
    dead2: np.ndarray  # (S, C, T+1) fraction of second-layer units with h2 ≤ 0
    outcome: np.ndarray  # (S, C) TRAINED, TRIVIAL, DIVERGED or UNCONVERGED
    time: float  # physical time t·η at which λ is read (Fig. S7b: 100)
    lam_at: np.ndarray  # (S, C) λ at step round(time/η), clipped to the run's length

    @property
    def loss(self) -> np.ndarray:
        """(S, C, T+1) L = (f − 1)²/2 (y = 1)."""
        return 0.5 * (self.f - 1.0) ** 2


def _train_one(p: Params, eta: jax.Array, steps: int, leak: jax.Array):
    """One run: per-step records (f, λ, dead fractions of both layers) and whether it overflowed."""

    def record(p):
        f, g, h1, h2 = _pass(p, 1.0, leak)
        lam = jnp.sum(g.u**2) + jnp.sum(g.w**2) + jnp.sum(g.v**2)
        return f, g, (f, lam, jnp.mean(h1 <= 0), jnp.mean(h2 <= 0))

    def step(carry, _):
        p, bad = carry
        f, g, rec = record(p)
        bad = bad | ~jnp.isfinite(f) | ~jnp.isfinite(rec[1])  # overflow: recorded, never raised
        return (Params(*(a - eta * (f - 1.0) * b for a, b in zip(p, g))), bad), rec

    (p, bad), recs = jax.lax.scan(step, (p, jnp.asarray(False)), None, length=steps)
    last = record(p)[2]
    bad = bad | ~jnp.isfinite(last[0]) | ~jnp.isfinite(last[1])
    return tuple(jnp.concatenate([r, l[None]]) for r, l in zip(recs, last)), bad


@partial(jax.jit, static_argnames=("steps",))
def _run(p0: Params, cs: jax.Array, steps: int, leak: jax.Array):
    """One compiled program: the λ0 of every initialization (axis 0 of ``p0``) and every
    (seed, c) run (vmap over seeds and rates, lax.scan over steps)."""
    def lam(p: Params) -> jax.Array:
        g = _pass(p, 1.0, leak)[1]
        return jnp.sum(g.u**2) + jnp.sum(g.w**2) + jnp.sum(g.v**2)

    lam0 = jax.vmap(lam)(p0)
    etas = cs[None, :] / lam0[:, None]
    per_seed = jax.vmap(_train_one, in_axes=(None, 0, None, None))
    recs, bad = jax.vmap(per_seed, in_axes=(0, 0, None, None))(p0, etas, steps, leak)
    return lam0, etas, recs, bad


def sweep(seed: int, width: int, cs, n_seeds: int, steps: int, *, time: float = 100.0,
          activation: str = "relu", tol: float = 1e-6) -> Sweep:
    """Train ``n_seeds`` initializations for ``steps`` steps at every c = η·λ0 in ``cs``
    (App. C.1, Fig. S7), all in one compiled program (shared by both activations; the same
    ``seed`` gives the linear control the same initial weights, :func:`draw_params`).

    A run is TRAINED when its final loss < ``tol``; TRIVIAL when it ends at f = 0 with a whole
    layer dead; DIVERGED when it overflowed (or ended with |f − 1| > 1e6); else UNCONVERGED.
    λ is read at physical time ``time`` (Fig. S7b): NaN for a run shorter than that.
    """
    leak = _leak(activation)
    cs = np.asarray(cs, dtype=np.float32)
    if cs.ndim != 1 or cs.size == 0 or not np.all(np.isfinite(cs)) or np.any(cs <= 0):
        raise ValueError(f"cs must be a non-empty 1-d array of positive numbers, got {cs!r}.")
    if int(steps) != steps or int(steps) < 1:
        raise ValueError(f"steps must be a positive integer, got {steps!r}.")
    if not time > 0 or not tol > 0:
        raise ValueError(f"time and tol must be positive, got time={time!r}, tol={tol!r}.")
    p0 = draw_params(seed, width, n_seeds)  # validates seed, width, n_seeds
    lam0, etas, (f, lam, dead1, dead2), bad = jax.device_get(
        _run(p0, jnp.asarray(cs), int(steps), jnp.float32(leak)))
    f_end = f[..., -1]
    err = np.abs(f_end - 1.0)
    dead_layer = (dead1[..., -1] == 1.0) | (dead2[..., -1] == 1.0)
    outcome = np.full(f_end.shape, UNCONVERGED, dtype=np.int8)
    outcome[bad | ~np.isfinite(err) | (err > 1e6)] = DIVERGED
    outcome[~bad & (0.5 * err**2 < tol)] = TRAINED
    outcome[~bad & (f_end == 0.0) & dead_layer] = TRIVIAL
    idx = np.rint(time / etas).astype(int)
    lam_at = np.take_along_axis(lam, np.clip(idx, 0, steps)[..., None], axis=-1)[..., 0]
    lam_at = np.where(idx <= steps, lam_at, np.nan)
    return Sweep(cs, np.asarray(lam0), np.asarray(etas), f, lam, dead1, dead2, outcome, float(time), lam_at)


def lambda_at_time(s: Sweep) -> np.ndarray:
    """(S, C) η·λ at physical time ``s.time`` over η·λ0, i.e. λ_t/λ0 (Fig. S7b); NaN where diverged."""
    return np.where(s.outcome == DIVERGED, np.nan, s.lam_at / s.lam0[:, None])


def largest_trainable(cs, outcome) -> np.ndarray:
    """Per seed, the largest c of the (sorted) grid up to which *every* run trained; 0 if none did."""
    cs = np.asarray(cs, dtype=float)
    outcome = np.atleast_2d(np.asarray(outcome))
    if cs.ndim != 1 or outcome.shape[-1] != cs.size or np.any(np.diff(cs) <= 0):
        raise ValueError(f"cs must be increasing and match outcome's last axis, got {cs.shape}, {outcome.shape}.")
    ok = np.cumprod(outcome == TRAINED, axis=-1).astype(bool)
    count = ok.sum(axis=-1)
    return np.where(count > 0, cs[np.maximum(count - 1, 0)], 0.0)
