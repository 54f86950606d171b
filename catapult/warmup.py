"""The warmup model of Sec. 2.1: a two-layer linear network on one sample.

    f = n^{-1/2} vᵀu x,   x = 1, y = 0,   L = f²/2,   u, v ∈ Rⁿ with N(0, 1) entries.

Gradient descent (eq. 4) updates u and v simultaneously. The curvature is the NTK
λ = (‖u‖² + ‖v‖²)/n (eq. 5), and (f, λ) obey the exact closed updates (eqs. 6-7)

    f′ = (1 − ηλ + η²f²/n) f,      λ′ = λ + (ηf²/n)(ηλ − 4).

With c = ηλ0: c < 2 is the lazy phase, 2 < c < 4 the catapult phase and c > 4 the
divergent phase (η_crit = 2/λ0, η_max = 4/λ0).

Everything that iterates is a ``lax.scan`` under ``jit``; sweeps over learning rates,
widths and seeds flatten their batch and ``vmap`` it, so one sweep is one program.
Runs that blow up are frozen at their last finite state and flagged as divergent.
"""

from __future__ import annotations

import math
from functools import partial
from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from . import fits, precision
from ._checks import positive_array, positive_float, positive_int
from .loop import scan_frozen

__all__ = [
    "PHASES",
    "C_CRIT",
    "C_MAX",
    "Init",
    "Trajectory",
    "sample_init",
    "init_params",
    "output",
    "curvature",
    "loss",
    "correlation",
    "exact_step",
    "gd_step",
    "simulate",
    "ParamTrajectory",
    "simulate_gd",
    "predicted_phase",
    "first_true",
    "classify",
    "steps_to_converge",
    "steps_until_flat",
    "peak_loss",
    "lazy_shift",
    "duration_slope_per_decade",
    "catapult_duration",
    "LIMIT_MAX_C",
    "limit_final_curvature",
    "draw_init",
    "Endpoints",
    "endpoints",
    "moved_boundary",
    "bisect_c",
    "lr_sweep",
    "WidthSweep",
    "width_sweep",
    "CriticalSweep",
    "critical_sweep",
    "critical_exponent_estimate",
    "subspace_init",
    "subspace_coords",
    "slice_loss",
    "max_relative_deviation",
    "at_time",
    "boundaries",
    "compare_with_gd",
    "explorer_reference",
]


#: Names of the phases a run can end in; ``classify`` returns indices into this tuple.
PHASES = ("lazy", "catapult", "divergent", "unconverged")
LAZY, CATAPULT, DIVERGENT, UNCONVERGED = range(4)

#: η_crit·λ0 and η_max·λ0 for the warmup model (Sec. 2.1).
C_CRIT = 2.0
C_MAX = 4.0


class Init(NamedTuple):
    """Initial output f0 and curvature λ0; arrays of any (matching) shape."""

    f0: jax.Array
    lam0: jax.Array


class Trajectory(NamedTuple):
    """f_t and λ_t for t = 0..T along the last axis; batch axes in front.

    After a run diverges (a non-finite value appears) its entries are NaN and
    ``diverged`` is True; ``diverged_at`` is the first step that was non-finite (-1 if none).
    """

    f: np.ndarray
    lam: np.ndarray
    diverged: np.ndarray
    diverged_at: np.ndarray

    @property
    def loss(self) -> np.ndarray:
        """L_t = f_t²/2 (NaN after divergence)."""
        return 0.5 * np.asarray(self.f, dtype=float) ** 2

    @property
    def steps(self) -> int:
        return self.f.shape[-1] - 1


# --------------------------------------------------------------------------- init


def sample_init(key: jax.Array, n, shape: tuple[int, ...] = (), dtype=jnp.float32) -> Init:
    """Draw (f0, λ0) exactly as u, v ~ N(0, I_n) would give them, at O(1) cost in n.

    With s = u + v and d = u − v, P = ‖s‖²/2 and Q = ‖d‖²/2 are independent χ²_n, and
    λ0 = (P + Q)/n, f0 = (P − Q)/(2√n). ``n`` may be an array broadcastable to ``shape``.
    The draw is :func:`draw_init` (numpy, float64) seeded by the key's bits, returned as jax
    arrays of ``dtype``: XLA's gamma sampler would cost seconds of compilation per new shape.
    """
    positive_array("width n", n)
    seed = tuple(int(k) for k in np.asarray(jax.random.key_data(key)).ravel())
    init = draw_init(seed, n, tuple(shape))
    return Init(f0=jnp.asarray(init.f0, dtype), lam0=jnp.asarray(init.lam0, dtype))


def init_params(key: jax.Array, n: int, dtype=jnp.float32) -> tuple[jax.Array, jax.Array]:
    """u, v ∈ Rⁿ with independent N(0, 1) entries (the paper's initialization)."""
    n = positive_int("width n", n)
    ku, kv = jax.random.split(key)
    return jax.random.normal(ku, (n,), dtype), jax.random.normal(kv, (n,), dtype)


def output(u: jax.Array, v: jax.Array) -> jax.Array:
    """f = n^{-1/2} vᵀu (x = 1)."""
    return jnp.dot(v, u) / jnp.sqrt(u.shape[-1])


def curvature(u: jax.Array, v: jax.Array) -> jax.Array:
    """λ = Θ(1, 1) = (‖u‖² + ‖v‖²)/n (eq. 5)."""
    return (jnp.sum(u**2) + jnp.sum(v**2)) / u.shape[-1]


def loss(u: jax.Array, v: jax.Array) -> jax.Array:
    """L = (f − y)²/2 with y = 0."""
    return 0.5 * output(u, v) ** 2


def correlation(u: jax.Array, v: jax.Array) -> jax.Array:
    """uᵀv/(‖u‖‖v‖), the horizontal axis of Fig. S1(e)."""
    return jnp.dot(u, v) / jnp.sqrt(jnp.sum(u**2) * jnp.sum(v**2))


# ----------------------------------------------------------------- the dynamics


def exact_step(f: jax.Array, lam: jax.Array, eta, n) -> tuple[jax.Array, jax.Array]:
    """One step of eqs. (6)-(7): the exact update of (f, λ) under gradient descent."""
    f_next = (1.0 - eta * lam + eta**2 * f**2 / n) * f
    lam_next = lam + (eta * f**2 / n) * (eta * lam - 4.0)
    return f_next, lam_next


def gd_step(u: jax.Array, v: jax.Array, eta) -> tuple[jax.Array, jax.Array]:
    """One step of eq. (4), gradient descent on (u, v), with the gradient from autodiff."""
    gu, gv = jax.grad(loss, argnums=(0, 1))(u, v)
    return u - eta * gu, v - eta * gv


def _run_exact(f0, lam0, eta, n, steps: int):
    def observe(s):
        f, lam = s
        return (f, lam, f**2)  # f² is observed so that an overflowing loss counts as divergence

    (f, lam, _), dead, dead_at, _ = scan_frozen(
        lambda s, t: exact_step(s[0], s[1], eta, n), (f0, lam0), observe, steps
    )
    return f, lam, dead, dead_at


@partial(jax.jit, static_argnames="steps")
def _run_exact_batch(f0, lam0, eta, n, steps: int):
    return jax.vmap(_run_exact, in_axes=(0, 0, 0, 0, None))(f0, lam0, eta, n, steps)


def _batched(*arrays):
    shape = np.broadcast_shapes(*(np.shape(a) for a in arrays))
    flat = [jnp.ravel(jnp.broadcast_to(jnp.asarray(a), shape)) for a in arrays]
    return shape, flat


def simulate(init: Init, eta, n, steps: int) -> Trajectory:
    """Iterate the exact dynamics (eqs. 6-7) for every combination in the batch.

    ``init.f0``, ``init.lam0``, ``eta`` and ``n`` broadcast against each other; the
    whole batch runs as one vmapped ``lax.scan`` under ``jit``. Returns a Trajectory
    with the batch shape in front of the time axis. The dtype is that of ``init``.
    """
    steps = positive_int("steps", steps)
    positive_array("learning rate eta", eta)
    positive_array("width n", n)
    dtype = jnp.result_type(init.f0)
    eta = jnp.asarray(eta, dtype)
    n = jnp.asarray(n, dtype)
    shape, (f0, lam0, eta, n) = _batched(init.f0, init.lam0, eta, n)
    f, lam, dead, dead_at = _run_exact_batch(f0, lam0, eta, n, steps)
    return Trajectory(
        f=np.asarray(f).reshape(shape + (steps + 1,)),
        lam=np.asarray(lam).reshape(shape + (steps + 1,)),
        diverged=np.asarray(dead).reshape(shape),
        diverged_at=np.asarray(dead_at).reshape(shape),
    )


def _run_gd(u0, v0, eta, steps: int):
    def observe(s):
        u, v = s
        f = output(u, v)
        return (f, curvature(u, v), f**2, u, v)

    (f, lam, _, u, v), dead, dead_at, _ = scan_frozen(
        lambda s, t: gd_step(s[0], s[1], eta), (u0, v0), observe, steps
    )
    return f, lam, u, v, dead, dead_at


@partial(jax.jit, static_argnames=("steps", "keep_params"))
def _run_gd_batch(u0, v0, etas, steps: int, keep_params: bool):
    f, lam, u, v, dead, dead_at = jax.vmap(_run_gd, in_axes=(None, None, 0, None))(u0, v0, etas, steps)
    if not keep_params:
        u = v = None
    return f, lam, u, v, dead, dead_at


class ParamTrajectory(NamedTuple):
    """A parameter-space GD run: the Trajectory of (f, λ) and the parameters u_t, v_t."""

    traj: Trajectory
    u: np.ndarray | None
    v: np.ndarray | None


def simulate_gd(u0: jax.Array, v0: jax.Array, etas, steps: int, keep_params: bool = False) -> ParamTrajectory:
    """Explicit gradient descent on (u, v) (eq. 4) from one init, for each learning rate.

    The learning-rate axis is vmapped; with ``keep_params`` the parameters at every
    step are returned too (memory ∝ len(etas)·steps·n, so only for small n).
    """
    steps = positive_int("steps", steps)
    etas = positive_array("learning rate eta", etas)
    dtype = jnp.result_type(u0)
    f, lam, u, v, dead, dead_at = _run_gd_batch(u0, v0, jnp.asarray(etas, dtype), steps, keep_params)
    traj = Trajectory(np.asarray(f), np.asarray(lam), np.asarray(dead), np.asarray(dead_at))
    return ParamTrajectory(traj, None if u is None else np.asarray(u), None if v is None else np.asarray(v))


# --------------------------------------------------------- phases and measurements


def predicted_phase(c) -> np.ndarray:
    """Theory's phase for c = ηλ0: lazy below 2, catapult in (2, 4), divergent above 4."""
    c = np.asarray(c, dtype=float)
    return np.where(c < C_CRIT, LAZY, np.where(c < C_MAX, CATAPULT, DIVERGENT))


def first_true(mask: np.ndarray) -> np.ndarray:
    """Index of the first True along the last axis, -1 where there is none."""
    mask = np.asarray(mask, dtype=bool)
    idx = np.argmax(mask, axis=-1)
    return np.where(mask.any(axis=-1), idx, -1)


def classify(traj: Trajectory, tol: float = 1e-6) -> np.ndarray:
    """Measured phase of each run (an index into PHASES).

    divergent: a non-finite value appeared; unconverged: L_T ≥ ``tol``; catapult: converged
    after the loss rose above L_0 at some step; lazy: converged with the loss never above L_0.
    """
    loss = traj.loss
    converged = loss[..., -1] < tol
    rose = np.nanmax(loss[..., 1:], axis=-1) > loss[..., 0]
    phase = np.where(rose, CATAPULT, LAZY)
    phase = np.where(converged, phase, UNCONVERGED)
    return np.where(traj.diverged, DIVERGENT, phase)


def steps_to_converge(traj: Trajectory, tol: float = 1e-6) -> np.ndarray:
    """First step t with L_t < tol (-1 if never)."""
    return first_true(traj.loss < tol)


def steps_until_flat(traj: Trajectory, eta) -> np.ndarray:
    """First step t with η λ_t < 2, i.e. when the curvature has fallen below 2/η (-1 if never)."""
    eta = np.asarray(eta, dtype=float)[..., None]
    return first_true(eta * traj.lam < C_CRIT)


def peak_loss(traj: Trajectory) -> np.ndarray:
    """max_t L_t (NaN-aware, so it is the last finite peak for a divergent run)."""
    return np.nanmax(traj.loss, axis=-1)


def lazy_shift(init: Init, eta, n) -> np.ndarray:
    """Leading-order kernel change in the lazy phase (derived from eqs. 6-7):

    λ_∞ − λ0 ≈ −f0² (4 − ηλ0) / (n λ0 (2 − ηλ0)),  valid for ηλ0 < 2, O(1/n).
    """
    f0, lam0 = (np.asarray(x, dtype=float) for x in init)
    c = np.asarray(eta, dtype=float) * lam0
    return -(f0**2) * (4.0 - c) / (np.asarray(n, dtype=float) * lam0 * (2.0 - c))


def duration_slope_per_decade(c: float) -> float:
    """Predicted growth of the catapult's duration per decade of width: ln 10 / (2 ln(c − 1)).

    |f| grows like |1 − c|^t until f² ~ n, which takes ln n / (2 ln(c − 1)) steps.
    """
    c = positive_float("c = eta * lambda0", c)
    if not C_CRIT < c < C_MAX:
        raise ValueError(f"the duration law holds in the catapult phase 2 < c < 4, got c = {c}.")
    return float(np.log(10.0) / (2.0 * np.log(c - 1.0)))


def catapult_duration(key: jax.Array, n: int, cs, seeds: int = 64, steps: int = 2_000) -> np.ndarray:
    """Median over ``seeds`` initializations of width ``n`` of the steps until η·λ_t < 2, per
    c = η·λ0 in ``cs`` (Sec. 2.1: about ln n / (2 ln(c − 1)) steps, longer near η_crit)."""
    cs = positive_array("c = eta * lambda0", cs)
    if np.any(cs <= C_CRIT) or np.any(cs >= C_MAX):
        raise ValueError(f"the catapult's duration is defined in the catapult phase 2 < c < 4, got {cs.tolist()}.")
    init = sample_init(key, n, (positive_int("seeds", seeds), 1), dtype=jnp.float64 if jax.config.jax_enable_x64
                       else jnp.float32)
    etas = cs[None, :] / np.asarray(init.lam0, dtype=float)
    flat = steps_until_flat(simulate(init, etas, n, steps), etas).astype(float)
    flat[flat < 0] = np.inf  # never flattened within ``steps``
    return np.median(flat, axis=0)


#: Largest c = η·λ0 at which η·λ_final has a width-independent limit: beyond about 2.8 the
#: catapult's second bounces make it depend on h0 (on the seed) by more than 0.01.
LIMIT_MAX_C = 2.8


def limit_final_curvature(c, h0: float = 1e-9, max_steps: int = 200_000) -> np.ndarray:
    """η·λ_final as n → ∞ in the catapult phase (Sec. 2.1; eqs. 6–7 in width-free form).

    With h = ηf/√n and κ = ηλ, eqs. 6–7 read h′ = (1 − κ + h²) h, κ′ = κ + h²(κ − 4): the width
    enters only through h0 = ηf0/√n, which vanishes as n grows. Iterating from a tiny h0 in
    float64 until |h| < 1e-20 (after which κ moves by less than 1e-37) gives the limit (1.770 at c = 2.2, 1.282 at 2.5; it tends to
    4 − c as c → 2⁺). Defined for 2 < c ≤ :data:`LIMIT_MAX_C`.
    """
    c = positive_array("c = eta * lambda0", c).astype(float)
    if np.any(c <= C_CRIT) or np.any(c > LIMIT_MAX_C):
        raise ValueError(f"the limit of eta*lambda_final is defined for {C_CRIT} < c <= {LIMIT_MAX_C} "
                         f"(catapult phase, before the chaotic bounces); got c = {c.tolist()}.")
    if not 1e-15 <= h0 <= 1e-3:
        raise ValueError(f"h0 = eta*f0/sqrt(n) stands for a very wide network: 1e-15 <= h0 <= 1e-3, got {h0}.")
    kappa, h = c.copy(), np.full_like(c, float(h0))
    for _ in range(max_steps):
        h, kappa = (1.0 - kappa + h * h) * h, kappa + h * h * (kappa - 4.0)
        if np.all(np.abs(h) < 1e-20):
            return kappa
    raise RuntimeError(f"eqs. 6-7 did not converge within {max_steps} steps from h0 = {h0}.")


# ------------------------------------------- many cheap runs: numpy float64, width-free form


def draw_init(seed: int | tuple[int, ...], n, shape: tuple[int, ...]) -> Init:
    """(f0, λ0) of ``shape`` independent inits at width(s) ``n`` (broadcast), in numpy float64.

    The same exact sampling as :func:`sample_init` (P, Q ~ χ²_n: λ0 = (P + Q)/n,
    f0 = (P − Q)/(2√n)), drawn with numpy's generator for ``seed`` (an int or a tuple of ints,
    e.g. (seed, experiment)): no compilation, so it suits many small multi-seed experiments.
    """
    positive_array("width n", n)
    n = np.broadcast_to(np.asarray(n, dtype=float), shape)
    rng = np.random.default_rng([int(k) for k in np.atleast_1d(seed)])
    p, q = rng.chisquare(n), rng.chisquare(n)
    return Init(f0=(p - q) / (2.0 * np.sqrt(n)), lam0=(p + q) / n)


class Endpoints(NamedTuple):
    """Where runs of eqs. 6-7 end (:func:`endpoints`); every field has the batch shape."""

    eta: np.ndarray  # learning rate c/λ0
    lam_final: np.ndarray  # λ at the last step iterated
    lam_shift: np.ndarray  # λ_final − λ0, summed on its own so that O(1/n) shifts keep full precision
    loss_final: np.ndarray  # L at the last step iterated
    peak_loss: np.ndarray  # max_t L_t
    converged_at: np.ndarray  # first step with L < tol while f contracts (-1 if none)
    diverged: np.ndarray  # |f| blew up (the run is frozen at its last finite state)

    @property
    def converged(self) -> np.ndarray:
        return self.converged_at >= 0


#: A run whose |h| = η|f|/√n exceeds this has diverged (κ = ηλ then grows without bound).
_H_BLOWN = 1e6
#: When this few runs are left, :func:`endpoints` finishes them one by one in plain Python floats
#: (the same float64 arithmetic, ~30x cheaper per step than numpy on tiny arrays).
_SCALAR_TAIL = 8


def _step_scalar(h: float, d: float, c: float) -> tuple[float, float]:
    return (1.0 - c - d + h * h) * h, d + h * h * (c + d - 4.0)


def endpoints(init: Init, c, n, max_steps: int, tol: float = 1e-6, settle: bool = False) -> Endpoints:
    """Iterate eqs. 6-7 in float64 from ``init`` at η = c/λ0 for every run of the batch.

    Uses the width-free form h = ηf/√n, κ = ηλ (h′ = (1 − κ + h²)h, κ′ = κ + h²(κ − 4), exact),
    with κ − c carried as its own variable so that a lazy shift of O(1/n) is not lost to rounding.
    A run has converged at the first step where L < ``tol`` and the next step shrinks f
    (|1 − ηλ + η²f²/n| < 1: a catapult run that starts with a tiny loss has not). It stops once it
    has diverged or converged or, with ``settle``, once h² < 1e-16·|κ − c|, when the rest of its
    kernel shift is below float64 resolution. Only the runs still going are iterated (the last few
    one by one), so the long tail of slow runs near ηλ = 2 costs little even with a large
    ``max_steps``. ``init``, ``c`` and ``n`` broadcast.
    """
    max_steps = positive_int("max_steps", max_steps)
    positive_float("tol", tol)
    c = positive_array("c = eta * lambda0", c)
    positive_array("width n", n)
    f0, lam0, c, n = np.broadcast_arrays(*(np.asarray(x, dtype=float) for x in (init.f0, init.lam0, c, n)))
    eta = c / lam0
    h = (eta * f0 / np.sqrt(n)).ravel()
    d = np.zeros_like(h)
    cf = c.ravel()
    hh_tol = (2.0 * tol * eta**2 / n).ravel()  # L < tol  <=>  h² < 2 tol η²/n
    peak = h * h
    conv_at = np.where((h * h < hh_tol) & (np.abs(1.0 - cf + h * h) < 1.0), 0, -1)
    dead = np.zeros(h.shape, bool)

    def going(i: np.ndarray) -> np.ndarray:
        return i[h[i] ** 2 > 1e-16 * np.abs(d[i])] if settle else i[conv_at[i] < 0]

    idx = going(np.arange(h.size))
    t = 0
    while idx.size > _SCALAR_TAIL and t < max_steps:
        t += 1
        hi, di, ci = h[idx], d[idx], cf[idx]
        with np.errstate(over="ignore", invalid="ignore"):
            hn = (1.0 - ci - di + hi * hi) * hi
            dn = di + hi * hi * (ci + di - 4.0)
        bad = ~(np.isfinite(hn) & np.isfinite(dn) & (np.abs(hn) < _H_BLOWN))
        ok = idx[~bad]
        h[ok], d[ok] = hn[~bad], dn[~bad]
        dead[idx[bad]] = True
        hk = h[ok] ** 2
        peak[ok] = np.maximum(peak[ok], hk)
        conv_at[ok[(hk < hh_tol[ok]) & (np.abs(1.0 - cf[ok] - d[ok] + hk) < 1.0) & (conv_at[ok] < 0)]] = t
        idx = going(ok)
    for i in idx if t < max_steps else ():  # the last few runs, one at a time, same arithmetic
        hi, di, ci, tol_i, pk, at = float(h[i]), float(d[i]), float(cf[i]), float(hh_tol[i]), float(peak[i]), -1
        for s in range(t + 1, max_steps + 1):
            hn, dn = _step_scalar(hi, di, ci)
            if not (math.isfinite(hn) and math.isfinite(dn) and abs(hn) < _H_BLOWN):
                dead[i] = True
                break
            hi, di = hn, dn
            hk = hi * hi
            pk = max(pk, hk)
            if at < 0 and hk < tol_i and abs(1.0 - ci - di + hk) < 1.0:
                at = s
            if (hk <= 1e-16 * abs(di)) if settle else at >= 0:
                break
        h[i], d[i], peak[i], conv_at[i] = hi, di, pk, at if conv_at[i] < 0 else conv_at[i]
    shape = f0.shape
    eta_f = eta.ravel()
    n_f = n.ravel()
    return Endpoints(
        eta=eta,
        lam_final=((cf + d) / eta_f).reshape(shape),
        lam_shift=(d / eta_f).reshape(shape),
        loss_final=(n_f * h * h / (2.0 * eta_f**2)).reshape(shape),
        peak_loss=(n_f * peak / (2.0 * eta_f**2)).reshape(shape),
        converged_at=conv_at.reshape(shape),
        diverged=dead.reshape(shape),
    )


def moved_boundary(cs, moved) -> float:
    """The smallest c = ηλ0 of a sweep whose curvature moved (NaN if none): the measured η_crit·λ0
    that assumes nothing about where it lies."""
    cs = np.asarray(cs, dtype=float)
    moved = np.asarray(moved, dtype=bool)
    return float(cs[moved].min()) if moved.any() else float("nan")


def bisect_c(init: Init, n, lo: float, hi: float, beyond: Callable[[Init, Endpoints], np.ndarray], max_steps: int,
             tol: float = 1e-6, settle: bool = False, iters: int = 20) -> np.ndarray:
    """Per init, where ``beyond(init, endpoints)`` turns from False to True as c = ηλ0 grows in
    [``lo``, ``hi``]: bisection, ``iters`` halvings of the bracket (so the threshold within
    (hi − lo)/2^iters, no grid), every init of the batch at once (:func:`endpoints` with
    ``max_steps``, ``tol`` and ``settle``). Returns the midpoint of each final bracket; NaN where
    [lo, hi] does not bracket the switch (``beyond`` already true at lo or still false at hi)."""
    shape = np.broadcast_shapes(np.shape(init.f0), np.shape(n))
    a, b = np.full(shape, float(lo)), np.full(shape, float(hi))
    ok = ~beyond(init, endpoints(init, a, n, max_steps, tol, settle)) & beyond(init, endpoints(init, b, n, max_steps,
                                                                                              tol, settle))
    for _ in range(int(iters)):
        mid = 0.5 * (a + b)
        up = beyond(init, endpoints(init, mid, n, max_steps, tol, settle))
        a, b = np.where(up, a, mid), np.where(up, mid, b)
    return np.where(ok, 0.5 * (a + b), np.nan)


# ------------------------------------------------------------------ experiments


def lr_sweep(init: Init, cs, n, steps: int) -> tuple[np.ndarray, Trajectory]:
    """Runs from one shared init at η = c/λ0 for every c in ``cs`` (Fig. 2): returns (etas, traj)."""
    cs = positive_array("c = eta * lambda0", cs)
    lam0 = float(init.lam0)
    etas = cs / lam0
    dtype = jnp.result_type(init.f0)
    batch = Init(jnp.full(cs.shape, init.f0, dtype), jnp.full(cs.shape, init.lam0, dtype))
    return etas, simulate(batch, etas.astype(np.dtype(dtype)), n, steps)


class WidthSweep(NamedTuple):
    widths: np.ndarray  # [W]
    durations: np.ndarray  # [W, S] steps until η λ_t < 2
    peak_loss: np.ndarray  # [W, S]
    loss0: np.ndarray  # [W, S]
    converged: np.ndarray  # [W, S] bool
    fit: fits.LineFit  # median duration ≈ intercept + slope · ln n

    @property
    def median_duration(self) -> np.ndarray:
        return np.median(self.durations, axis=1)


def width_sweep(key: jax.Array, widths, seeds: int, c: float, steps: int, tol: float = 1e-6) -> WidthSweep:
    """Catapult runs at fixed c = ηλ0 for every width × seed, as one vmapped program.

    Measures the steps until λ falls below 2/η and the loss peak, and fits the median
    duration against ln n (the catapult lasts O(log n) steps, Sec. 2.1).
    """
    widths = positive_array("widths", widths)
    seeds = positive_int("seeds", seeds)
    positive_float("c = eta * lambda0", c)
    shape = (widths.size, seeds)
    n = np.broadcast_to(widths[:, None], shape)
    init = sample_init(key, n, shape)
    eta = c / np.asarray(init.lam0, dtype=float)
    traj = simulate(init, eta.astype(np.float32), n, steps)
    dur = steps_until_flat(traj, eta).astype(float)
    dur[dur < 0] = np.nan
    med = np.median(dur, axis=1)
    return WidthSweep(
        widths=widths,
        durations=dur,
        peak_loss=peak_loss(traj),
        loss0=traj.loss[..., 0],
        converged=traj.loss[..., -1] < tol,
        fit=fits.line(np.log(widths), med),
    )


class CriticalSweep(NamedTuple):
    eps: np.ndarray  # [E] |c − 2|
    steps_below: np.ndarray  # [E, S] steps to converge at c = 2 − ε (NaN if not within budget)
    steps_above: np.ndarray  # [E, S] same at c = 2 + ε
    fit_below: fits.LineFit  # ln T ≈ intercept + slope · ln ε for the median T
    fit_above: fits.LineFit

    @property
    def median_below(self) -> np.ndarray:
        return np.median(self.steps_below, axis=1)

    @property
    def median_above(self) -> np.ndarray:
        return np.median(self.steps_above, axis=1)


def critical_sweep(key: jax.Array, n: int, eps, seeds: int, steps: int, tol: float = 1e-6) -> CriticalSweep:
    """Steps to convergence at c = 2 ± ε for every ε × seed (Fig. S12), one vmapped program.

    The paper finds T ∝ |η − η_crit|^{-1} on both sides of η_crit (App. E).
    """
    n = positive_int("width n", n)
    eps = positive_array("eps = |c - 2|", eps)
    if np.any(eps >= C_CRIT):
        raise ValueError("eps = |c - 2| must be below 2 so that c = 2 - eps stays positive.")
    seeds = positive_int("seeds", seeds)
    shape = (2, eps.size, seeds)
    init = sample_init(key, n, (seeds,))
    f0 = jnp.broadcast_to(init.f0, shape)
    lam0 = jnp.broadcast_to(init.lam0, shape)
    c = np.stack([C_CRIT - eps, C_CRIT + eps])[:, :, None]
    eta = (c / np.asarray(init.lam0, dtype=float)).astype(np.float32)
    traj = simulate(Init(f0, lam0), eta, n, steps)
    t = steps_to_converge(traj, tol).astype(float)
    t[(t < 0) | traj.diverged] = np.nan
    below, above = t[0], t[1]
    return CriticalSweep(
        eps=eps,
        steps_below=below,
        steps_above=above,
        fit_below=fits.power_law(eps, np.median(below, axis=1)),
        fit_above=fits.power_law(eps, np.median(above, axis=1)),
    )


#: Median of f0² for f0 ~ N(0, 1) (the median of χ²_1).
MEDIAN_F0_SQ = 0.4549364231195724


def critical_exponent_estimate(n, eps, tol: float, f0_sq: float = MEDIAN_F0_SQ) -> float:
    """The effective exponent p of T ∝ ε^p above η_crit at width n (App. E; derived from eqs. 6-7).

    At c = 2 + ε, |f| grows by 1 + ε per step until f² ~ nε² (enough to pull ηλ down by 2ε), about
    ln(nε²/f0²)/(2ε) steps; the catapult leaves ηλ ≈ 2 − ε, where f shrinks by 1 − ε per step down
    to L = tol, about ln(nε²/(2 tol))/(2ε) steps. So d ln T/d ln ε = −1 + 4/(ln(nε²/f0²) + ln(nε²/(2 tol))),
    evaluated here at the geometric middle of ``eps``: −1 + O(1/ln n), about −0.8 at n = 16,000.
    """
    positive_array("width n", n)
    eps = positive_array("eps = |c - 2|", eps)
    positive_float("tol", tol)
    mid = float(np.exp(np.mean(np.log(eps))))
    logs = np.log(np.asarray(n, dtype=float) * mid**2 / f0_sq) + np.log(np.asarray(n, dtype=float) * mid**2 / (2 * tol))
    return float(-1.0 + 4.0 / logs)


# ------------------------------------------------ Fig. S1: the two-dimensional slice


def subspace_init(n: int, lam0: float, f0: float, dtype=jnp.float32) -> tuple[jax.Array, jax.Array]:
    """u = a ê1 + b ê2, v = a ê1 − b ê2 with λ = 2(a² + b²)/n = λ0 and f = (a² − b²)/√n = f0.

    GD preserves this slice (a′ = a(1 − ηf/√n), b′ = b(1 + ηf/√n)), which is why the
    loss landscape of Fig. S1 can be drawn in two dimensions.
    """
    n = positive_int("width n", n)
    lam0 = positive_float("lambda0", lam0)
    if n < 2:
        raise ValueError("the Fig. S1 slice needs width n >= 2.")
    a2 = (n * lam0 / 2.0 + np.sqrt(n) * f0) / 2.0
    b2 = (n * lam0 / 2.0 - np.sqrt(n) * f0) / 2.0
    if b2 <= 0 or a2 <= 0:
        raise ValueError(f"|f0| must be below sqrt(n)·lambda0/2 = {np.sqrt(n) * lam0 / 2:.3g} for this slice.")
    u = jnp.zeros(n, dtype).at[0].set(np.sqrt(a2)).at[1].set(np.sqrt(b2))
    v = jnp.zeros(n, dtype).at[0].set(np.sqrt(a2)).at[1].set(-np.sqrt(b2))
    return u, v


def subspace_coords(u: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(a, b) of parameters in the Fig. S1 slice, and how far (u, v) has left it (max abs).

    Works on any leading batch/time axes; the last axis is the width.
    """
    u = np.asarray(u)
    v = np.asarray(v)
    a, b = u[..., 0], u[..., 1]
    off = np.maximum(np.abs(u[..., 2:]).max(axis=-1, initial=0.0), np.abs(v[..., 2:]).max(axis=-1, initial=0.0))
    off = np.maximum(off, np.maximum(np.abs(v[..., 0] - a), np.abs(v[..., 1] + b)))
    return a, b, off


def slice_loss(a: np.ndarray, b: np.ndarray, n: int) -> np.ndarray:
    """Loss on the Fig. S1 slice: L(a, b) = (a² − b²)²/(2n)."""
    return (np.asarray(a) ** 2 - np.asarray(b) ** 2) ** 2 / (2.0 * n)


def max_relative_deviation(exact: Trajectory, gd: Trajectory, f_cap: float = 1e6) -> float:
    """max_t |Δf|/max_t|f| and |Δλ|/λ0 between two runs, over the steps where |f| < ``f_cap``.

    Normalising by the run's own scale (not by f_t, which passes through 0) makes this a
    fair float-tolerance comparison of the closed form with explicit gradient descent.
    """
    fe, fg = np.asarray(exact.f, float), np.asarray(gd.f, float)
    le, lg = np.asarray(exact.lam, float), np.asarray(gd.lam, float)
    ok = np.isfinite(fg) & np.isfinite(fe) & (np.abs(fg) < f_cap)
    scale_f = np.nanmax(np.where(ok, np.abs(fg), np.nan), axis=-1, keepdims=True)
    df = np.where(ok, np.abs(fe - fg) / scale_f, 0.0)
    dl = np.where(ok, np.abs(le - lg) / np.abs(lg[..., :1]), 0.0)
    return float(max(df.max(), dl.max()))


def at_time(x: np.ndarray, eta, time: float) -> np.ndarray:
    """x_t at physical time t·η = ``time`` for each run (t rounded; NaN past the recorded steps)."""
    x = np.asarray(x, dtype=float)
    t = np.rint(time / np.asarray(eta, dtype=float)).astype(int)
    inside = t <= x.shape[-1] - 1
    vals = np.take_along_axis(x, np.minimum(t, x.shape[-1] - 1)[..., None], axis=-1)[..., 0]
    return np.where(inside, vals, np.nan)


def boundaries(cs, phases) -> tuple[float, float]:
    """The smallest c whose run catapulted or diverged, and the smallest c that diverged.

    These are the measured η_crit·λ0 and η_max·λ0 of a sweep over c (NaN if none).
    """
    cs = np.asarray(cs, dtype=float)
    phases = np.asarray(phases)
    above_lazy = (phases == CATAPULT) | (phases == DIVERGENT) | ((phases == UNCONVERGED) & (cs > C_CRIT))
    crit = cs[above_lazy].min() if above_lazy.any() else np.nan
    div = cs[phases == DIVERGENT].min() if (phases == DIVERGENT).any() else np.nan
    return float(crit), float(div)


def compare_with_gd(key: jax.Array, n: int, cs, steps: int, f_cap: float = 1e6,
                    linearized: bool = False) -> tuple[Init, np.ndarray]:
    """Run eqs. 6-7 and explicit GD on (u, v) from one float64 init, for each c = ηλ0.

    Returns the init and the max relative deviation (see ``max_relative_deviation``) per c. With
    ``linearized``, eqs. 6-7 lose their 1/n terms (the kernel frozen at λ0: the linearized model),
    the control that departs from GD once the kernel moves.
    """
    cs = positive_array("c = eta * lambda0", cs)
    with precision.float64():
        u, v = init_params(key, n, jnp.float64)
        init = Init(output(u, v), curvature(u, v))
        etas = cs / float(init.lam0)
        gd = simulate_gd(u, v, etas, steps).traj
        batch = Init(jnp.full(cs.shape, init.f0), jnp.full(cs.shape, init.lam0))
        exact = simulate(batch, etas, 1e300 if linearized else n, steps)  # 1/n → 0: the kernel frozen
    dev = np.array(
        [
            max_relative_deviation(
                Trajectory(exact.f[i], exact.lam[i], exact.diverged[i], exact.diverged_at[i]),
                Trajectory(gd.f[i], gd.lam[i], gd.diverged[i], gd.diverged_at[i]),
                f_cap,
            )
            for i in range(cs.size)
        ]
    )
    return Init(float(init.f0), float(init.lam0)), dev


# ------------------------------------------- the in-page explorer of chapter 1 (reference)


def explorer_reference(settings, steps: int = 500, tol: float = 1e-6) -> list[dict]:
    """What the chapter-1 explorer (:mod:`catapult.explorer`) must show, in float64.

    ``settings`` is a sequence of (c, n, f0) with c = ηλ0; as in the explorer λ0 = 1, so η = c.
    Each run iterates eqs. 6-7 for ``steps`` steps (``simulate``) and is described by plain
    Python values: the settings, ``f`` and ``lam`` at every step (NaN after a divergence), the
    measured ``phase`` (``classify``), ``diverged_at`` (-1 if none), ``steps_to_converge``
    (first step with L < ``tol``, -1 if none) and ``peak_loss`` (over the finite steps).
    """
    steps = positive_int("steps", steps)
    settings = [(float(c), float(n), float(f0)) for c, n, f0 in settings]
    if not settings:
        return []
    cs, ns, f0s = (np.array(col, dtype=np.float64) for col in zip(*settings))
    positive_array("c = eta * lambda0", cs)
    with precision.float64():
        init = Init(jnp.asarray(f0s, jnp.float64), jnp.ones_like(jnp.asarray(f0s, jnp.float64)))
        traj = simulate(init, cs, ns, steps)
    phases = classify(traj, tol)
    converge = steps_to_converge(traj, tol)
    peaks = peak_loss(traj)
    return [
        {
            "c": cs[i].item(),
            "n": ns[i].item(),
            "f0": f0s[i].item(),
            "lam0": 1.0,
            "eta": cs[i].item(),
            "steps": steps,
            "f": traj.f[i].astype(float).tolist(),
            "lam": traj.lam[i].astype(float).tolist(),
            "phase": PHASES[int(phases[i])],
            "diverged_at": int(traj.diverged_at[i]),
            "steps_to_converge": int(converge[i]),
            "peak_loss": float(peaks[i]),
        }
        for i in range(len(settings))
    ]
