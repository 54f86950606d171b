"""The NTK toolkit: the empirical kernel in the paper's normalization, its top eigenpair
matrix-free, a dense cross-check, and the infinite-width kernel of a ``stax`` model.

For m samples and k outputs, with J the (m·k) × P Jacobian of the outputs with respect to
all parameters, the paper's NTK is Θ = J Jᵀ/(m·k) (App. A). Its eigenvalues are the
non-zero eigenvalues of the Gauss-Newton matrix JᵀJ/(m·k), the Hessian of
L = Σ_α Σ_i (f_i(x_α) − y_αi)²/(2mk) for a linear model, so gradient descent on the
linearized network is stable iff η < 2/λ_max(Θ) = η_crit.

``apply_fn(params, x)`` may be any function returning an (m, k) or (m,) array (k = 1):
a neural-tangents ``stax`` network, a hand-written model, a Wide ResNet. Vectors on the
output space have the output's shape; flattened, they are sample-major (index α·k + i).

A bias-free ReLU network's kernel has a structured form that never builds J
(:func:`relu_ntk`, O(m n²)): :func:`relu_lambda0` gives λ0 of many initializations at once
(chapter 2's λ0 against width).

Only ``dense_ntk`` needs neural-tangents; it is imported on first use, through
:mod:`catapult.tangents`, so ``import catapult.ntk`` does not load it.
"""

from __future__ import annotations

import functools
from typing import Any, Callable, NamedTuple, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from . import tangents
from ._checks import positive_float, positive_int

__all__ = [
    "ApplyFn",
    "TopEig",
    "ntk_vp",
    "top_eigenpair",
    "top_eigenvalue",
    "top_eigenvalue_batched",
    "dense_ntk",
    "dense_top_eigenvalue",
    "infinite_width_top_eigenvalue",
    "eta_crit",
    "lanczos_top_eigenvalue",
    "lanczos_top_eigenvalue_stepped",
    "relu_ntk",
    "relu_lambda0",
]


ApplyFn = Callable[[Any, jax.Array], jax.Array]


class TopEig(NamedTuple):
    """Top eigenpair of Θ: λ_max, a unit eigenvector (the output's shape), the number of
    Lanczos steps (NTK-vector products) and the relative residual ‖Θv − λv‖/λ."""

    value: float
    vector: np.ndarray
    iterations: int
    residual: float


# ------------------------------------------------------------------ validation


def _check_x(x: Any) -> None:
    if np.ndim(x) == 0:
        raise ValueError(f"x must be an array of samples with a leading sample axis, got a scalar {x!r}.")
    if np.shape(x)[0] == 0:
        raise ValueError(f"x has no samples (shape {np.shape(x)}); pass at least one input.")
    if not bool(jnp.all(jnp.isfinite(jnp.asarray(x)))):
        raise ValueError("x contains non-finite values (NaN or inf).")


def _check_params(params: Any) -> None:
    leaves = jax.tree_util.tree_leaves(params)
    if not leaves:
        raise ValueError("params is empty; the NTK needs at least one trainable parameter.")
    for leaf in leaves:
        if not jnp.issubdtype(jnp.result_type(leaf), jnp.inexact):
            raise ValueError(f"params must be floating point arrays, got a leaf of dtype {jnp.result_type(leaf)}.")
        if not bool(jnp.all(jnp.isfinite(leaf))):
            raise ValueError("params contain non-finite values (NaN or inf); the NTK of a diverged network is undefined.")


def _output_shape(apply_fn: ApplyFn, params: Any, x: Any) -> jax.ShapeDtypeStruct:
    """Validate (params, x) and return the shape/dtype of ``apply_fn(params, x)`` without running it."""
    _check_x(x)
    _check_params(params)
    out = jax.eval_shape(apply_fn, params, x)
    if out.ndim not in (1, 2) or out.shape[0] != np.shape(x)[0]:
        raise ValueError(
            f"apply_fn(params, x) must return shape (m,) or (m, k) with m = {np.shape(x)[0]} samples, "
            f"got {out.shape}."
        )
    return out


# ------------------------------------------------------------ matrix-free Θ·v


def ntk_vp(apply_fn: ApplyFn, params: Any, x: jax.Array, vec: jax.Array) -> jax.Array:
    """Θ·vec = J (Jᵀ vec)/(m·k) for ``vec`` of the output's shape.

    One ``jax.vjp`` (Jᵀ vec, a tangent in parameter space) and one ``jax.jvp`` (J times
    it); neither J nor Θ is ever formed. The result has the output's shape and dtype.
    """
    f = lambda p: apply_fn(p, x)  # noqa: E731
    out, pullback = jax.vjp(f, params)
    (jt_vec,) = pullback(jnp.reshape(vec, out.shape).astype(out.dtype))
    _, j_jt_vec = jax.jvp(f, (params,), (jt_vec,))
    return j_jt_vec / out.size  # out.size = m·k


def _flat_matvec(apply_fn: ApplyFn) -> Callable:
    """``(params, x, v_flat) -> (Θ v)_flat``, jitted.

    params and x are arguments rather than closed-over values: closed-over arrays would
    be baked into the compiled program as constants (slow to compile for a network with
    millions of weights), and every batch of the same shape reuses one compilation.
    Cached per ``apply_fn`` when it is hashable.
    """

    def matvec(params, x, v):
        out = jax.eval_shape(apply_fn, params, x)
        return jnp.ravel(ntk_vp(apply_fn, params, x, jnp.reshape(v, out.shape)))

    return jax.jit(matvec)


_cached_flat_matvec = functools.lru_cache(maxsize=64)(_flat_matvec)


def _matvec_for(apply_fn: ApplyFn) -> Callable:
    try:
        return _cached_flat_matvec(apply_fn)
    except TypeError:  # an unhashable callable: compile for this call only
        return _flat_matvec(apply_fn)


# ------------------------------------------------------------------ Lanczos


def top_eigenpair(
    apply_fn: ApplyFn,
    params: Any,
    x: jax.Array,
    *,
    tol: float = 1e-4,
    max_iters: int = 200,
    key: jax.Array | None = None,
) -> TopEig:
    """Top eigenpair of Θ = J Jᵀ/(m·k) by Lanczos with full reorthogonalisation.

    Each step is one jitted NTK-vector product (``ntk_vp``) in the dtype of ``params``;
    the Krylov basis and the tridiagonal eigenproblem are kept in float64 on the host.
    Stops when the top Ritz pair's relative residual estimate |β_j s_j|/θ ≤ ``tol``, when
    the Krylov space is exhausted, or after ``max_iters`` products. The returned residual
    is measured, ‖Θv − λv‖/λ, with one more product (in float32 its floor is ~1e-6).
    The start vector is N(0, I) drawn from ``key`` (default ``PRNGKey(0)``).
    """
    tol = positive_float("tol", tol)
    max_iters = positive_int("max_iters", max_iters)
    out = _output_shape(apply_fn, params, x)
    size = out.size
    matvec = _matvec_for(apply_fn)

    def apply(v: np.ndarray) -> np.ndarray:
        return np.array(matvec(params, x, jnp.asarray(v, out.dtype)), dtype=np.float64)  # a writable copy

    key = jax.random.PRNGKey(0) if key is None else key
    q = np.asarray(jax.random.normal(key, (size,), jnp.float32), dtype=np.float64)
    q /= np.linalg.norm(q)

    steps = min(max_iters, size)
    basis = np.empty((steps, size))  # orthonormal Lanczos vectors q_0 .. q_j, one per row
    alphas: list[float] = []
    betas: list[float] = []
    for j in range(steps):
        basis[j] = q
        w = apply(q)
        alphas.append(float(q @ w))
        # Full reorthogonalisation against every previous vector, done twice: one
        # Gram-Schmidt pass leaves O(ε·κ) overlaps, a second removes them.
        for _ in range(2):
            w -= basis[: j + 1].T @ (basis[: j + 1] @ w)
        beta = float(np.linalg.norm(w))
        tri = np.diag(alphas) + np.diag(betas, 1) + np.diag(betas, -1)
        evals, evecs = np.linalg.eigh(tri)
        theta, s = float(evals[-1]), evecs[:, -1]
        # ‖Θy − θy‖ = β_j |s_j| for the Ritz vector y = Q s (exact arithmetic).
        estimate = abs(beta * s[-1]) / max(abs(theta), np.finfo(float).tiny)
        if estimate <= tol or beta <= 1e-12 * max(abs(theta), np.finfo(float).tiny):
            break
        betas.append(beta)
        q = w / beta

    iterations = len(alphas)
    vector = basis[:iterations].T @ s
    vector /= np.linalg.norm(vector)
    residual = np.linalg.norm(apply(vector) - theta * vector) / max(abs(theta), np.finfo(float).tiny)
    return TopEig(theta, vector.reshape(out.shape), iterations, float(residual))


def top_eigenvalue(apply_fn: ApplyFn, params: Any, x: jax.Array, **kw) -> float:
    """λ_max(Θ), matrix-free (keywords as in ``top_eigenpair``)."""
    return top_eigenpair(apply_fn, params, x, **kw).value


def top_eigenvalue_batched(
    apply_fn: ApplyFn, params: Any, batches: Sequence[jax.Array] | jax.Array, **kw
) -> tuple[float, np.ndarray]:
    """Mean of λ_max(Θ) over batches, and the per-batch values.

    App. A measures λ by Lanczos on a batch of several hundred samples, averaged over
    batches. ``batches`` is an array with a leading batch axis or a sequence of arrays;
    batches of equal shape share one compilation.
    """
    if isinstance(batches, (np.ndarray, jax.Array)) and np.ndim(batches) < 2:
        raise ValueError(f"batches must have a leading batch axis and a sample axis, got shape {np.shape(batches)}.")
    batches = list(batches)
    if not batches:
        raise ValueError("batches is empty; pass at least one batch of inputs.")
    values = np.array([top_eigenvalue(apply_fn, params, b, **kw) for b in batches])
    return float(values.mean()), values


# ------------------------------------------------------- dense cross-checks


@functools.lru_cache(maxsize=32)
def _empirical_ntk(apply_fn: ApplyFn, implementation: int, batch_size: int) -> Callable:
    nt = tangents.neural_tangents()
    kernel_fn = tangents.empirical_ntk_fn(apply_fn, implementation, trace_axes=(), vmap_axes=0)
    # nt.batch computes the kernel block by block (each block jitted); otherwise jit the whole.
    return nt.batch(kernel_fn, batch_size=batch_size, device_count=0) if batch_size else jax.jit(kernel_fn)


def dense_ntk(
    apply_fn: ApplyFn,
    params: Any,
    x: jax.Array,
    *,
    implementation: int | None = None,
    batch_size: int | None = None,
) -> jax.Array:
    """The (m·k) × (m·k) matrix Θ = J Jᵀ/(m·k), sample-major, for tests and cross-checks.

    Computed with ``neural_tangents.empirical_ntk_fn(apply_fn, trace_axes=(), vmap_axes=0)``,
    whose (m, m, k, k) output is reordered to (m, k, m, k) so that row α·k + i matches
    ``f.reshape(-1)``. ``implementation`` is an ``nt.NtkImplementation`` (default
    ``JACOBIAN_CONTRACTION``; ``STRUCTURED_DERIVATIVES`` is far cheaper for wide dense
    networks, and falls back to the default where this jax breaks it, see
    :mod:`catapult.tangents`); ``batch_size`` computes the kernel in blocks of that many samples
    (it must divide m).
    """
    out = _output_shape(apply_fn, params, x)
    m = out.shape[0]
    k = out.size // m
    impl = tangents.choose_implementation(implementation)
    bs = 0 if batch_size is None else positive_int("batch_size", batch_size)
    if bs and m % bs:
        raise ValueError(f"batch_size = {bs} must divide the number of samples m = {m}.")
    try:
        kernel_fn = _empirical_ntk(apply_fn, impl, bs)
    except TypeError:  # an unhashable apply_fn
        kernel_fn = _empirical_ntk.__wrapped__(apply_fn, impl, bs)
    theta = kernel_fn(x, None, params)
    if out.ndim == 1:
        return theta / m
    return jnp.transpose(theta, (0, 2, 1, 3)).reshape(m * k, m * k) / (m * k)


def dense_top_eigenvalue(apply_fn: ApplyFn, params: Any, x: jax.Array, **kw) -> float:
    """λ_max of the dense Θ (``dense_ntk``, keywords passed on) by a float64 ``eigvalsh``.

    O((m·k)³) time and O((m·k)²) memory: for cross-checks only.
    """
    theta = np.asarray(dense_ntk(apply_fn, params, x, **kw), dtype=np.float64)
    return float(np.linalg.eigvalsh(theta)[-1])


# ------------------------------------------------------------- infinite width


def infinite_width_top_eigenvalue(kernel_fn: Callable, x: jax.Array, k: int) -> float:
    """λ_max(Θ) at infinite width from a ``stax`` ``kernel_fn``: λ_max(Θ_nt)/(m·k).

    ``kernel_fn(x, None, "ntk")`` is the (m, m) kernel of one output; the k outputs are
    independent and identically distributed, so the full J Jᵀ is Θ_nt ⊗ I_k, whose top
    eigenvalue is that of Θ_nt. Predicts λ0, hence η_crit = 2/λ0, before training.
    """
    k = positive_int("outputs k", k)
    _check_x(x)
    m = np.shape(x)[0]
    theta = np.asarray(kernel_fn(x, None, "ntk"), dtype=np.float64)
    if theta.shape != (m, m):
        raise ValueError(f"kernel_fn(x, None, 'ntk') must be an (m, m) = ({m}, {m}) kernel, got shape {theta.shape}.")
    return float(np.linalg.eigvalsh(theta)[-1]) / (m * k)


def eta_crit(lam0: float) -> float:
    """η_crit = 2/λ0: the largest stable learning rate of the linearized network (App. A)."""
    return 2.0 / positive_float("lambda0", lam0)


# ------------------------------------------------------- jittable Lanczos


def _lanczos_setup(out: jax.ShapeDtypeStruct, iters: int, key: jax.Array):
    """The state before the first Lanczos step: (basis, q0, alphas, betas)."""
    size, dtype = out.size, out.dtype
    basis = jnp.zeros((iters, size), dtype)
    q0 = _orthonormal_random(basis, iters, key, size, dtype)
    return basis, q0, jnp.zeros((iters,), dtype), jnp.zeros((iters,), dtype)


def _orthonormal_random(basis, j, key, size, dtype):
    r = jax.random.normal(jax.random.fold_in(key, j), (size,)).astype(dtype)
    for _ in range(2):
        r = r - basis.T @ (basis @ r)
    return r / jnp.maximum(jnp.linalg.norm(r), jnp.finfo(dtype).tiny)


def _lanczos_step(matvec: Callable, out: jax.ShapeDtypeStruct, key: jax.Array, j, carry):
    """Lanczos step ``j``: one product ``matvec`` (flat Θ·q), full reorthogonalisation (twice),
    and a restart from a random orthogonal vector when the Krylov space is exhausted."""
    basis, q, alphas, betas = carry
    size, dtype = out.size, out.dtype
    basis = basis.at[j].set(q)
    w = matvec(q)
    alpha = jnp.vdot(q, w)
    for _ in range(2):  # rows beyond j are zero, so this projects on q_0..q_j only
        w = w - basis.T @ (basis @ w)
    beta = jnp.linalg.norm(w)
    scale = jnp.maximum(jnp.abs(alpha), jnp.max(jnp.abs(alphas)))
    exhausted = beta <= 1e3 * jnp.finfo(dtype).eps * jnp.maximum(scale, jnp.finfo(dtype).tiny)
    q_next = jnp.where(exhausted, _orthonormal_random(basis, j, key, size, dtype), w / jnp.where(exhausted, 1.0, beta))
    return basis, q_next, alphas.at[j].set(alpha), betas.at[j].set(jnp.where(exhausted, 0.0, beta))


def _ritz_top(alphas: jax.Array, betas: jax.Array) -> jax.Array:
    """The top eigenvalue of the Lanczos tridiagonal matrix."""
    tri = jnp.diag(alphas) + jnp.diag(betas[:-1], 1) + jnp.diag(betas[:-1], -1)
    return jnp.linalg.eigvalsh(tri)[-1]


def lanczos_top_eigenvalue(
    apply_fn: ApplyFn, params: Any, x: jax.Array, *, iters: int = 20, key: jax.Array | None = None,
    unroll: bool | int = 1,
) -> jax.Array:
    """λ_max(Θ) by ``iters`` Lanczos steps written in jax: jittable and vmappable.

    The traceable twin of ``top_eigenvalue`` for use inside ``jit``/``scan``/``vmap``
    (the training loop of :mod:`catapult.train`): a fixed number of NTK-vector products
    (``ntk_vp``), full reorthogonalisation against the stored basis (twice), in the dtype
    of the network's output, and the top eigenvalue of the ``iters`` × ``iters``
    tridiagonal matrix. When the Krylov space is exhausted (β ≈ 0) the iteration restarts
    from a random vector orthogonal to the basis with β = 0, so the tridiagonal matrix
    splits into blocks whose eigenvalues are still Ritz values of Θ (never above λ_max).
    Returns a scalar array; no input validation (it runs on traced values). ``unroll``
    goes to the ``fori_loop``; :func:`lanczos_top_eigenvalue_stepped` is the same
    computation stepped from Python (for convolutional nets on XLA:CPU).
    """
    out = jax.eval_shape(apply_fn, params, x)
    iters = min(int(iters), out.size)
    key = jax.random.PRNGKey(0) if key is None else key
    matvec = lambda q: jnp.ravel(ntk_vp(apply_fn, params, x, jnp.reshape(q, out.shape)))  # noqa: E731
    body = lambda j, carry: _lanczos_step(matvec, out, key, j, carry)  # noqa: E731
    _, _, alphas, betas = jax.lax.fori_loop(0, iters, body, _lanczos_setup(out, iters, key), unroll=unroll)
    return _ritz_top(alphas, betas)


@functools.lru_cache(maxsize=64)
def _stepped_pieces(apply_fn: ApplyFn, iters: int) -> tuple[Callable, Callable, Callable]:
    def setup(params, x, key):
        out, pullback = jax.vjp(lambda p: apply_fn(p, x), params)  # the forward pass, once per λ
        return pullback, _lanczos_setup(jax.ShapeDtypeStruct(out.shape, out.dtype), iters, key)

    def step(j, carry, pullback, key, shape):
        def matvec(q):  # Θq = J(Jᵀq)/(m·k): the pullback, then its transpose (J); no forward pass
            v = jnp.reshape(q, shape)
            (jt_q,) = pullback(v)
            (j_jt_q,) = jax.linear_transpose(pullback, v)((jt_q,))
            return jnp.ravel(j_jt_q) / q.size

        return _lanczos_step(matvec, jax.ShapeDtypeStruct(carry[1].shape, carry[1].dtype), key, j, carry)

    return jax.jit(setup), jax.jit(step, static_argnums=4), jax.jit(lambda carry: _ritz_top(carry[2], carry[3]))


def lanczos_top_eigenvalue_stepped(
    apply_fn: ApplyFn, params: Any, x: jax.Array, *, iters: int = 20, key: jax.Array | None = None,
) -> jax.Array:
    """:func:`lanczos_top_eigenvalue` with its steps called from Python: one compiled step (one
    NTK-vector product, from the forward pass's residuals kept once per call), cached on
    ``apply_fn``, serves every iteration of every call.

    For convolutional networks on XLA:CPU: inside a ``fori_loop`` their convolutions run
    10-20x slower (jax#12868), and unrolled every step is a copy of the network's backward
    pass and its transpose that XLA compiles again (tens of seconds for a Wide ResNet). Same
    steps, same numbers up to float rounding. Not traceable: call it outside ``jit``.
    """
    out = jax.eval_shape(apply_fn, params, x)
    iters = min(int(iters), out.size)
    key = jax.random.PRNGKey(0) if key is None else key
    setup, step, top = _stepped_pieces(apply_fn, iters)
    # committed to one device, as the step's outputs are, so that the step compiles once
    params, x, key = jax.device_put((params, x, key), jax.devices()[0])
    pullback, carry = setup(params, x, key)
    for j in range(iters):
        carry = step(np.int32(j), carry, pullback, key, out.shape)
    return top(carry)


# ------------------------------------------------------------------ λ0 of a ReLU network (structured NTK)


def relu_ntk(weights: list[jax.Array], x: jax.Array, w_std: float = 2.0**0.5) -> jax.Array:
    """Θ = JJᵀ/m of a bias-free ReLU net in the NTK parameterization, one output (App. A).

    ``weights`` = [W_1 (d, n), ..., W_L (n, n), W_out (n, 1)], layer l computing
    z_l = (σ_w/√fan_in) h_{l−1} W_l (as ``models.fully_connected``). The gradient with respect
    to W_l is an outer product δ_l ⊗ (σ_w/√fan_in) h_{l−1}, so each layer adds
    (σ_w²/fan_in)(h_{l−1}h_{l−1}ᵀ) ⊙ (δ_lδ_lᵀ): O(m n²), never forming J.
    """
    hs, zs = [x], []
    for W in weights[:-1]:
        zs.append(w_std / jnp.sqrt(hs[-1].shape[1]) * hs[-1] @ W)
        hs.append(jnp.maximum(zs[-1], 0.0))
    m = x.shape[0]
    delta = jnp.ones((m, 1), x.dtype)  # ∂f/∂(readout's output)
    theta = jnp.zeros((m, m), x.dtype)
    for l in range(len(weights) - 1, -1, -1):
        h, W = hs[l], weights[l]
        scale = w_std / jnp.sqrt(h.shape[1])
        theta = theta + scale**2 * (h @ h.T) * (delta @ delta.T)
        if l:
            delta = scale * (delta @ W.T) * (zs[l - 1] > 0)
    return theta / m


@jax.jit
def _relu_top(weights: list[jax.Array], x: jax.Array) -> jax.Array:
    return jax.vmap(lambda ws: jnp.linalg.eigvalsh(relu_ntk(ws, x))[..., -1])(weights)


def relu_lambda0(seed: int, x: jax.Array, width: int, depth: int, seeds: int) -> np.ndarray:
    """λ0 = λ_max(Θ) of ``seeds`` N(0, 1) initializations of a depth-``depth`` ReLU net: (seeds,).

    The weights come from numpy's generator seeded with (``seed``, ``width``) (drawing them
    inside the compiled program costs seconds of compilation per width); the kernels and
    their top eigenvalues are one vmapped, jitted program per width.
    """
    width, depth, seeds = positive_int("width", width), positive_int("depth", depth), positive_int("seeds", seeds)
    sizes = [x.shape[1]] + [width] * depth + [1]
    rng = np.random.default_rng([int(seed), width])
    ws = [jnp.asarray(rng.standard_normal((seeds, a, b), dtype=np.float32), x.dtype) for a, b in zip(sizes[:-1], sizes[1:])]
    return np.asarray(_relu_top(ws, x))
