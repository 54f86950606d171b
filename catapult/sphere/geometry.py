"""Where runs end on the sphere: loss, accuracy and curvature of end points, and the geometry between them (Sadrtdinov et al. 2024, Sec. 5, Fig. 4).

With the weights of a scale-invariant network on the unit sphere, "where a run ends" has a
plain geometry: the :func:`angle` between two end points, and the error along the straight
line between them (:func:`interpolation_errors`) with its :func:`barrier`, the
linear-interpolation barrier. :func:`evaluate` gives the loss and accuracy of many end points
at once, :func:`sharpness` the top Hessian eigenvalue of the training loss at each (the
quantity whose 2/λ bounds a stable step; chapters 1–4).

:func:`sharpness` runs its own power iteration on Hessian-vector products. The Lanczos
routines of :mod:`catapult.ntk` multiply by the NTK (they take ``apply_fn``, parameters and
inputs, not a matrix-vector product), and they return the largest eigenvalue where the power
iteration returns the one of largest magnitude, which at the end points of regime 3 can be
negative.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from .._checks import positive_int
from .networks import SphereNet, _check_data, _dataset_loss_and_accuracy, loss_and_accuracy

__all__ = [
    "angle",
    "evaluate",
    "interpolation_errors",
    "barrier",
    "sharpness",
]


def angle(w1: jax.Array | np.ndarray, w2: jax.Array | np.ndarray) -> np.ndarray:
    """Angle (radians, in [0, π]) between weight vectors, over the last axis."""
    w1, w2 = np.asarray(w1, dtype=np.float64), np.asarray(w2, dtype=np.float64)
    if w1.shape[-1] != w2.shape[-1]:
        raise ValueError(f"weight vectors must have the same length, got {w1.shape[-1]} and {w2.shape[-1]}.")
    n1, n2 = np.linalg.norm(w1, axis=-1), np.linalg.norm(w2, axis=-1)
    if np.any(n1 == 0) or np.any(n2 == 0):
        raise ValueError("the angle to a zero vector is undefined.")
    return np.arccos(np.clip(np.sum(w1 * w2, axis=-1) / (n1 * n2), -1.0, 1.0))


def _flat_models(w) -> tuple[jax.Array, tuple[int, ...]]:
    w = jnp.asarray(w, jnp.float32)
    return w.reshape(-1, w.shape[-1]), w.shape[:-1]


def evaluate(net: SphereNet, w, x, y, *, chunk: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Loss and accuracy of every model in ``w`` (..., D) on (x, y); arrays of shape (...).

    Models are evaluated ``chunk`` at a time (``lax.map``; by default 64, fewer for networks
    of more than 65,536 weights, down to one at a time for a ResNet-18), each on
    :data:`SAMPLE_CHUNK` samples per pass, to bound memory. A non-finite model gives NaN.
    """
    x, y = _check_data(net, x, y)
    chunk = max(1, min(64, 2**22 // net.dim)) if chunk is None else positive_int("chunk", chunk)
    flat, lead = _flat_models(w)
    if flat.shape[-1] != net.dim:
        raise ValueError(f"w must have shape (..., {net.dim}), got {tuple(lead) + (flat.shape[-1],)}.")
    loss, acc = _evaluate_jit(net, flat, x, y, chunk)
    return np.asarray(loss).reshape(lead), np.asarray(acc).reshape(lead)


def _evaluate_impl(net, flat, x, y, chunk):
    def one(w):
        loss, acc = _dataset_loss_and_accuracy(net, w, x, y)
        ok = jnp.all(jnp.isfinite(w))
        return jnp.where(ok, loss, jnp.nan), jnp.where(ok, acc, jnp.nan)

    return jax.lax.map(one, flat, batch_size=min(chunk, flat.shape[0]))


_evaluate_jit = jax.jit(_evaluate_impl, static_argnames=("net", "chunk"))


def interpolation_errors(net: SphereNet, w1, w2, x, y, alphas) -> np.ndarray:
    """Test error (1 − accuracy) along the straight line (1 − α)·w1 + α·w2 for every α.

    ``w1`` and ``w2`` have the same shape (..., D); the result has shape (..., len(alphas)).
    The network is scale invariant, so the line's norm does not matter (only its direction).
    """
    w1 = jnp.asarray(w1, jnp.float32)
    w2 = jnp.asarray(w2, jnp.float32)
    if w1.shape != w2.shape:
        raise ValueError(f"w1 and w2 must have the same shape, got {w1.shape} and {w2.shape}.")
    a = np.atleast_1d(np.asarray(alphas, dtype=np.float32))
    if a.ndim != 1 or a.size < 2 or not np.all(np.isfinite(a)):
        raise ValueError(f"alphas must be at least two finite numbers (e.g. np.linspace(0, 1, 11)), got {alphas!r}.")
    line = (1 - a[:, None]) * w1[..., None, :] + a[:, None] * w2[..., None, :]
    return 1.0 - evaluate(net, line, x, y)[1]


def barrier(errors, alphas) -> np.ndarray:
    """Error barrier of interpolation curves (..., A): the largest excess of the error over
    the straight line between its two ends, max_α [e(α) − (1−α)e(0) − α e(1)] (≥ 0 when
    α = 0 and 1 are among ``alphas``)."""
    e = np.asarray(errors, dtype=float)
    a = np.asarray(alphas, dtype=float)
    if e.shape[-1] != a.size:
        raise ValueError(f"errors must end with one entry per alpha ({a.size}), got shape {e.shape}.")
    if a.size < 2 or a[0] != 0.0 or a[-1] != 1.0:
        raise ValueError("alphas must run from 0 to 1 (the two end points).")
    return np.max(e - (1 - a) * e[..., :1] - a * e[..., -1:], axis=-1)


def sharpness(net: SphereNet, w, x, y, *, iters: int = 50, key: jax.Array | None = None) -> np.ndarray:
    """Top eigenvalue of the Hessian of the full-batch loss at each model of ``w`` (..., D),
    by power iteration on Hessian-vector products (the quantity whose 2/λ bounds a stable
    step; chapters 1–4). Shape (...)."""
    x, y = _check_data(net, x, y)
    iters = positive_int("iters", iters)
    flat, lead = _flat_models(w)
    key = jax.random.PRNGKey(0) if key is None else key
    lam = _sharpness_jit(net, flat, x, y, key, iters)
    return np.asarray(lam).reshape(lead)


def _sharpness_impl(net, flat, x, y, key, iters):
    def loss(w):
        return loss_and_accuracy(net.apply(w, x), y)[0]

    def one(w):
        hvp = lambda v: jax.jvp(jax.grad(loss), (w,), (v,))[1]  # noqa: E731
        v0 = jax.random.normal(key, w.shape, w.dtype)

        def body(v, _):
            hv = hvp(v)
            return hv / jnp.linalg.norm(hv), None

        v = jax.lax.scan(body, v0 / jnp.linalg.norm(v0), None, length=iters)[0]
        return jnp.vdot(v, hvp(v))

    return jax.lax.map(one, flat)


_sharpness_jit = jax.jit(_sharpness_impl, static_argnames=("net", "iters"))
