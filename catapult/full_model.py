"""The full model of Sec. 2.2 and App. D.1: a two-layer linear network on m samples.

    f(x) = n^{-1/2} vᵀ u x,   u ∈ R^{n×d},  v ∈ Rⁿ,  L = (1/2m) Σ_α (f(x_α) − y_α)²,

with the error f̃_α = f(x_α) − y_α, ζ = (1/m) Σ_α f̃_α x_α and the NTK

    Θ_αβ = (1/(nm)) (‖v‖² x_αᵀx_β + x_αᵀuᵀu x_β).

Gradient descent, u′ = u − η n^{-1/2} v ζᵀ and v′ = v − η n^{-1/2} u ζ, closes exactly on
the d×d, scalar and d-vector invariants A = uᵀu, B = ‖v‖², c = uᵀv (f = Xc/√n), so the
dynamics cost O(d²) per step at any width, as the warmup model's (f, λ) do. The error and
kernel obey eqs. 10-11 (S3-S4) and the projection S5, which this module states and checks.
"""

from __future__ import annotations

from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from ._checks import positive_array, positive_int
from .loop import scan_frozen

__all__ = [
    "Params",
    "Reduced",
    "Data",
    "Trajectory",
    "make_data",
    "init_params",
    "reduce",
    "sample_reduced",
    "output",
    "kernel",
    "loss_from_error",
    "param_output",
    "param_loss",
    "gd_step",
    "reduced_step",
    "predicted_error",
    "predicted_kernel",
    "predicted_projection",
    "equation_residuals",
    "top_eigenvalue",
    "simulate",
    "initial_top_eigvec",
    "alignment",
    "initial_curvature",
    "Sweep",
    "lr_width_sweep",
    "first_divergent",
    "divergence_threshold",
    "eigen_ratio",
    "predicted_final_top",
]


class Params(NamedTuple):
    u: jax.Array  # (n, d)
    v: jax.Array  # (n,)


class Reduced(NamedTuple):
    """The invariants GD closes on: A = uᵀu (d, d), B = ‖v‖², c = uᵀv (d,)."""

    A: jax.Array
    B: jax.Array
    c: jax.Array


class Data(NamedTuple):
    X: jax.Array  # (m, d) inputs, rows x_α
    y: jax.Array  # (m,) labels


class Trajectory(NamedTuple):
    """Per step t = 0..T (last axis / second-to-last for vectors), batch axes in front."""

    loss: np.ndarray  # (..., T+1)
    lam: np.ndarray  # (..., T+1) top eigenvalue of Θ_t
    error: np.ndarray  # (..., T+1, m) f̃_t
    diverged: np.ndarray  # (...)
    theta_final: np.ndarray | None = None  # (..., m, m) Θ at the last step (NaN if diverged)

    @property
    def steps(self) -> int:
        return self.loss.shape[-1] - 1


# --------------------------------------------------------------------- setup


def make_data(key: jax.Array, m: int, d: int, dtype=jnp.float32, gap: float | None = None) -> Data:
    """m inputs x ~ N(0, I_d/d) (so ‖x‖ ≈ 1) with random labels y ~ N(0, 1); needs m ≤ d.

    With ``gap``, the inputs' spectrum is set so that λ2/λ1 of XXᵀ (the ratio r of Θ0's top two
    eigenvalues at infinite width, :func:`eigen_ratio`) is exactly ``gap``: X = U S Vᵀ keeps its
    random singular vectors and its top singular value, and the others are scaled together until the
    second is √gap times the first. Random inputs put r anywhere from about 0.6 to 0.98 at m = 8,
    d = 40; Sec. 2.2's picture (only e0 unstable for 2 < ηλ0 < 2/r) needs a gap at every draw."""
    m, d = positive_int("samples m", m), positive_int("input dimension d", d)
    if m > d:
        raise ValueError(f"the full model reaches zero loss only if m <= d; got m = {m} > d = {d}.")
    kx, ky = jax.random.split(key)
    x = jax.random.normal(kx, (m, d), dtype) / jnp.sqrt(d)
    if gap is not None:
        if not 0.0 < gap < 1.0 or m < 2:
            raise ValueError(f"gap = λ2/λ1 must lie in (0, 1) with m >= 2 samples, got {gap} with m = {m}.")
        u, sv, vt = jnp.linalg.svd(x, full_matrices=False)
        sv = sv.at[1:].multiply(jnp.sqrt(gap) * sv[0] / sv[1])
        x = (u * sv) @ vt
    return Data(x, jax.random.normal(ky, (m,), dtype))


def init_params(key: jax.Array, n: int, d: int, dtype=jnp.float32) -> Params:
    """u, v with independent N(0, 1) entries."""
    n, d = positive_int("width n", n), positive_int("input dimension d", d)
    ku, kv = jax.random.split(key)
    return Params(jax.random.normal(ku, (n, d), dtype), jax.random.normal(kv, (n,), dtype))


def reduce(params: Params) -> Reduced:
    u, v = params
    return Reduced(u.T @ u, v @ v, u.T @ v)


def sample_reduced(key: jax.Array, n, d: int, shape: tuple[int, ...] = (), dtype=jnp.float32) -> Reduced:
    """Draw (A, B, c) exactly as N(0, 1) weights of width n would give them, at O(d²) cost.

    G = [u v]ᵀ[u v] is Wishart W_{d+1}(n, I); Bartlett's decomposition G = L Lᵀ has
    L_ii² ~ χ²_{n−i} (i = 0..d) and standard normal entries below the diagonal.
    ``n`` may be an array broadcastable to ``shape`` (so widths can be swept in one batch).
    """
    d = positive_int("input dimension d", d)
    n = jnp.broadcast_to(jnp.asarray(positive_array("width n", n).reshape(np.shape(n)), dtype), shape)
    if float(jnp.min(n)) < d + 1:
        raise ValueError(f"width n must be at least d + 1 = {d + 1} to sample the invariants.")
    p = d + 1
    kd, ko = jax.random.split(key)
    dof = n[..., None] - jnp.arange(p, dtype=dtype)
    diag = jnp.sqrt(2.0 * jax.random.gamma(kd, dof / 2.0, shape=shape + (p,), dtype=dtype))
    low = jnp.tril(jax.random.normal(ko, shape + (p, p), dtype), k=-1)
    L = low + diag[..., None] * jnp.eye(p, dtype=dtype)
    G = L @ jnp.swapaxes(L, -1, -2)
    return Reduced(G[..., :d, :d], G[..., d, d], G[..., :d, d])


# ------------------------------------------------------------ model pieces


def output(r: Reduced, X: jax.Array, n) -> jax.Array:
    """f_α = n^{-1/2} x_αᵀ uᵀv = x_αᵀ c / √n."""
    return X @ r.c / jnp.sqrt(n)


def kernel(r: Reduced, X: jax.Array, n) -> jax.Array:
    """Θ_αβ = (‖v‖² x_αᵀx_β + x_αᵀ A x_β)/(n m) (Sec. 2.2)."""
    m = X.shape[0]
    return (r.B * X @ X.T + X @ r.A @ X.T) / (n * m)


def loss_from_error(err: jax.Array) -> jax.Array:
    return 0.5 * jnp.mean(err**2)


def _error_terms(r: Reduced, data: Data, n) -> tuple[jax.Array, jax.Array, jax.Array]:
    """(f, f̃ = f − y, ζ = Xᵀf̃/m) at the current invariants."""
    f = output(r, data.X, n)
    err = f - data.y
    return f, err, data.X.T @ err / data.X.shape[0]


def param_output(params: Params, X: jax.Array) -> jax.Array:
    u, v = params
    return (X @ u.T) @ v / jnp.sqrt(u.shape[0])


def param_loss(params: Params, data: Data) -> jax.Array:
    return loss_from_error(param_output(params, data.X) - data.y)


def gd_step(params: Params, data: Data, eta) -> Params:
    """Gradient descent on (u, v) with autodiff gradients."""
    g = jax.grad(param_loss)(params, data)
    return Params(params.u - eta * g.u, params.v - eta * g.v)


def reduced_step(r: Reduced, data: Data, eta, n) -> Reduced:
    """GD written on (A, B, c), exact: with a = η/√n and ζ = Xᵀf̃/m,

    A′ = A − a(ζcᵀ + cζᵀ) + a²B ζζᵀ,  B′ = B − 2a cᵀζ + a² ζᵀAζ,  c′ = c − a(A + B)ζ + a²(cᵀζ)ζ.
    """
    a = eta / jnp.sqrt(n)
    _, _, zeta = _error_terms(r, data, n)
    Az = r.A @ zeta
    cz = r.c @ zeta
    A = r.A - a * (jnp.outer(zeta, r.c) + jnp.outer(r.c, zeta)) + a**2 * r.B * jnp.outer(zeta, zeta)
    B = r.B - 2 * a * cz + a**2 * zeta @ Az
    c = r.c - a * (Az + r.B * zeta) + a**2 * cz * zeta
    return Reduced(A, B, c)


# -------------------------------------------------- eqs. 10, 11 and S5 (App. D.1)


def predicted_error(r: Reduced, data: Data, eta, n) -> jax.Array:
    """Eq. 10 (S3): f̃′_α = f̃_α − η Σ_β Θ_αβ f̃_β + (η²/(nm)) (fᵀf̃)(ζᵀx_α)."""
    X, m = data.X, data.X.shape[0]
    f, err, zeta = _error_terms(r, data, n)
    return err - eta * kernel(r, X, n) @ err + eta**2 / (n * m) * (f @ err) * (X @ zeta)


def predicted_kernel(r: Reduced, data: Data, eta, n) -> jax.Array:
    """Eq. 11 (S4): Θ′ = Θ + (1/(nm))[((η²/n) ζᵀAζ − 2η fᵀf̃/m) XXᵀ − η(f (Xζ)ᵀ + (Xζ) fᵀ) + (η²/n) B (Xζ)(Xζ)ᵀ]."""
    X, m = data.X, data.X.shape[0]
    f, err, zeta = _error_terms(r, data, n)
    xz = X @ zeta
    scalar = eta**2 / n * zeta @ r.A @ zeta - 2 * eta * (f @ err) / m
    change = scalar * X @ X.T - eta * (jnp.outer(f, xz) + jnp.outer(xz, f)) + eta**2 / n * r.B * jnp.outer(xz, xz)
    return kernel(r, X, n) + change / (n * m)


def predicted_projection(r: Reduced, data: Data, eta, n) -> jax.Array:
    """S5: f̃ᵀΘ′f̃ = f̃ᵀΘf̃ + (η‖ζ‖²/n)(η f̃ᵀΘf̃ − 4 fᵀf̃), with f̃ and ζ taken before the step."""
    f, err, zeta = _error_terms(r, data, n)
    q = err @ kernel(r, data.X, n) @ err
    return q + eta * (zeta @ zeta) / n * (eta * q - 4 * f @ err)


def equation_residuals(params: Params, data: Data, etas, steps: int) -> dict[str, np.ndarray]:
    """Run GD on (u, v) for each η and compare every step with eqs. 10, 11, S5 and the reduced map.

    Returns, per η, the max over steps (while the loss is below 1e6) of the error of each
    prediction of step t+1 made from step t, relative to the largest value the predicted
    quantity takes over the run. Use float64 params for a sharp check.
    """
    steps = positive_int("steps", steps)
    etas = positive_array("learning rate eta", etas)
    n = params.u.shape[0]
    dtype = params.u.dtype

    def one(eta):
        def body(p, _):
            r = reduce(p)
            new = gd_step(p, data, eta)
            r_new = reduce(new)
            err = output(r, data.X, n) - data.y
            err_new = output(r_new, data.X, n) - data.y
            th_new = kernel(r_new, data.X, n)
            rm = reduced_step(r, data, eta, n)
            pairs = [
                (predicted_error(r, data, eta, n), err_new),
                (predicted_kernel(r, data, eta, n), th_new),
                (predicted_projection(r, data, eta, n), err @ th_new @ err),
                (output(rm, data.X, n) - data.y, err_new),
                (kernel(rm, data.X, n), th_new),
            ]
            diff = jnp.stack([jnp.max(jnp.abs(a - b)) for a, b in pairs])
            size = jnp.stack([jnp.max(jnp.abs(b)) for _, b in pairs])
            ok = loss_from_error(err_new) < 1e6
            return new, (jnp.where(ok, diff, 0.0), jnp.where(ok, size, 0.0))

        _, (diff, size) = jax.lax.scan(body, params, None, length=steps)
        # Relative to the largest value each quantity takes over the run (f̃ passes near 0).
        return diff.max(axis=0) / jnp.maximum(size.max(axis=0), 1e-300)

    res = np.asarray(jax.jit(jax.vmap(one))(jnp.asarray(etas, dtype)))
    names = ("eq10_error", "eq11_kernel", "S5_projection", "reduced_error", "reduced_kernel")
    return {k: res[:, i] for i, k in enumerate(names)}


# ------------------------------------------------------------- simulation


def top_eigenvalue(theta: jax.Array) -> jax.Array:
    return jnp.linalg.eigvalsh(theta)[..., -1]


def _run(r0: Reduced, data: Data, eta, n, steps: int, tracked: int):
    """One run: λ_t tracked for t <= ``tracked`` only (NaN after, but for the last step)."""

    def observe(r, with_lam: bool):
        err = output(r, data.X, n) - data.y
        lam = top_eigenvalue(kernel(r, data.X, n)) if with_lam else jnp.zeros((), err.dtype)  # finite: NaN means dead
        return (loss_from_error(err), lam, err)

    def step(r, t):
        return reduced_step(r, data, eta, n)

    if tracked:
        recs, dead, _, state = scan_frozen(step, r0, partial(observe, with_lam=True), tracked)
    else:
        recs, dead, state = observe(r0, True), jnp.array(False), r0
        recs = tuple(x[None] for x in recs)
    if steps > tracked:  # the rest, without the eigendecomposition; a run dead already stays NaN
        (loss, lam, err), dead2, _, state = scan_frozen(step, state, partial(observe, with_lam=False), steps - tracked)
        more = tuple(jnp.where(dead, jnp.nan, x[1:]) for x in (loss, jnp.full_like(lam, jnp.nan), err))
        recs = tuple(jnp.concatenate([a, b]) for a, b in zip(recs, more))
        dead = dead | dead2
    theta = jnp.where(dead, jnp.nan, kernel(state, data.X, n))
    loss, lam, err = recs
    lam = lam.at[-1].set(jnp.where(dead, jnp.nan, top_eigenvalue(theta)) if steps > tracked else lam[-1])
    return loss, lam, err, dead, theta


@partial(jax.jit, static_argnames=("steps", "tracked"))
def _run_batch(r0: Reduced, data: Data, eta, n, steps: int, tracked: int):
    return jax.vmap(_run, in_axes=(0, None, 0, 0, None, None))(r0, data, eta, n, steps, tracked)


def simulate(r0: Reduced, data: Data, eta, n, steps: int, track_curvature: bool | int = True) -> Trajectory:
    """Iterate GD on the invariants for a batch of (init, η, n), one vmapped ``lax.scan``.

    ``r0`` fields carry the batch shape in front ((..., d, d), (...), (..., d)); ``eta`` and
    ``n`` broadcast to it. Divergent runs are frozen and flagged, never raised.
    ``track_curvature``: True tracks λ_t at every step; False only at t = 0 and t = T (NaN
    between), much cheaper for sweeps; an int K tracks it for t <= K (and at t = T).
    """
    steps = positive_int("steps", steps)
    if isinstance(track_curvature, (bool, np.bool_)):
        tracked = steps if track_curvature else 0
    else:
        tracked = int(track_curvature)
        if not 0 <= tracked <= steps:
            raise ValueError(f"track_curvature must be a bool or a step count in [0, {steps}], got {tracked}.")
    positive_array("learning rate eta", eta)
    positive_array("width n", n)
    shape = np.broadcast_shapes(np.shape(r0.B), np.shape(eta), np.shape(n))
    dtype = r0.B.dtype
    flat = Reduced(
        jnp.broadcast_to(r0.A, shape + r0.A.shape[-2:]).reshape((-1,) + r0.A.shape[-2:]),
        jnp.broadcast_to(r0.B, shape).reshape(-1),
        jnp.broadcast_to(r0.c, shape + r0.c.shape[-1:]).reshape((-1,) + r0.c.shape[-1:]),
    )
    eta = jnp.broadcast_to(jnp.asarray(eta, dtype), shape).reshape(-1)
    n = jnp.broadcast_to(jnp.asarray(n, dtype), shape).reshape(-1)
    loss, lam, err, dead, theta = _run_batch(flat, data, eta, n, steps, tracked)
    m = data.X.shape[0]
    return Trajectory(
        loss=np.asarray(loss).reshape(shape + (steps + 1,)),
        lam=np.asarray(lam).reshape(shape + (steps + 1,)),
        error=np.asarray(err).reshape(shape + (steps + 1, m)),
        diverged=np.asarray(dead).reshape(shape),
        theta_final=np.asarray(theta).reshape(shape + (m, m)),
    )


def initial_top_eigvec(r0: Reduced, data: Data, n) -> np.ndarray:
    """Top eigenvector(s) of Θ at initialization (batch axes in front, shape (..., m))."""
    theta = jax.vmap(lambda A, B, c, nn: kernel(Reduced(A, B, c), data.X, nn))(
        *(jnp.reshape(x, (-1,) + x.shape[len(np.shape(r0.B)) :]) for x in r0),
        jnp.broadcast_to(jnp.asarray(n, r0.B.dtype), np.shape(r0.B)).reshape(-1),
    )
    vecs = np.asarray(jnp.linalg.eigh(theta)[1][..., -1])
    return vecs.reshape(np.shape(r0.B) + (data.X.shape[0],))


def alignment(error: np.ndarray, direction: np.ndarray) -> np.ndarray:
    """|⟨f̃_t, e⟩| / ‖f̃_t‖ for each step: 1 when the error lies along the direction e."""
    error = np.asarray(error, dtype=float)
    direction = np.asarray(direction, dtype=float)[..., None, :]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.abs(np.sum(error * direction, axis=-1)) / np.linalg.norm(error, axis=-1)


def initial_curvature(r0: Reduced, data: Data, n) -> np.ndarray:
    """Top eigenvalue λ0 of Θ at initialization for every element of the batch."""
    batch = np.shape(r0.B)
    flat = [jnp.reshape(x, (-1,) + x.shape[len(batch) :]) for x in r0]
    nn = jnp.broadcast_to(jnp.asarray(n, r0.B.dtype), batch).reshape(-1)
    lam = jax.vmap(lambda A, B, c, w: top_eigenvalue(kernel(Reduced(A, B, c), data.X, w)))(*flat, nn)
    return np.asarray(lam).reshape(batch)


class Sweep(NamedTuple):
    cs: np.ndarray  # (C,) η·λ0
    widths: np.ndarray  # (W,)
    lam0: np.ndarray  # (W, C, S)
    eta: np.ndarray  # (W, C, S)
    traj: Trajectory  # batch (W, C, S)
    e0: np.ndarray | None = None  # (W, S, m) top eigenvector of Θ0 per width and seed

    @property
    def final_curvature(self) -> np.ndarray:
        """η·λ at the last step (NaN for divergent runs)."""
        return self.eta * self.traj.lam[..., -1]

    @property
    def final_along_e0(self) -> np.ndarray:
        """η·e0ᵀΘ_T e0, the final curvature along Θ0's top direction (NaN for divergent runs): (W, C, S)."""
        th, e = self.traj.theta_final, self.e0[:, None]
        return self.eta * np.einsum("wcsa,wcsab,wcsb->wcs", e, th, e)

    @property
    def alignment(self) -> np.ndarray:
        """|⟨f̃_t, e0⟩|/‖f̃_t‖ for every run and step: (W, C, S, T+1)."""
        return alignment(self.traj.error, self.e0[:, None])

    @property
    def median_final_curvature(self) -> np.ndarray:
        """Median over seeds of η·λ_final, NaN where every seed diverged: (W, C)."""
        x = self.final_curvature
        out = np.full(x.shape[:-1], np.nan)
        ok = np.isfinite(x).any(axis=-1)
        out[ok] = np.nanmedian(x[ok], axis=-1)
        return out


def lr_width_sweep(key: jax.Array, data: Data, widths, cs, seeds: int, steps: int, tracked: int = 0) -> Sweep:
    """Every (width, η·λ0, seed) from exact initial invariants, as one vmapped program.

    Each seed's init is shared across learning rates (as in the paper's sweeps); λ_t is
    computed for t <= ``tracked`` and at the last step only, to keep the sweep cheap.
    """
    widths = positive_array("widths", widths)
    cs = positive_array("c = eta * lambda0", cs)
    seeds = positive_int("seeds", seeds)
    d = data.X.shape[1]
    dtype = data.X.dtype
    r = sample_reduced(key, np.broadcast_to(widths[:, None], (widths.size, seeds)), d, (widths.size, seeds), dtype)
    n = np.broadcast_to(widths[:, None], (widths.size, seeds))
    lam0_ws = initial_curvature(r, data, n)
    shape = (widths.size, cs.size, seeds)
    r0 = Reduced(r.A[:, None], r.B[:, None], r.c[:, None])
    eta = cs[None, :, None] / lam0_ws[:, None, :]
    nn = np.broadcast_to(widths[:, None, None], shape)
    traj = simulate(r0, data, eta.astype(np.dtype(dtype)), nn, steps, track_curvature=int(tracked))
    e0 = initial_top_eigvec(r, data, n)
    return Sweep(cs, widths, np.broadcast_to(lam0_ws[:, None, :], shape), eta, traj, e0)


def first_divergent(sweep: Sweep) -> np.ndarray:
    """For each (width, seed), the smallest η·λ0 of the sweep that diverged (NaN if none): (W, S)."""
    d = sweep.traj.diverged
    idx = np.argmax(d, axis=1)
    return np.where(d.any(axis=1), sweep.cs[idx], np.nan)


def divergence_threshold(key: jax.Array, data: Data, widths, seeds: int, steps: int,
                         c_range: tuple[float, float] = (3.0, 5.0), rounds: int = 8) -> np.ndarray:
    """η·λ0 at which GD starts to diverge, per (width, seed), by bisection in ``c_range``: (W, S).

    Each round runs every (width, seed) once at the midpoint of its bracket (one compiled
    program for all rounds) and keeps the half where divergence sets in; the result is the
    bracket's upper end, resolved to (hi − lo)/2^rounds. A seed that does not diverge even
    at the upper end of ``c_range`` returns that end (a censored value).
    """
    widths = positive_array("widths", widths)
    seeds, steps, rounds = positive_int("seeds", seeds), positive_int("steps", steps), positive_int("rounds", rounds)
    lo_c, hi_c = c_range
    if not 0 < lo_c < hi_c:
        raise ValueError(f"c_range must be (lo, hi) with 0 < lo < hi, got {c_range}.")
    dtype = data.X.dtype
    shape = (widths.size, seeds)
    n = np.broadcast_to(widths[:, None], shape)
    r = sample_reduced(key, n, data.X.shape[1], shape, dtype)
    lam0 = initial_curvature(r, data, n)
    lo, hi = np.full(shape, float(lo_c)), np.full(shape, float(hi_c))
    for _ in range(rounds):
        mid = 0.5 * (lo + hi)
        dead = simulate(r, data, (mid / lam0).astype(np.dtype(dtype)), n, steps, track_curvature=False).diverged
        hi, lo = np.where(dead, mid, hi), np.where(dead, lo, mid)
    return hi


def eigen_ratio(X) -> float:
    """λ2/λ1 of XXᵀ: the ratio of Θ0's top two eigenvalues at infinite width (Θ0 → 2XXᵀ/m)."""
    ev = np.linalg.eigvalsh(np.asarray(X, dtype=float) @ np.asarray(X, dtype=float).T)
    if ev.size < 2 or ev[-1] <= 0:
        raise ValueError("eigen_ratio needs at least two samples with a non-zero X.")
    return float(ev[-2] / ev[-1])


def predicted_final_top(c, ratio: float, limit) -> np.ndarray:
    """η·λ_top at the end of a catapult at infinite width (derived here from eqs. 10-11, App. D.1).

    The error aligns with e0 and the kernel moves only along e0 and through ‖v‖²: along e0
    it ends at the warmup's ``limit`` (η·λ_final of Sec. 2.1, ``warmup.limit_final_curvature``),
    with ‖v‖² shrunk by limit/c; the second direction e1 keeps its uᵀu part and loses only
    that share, ending at ratio·(c + limit)/2. The top eigenvalue is the larger of the two.
    """
    c, limit = np.asarray(c, dtype=float), np.asarray(limit, dtype=float)
    if not 0 < ratio <= 1:
        raise ValueError(f"ratio = lambda2/lambda1 must be in (0, 1], got {ratio}.")
    return np.maximum(limit, ratio * (c + limit) / 2)
