"""Scale-invariant networks trained on the unit sphere (the setting of Sadrtdinov et al. 2024).

Every hidden layer is followed by a normalization without learnable scale or shift, and
the last layer is fixed, so the network's output does not change when the trainable
weights are multiplied by any α > 0: f(αw) = f(w). Its gradient is then orthogonal to w
and shrinks as 1/‖w‖, so plain SGD changes the *effective* learning rate η/‖w‖² as the
norm drifts. Projecting w back onto the unit sphere after every step,

    w ← (w − η ĝ) / ‖w − η ĝ‖,

keeps ‖w‖ = 1 and the effective learning rate fixed at η. With the weights held as one
flat vector, the whole state of a run is a point on the sphere S^{D−1}, and "where a run
ends" has a plain geometry: the angle between two end points, and the loss along the
straight line between them (the linear-interpolation barrier).

- :func:`mlp`, :func:`convnet` and :func:`resnet18` build scale-invariant networks
  (:class:`SphereNet`); :func:`build` picks one by name;
- :func:`pretrain` runs a sweep over pre-training learning rates (PLRs) and seeds as one
  compiled program; :func:`finetune` continues every end point at several small
  fine-tuning learning rates (FLRs) and seeds, again as one program;
- :func:`evaluate`, :func:`angle`, :func:`interpolation_errors`, :func:`barrier`,
  :func:`sharpness` measure the end points; :func:`classify_regimes` sorts PLRs into the
  paper's regimes 1 (convergence), 2 (chaotic equilibrium) and 3 (random walk).

Divergence (a non-finite loss or weight) is recorded, never raised (see ``_scan.scan_frozen``).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from ._checks import one_of, positive_array, positive_float, positive_int
from ._scan import scan_frozen

#: ε inside the normalization; tiny, so that the scale invariance holds to float precision.
NORM_EPS = 1e-12

#: How :func:`pretrain`, :func:`continue_pretraining` and :func:`finetune` iterate: ``"scan"``
#: (one compiled ``lax.scan`` for the whole sweep) or ``"python"`` (one compiled, vmapped SGD
#: step over every run, called from a Python loop; for ConvNets on CPU, where XLA runs
#: convolutions inside ``scan`` bodies 10-20x slower, jax#12868). Same numbers either way.
LOOPS = ("scan", "python")

#: The CIFAR-10 architectures :func:`build` knows.
ARCHS = ("convnet", "resnet18")

#: Samples per forward pass when a loss or accuracy is taken over a whole data set: bounds
#: the memory of large networks on large data sets (smaller sets go in one pass).
SAMPLE_CHUNK = 512


# ---------------------------------------------------------------------- networks


@dataclass(frozen=True, eq=False)
class SphereNet:
    """A scale-invariant network whose trainable weights are one flat vector of length ``dim``.

    ``apply(w, x)`` returns logits of shape (N, outputs); it is invariant to w → αw (α > 0).
    ``head`` is the fixed last layer. Hashed by identity, so it can be a static jit argument.
    """

    name: str
    dim: int
    outputs: int
    apply: Callable[[jax.Array, jax.Array], jax.Array] = field(repr=False)
    head: np.ndarray = field(repr=False)
    shapes: tuple[tuple[int, ...], ...] = field(repr=False)

    def init(self, key: jax.Array) -> jax.Array:
        """A uniformly random point on the unit sphere (Gaussian weights, normalized)."""
        w = jax.random.normal(key, (self.dim,), jnp.float32)
        return w / jnp.linalg.norm(w)


def _normalize(h: jax.Array, axes: tuple[int, ...]) -> jax.Array:
    """Zero mean, unit variance over ``axes``; no learnable scale or shift."""
    mu = jnp.mean(h, axis=axes, keepdims=True)
    var = jnp.mean(jnp.square(h - mu), axis=axes, keepdims=True)
    return (h - mu) * jax.lax.rsqrt(var + NORM_EPS)


def _unflatten(w: jax.Array, shapes: tuple[tuple[int, ...], ...]) -> list[jax.Array]:
    out, i = [], 0
    for s in shapes:
        n = math.prod(s)
        out.append(w[i : i + n].reshape(s))
        i += n
    return out


def _fixed_head(key: jax.Array, fan_in: int, outputs: int, head_norm: float) -> np.ndarray:
    head = np.asarray(jax.random.normal(key, (fan_in, outputs)), dtype=np.float64)
    return (head * head_norm / np.linalg.norm(head)).astype(np.float32)


def mlp(input_dim: int, hidden: int = 32, depth: int = 2, outputs: int = 1, *, head_norm: float = 10.0, head_seed: int = 0) -> SphereNet:
    """A fully connected scale-invariant network: ``depth`` × (linear without bias →
    normalization over the units → ReLU), then a fixed linear head of Frobenius norm
    ``head_norm`` (the synthetic-task network of the paper, Sec. 6)."""
    input_dim = positive_int("input_dim", input_dim)
    hidden = positive_int("hidden", hidden)
    depth = positive_int("depth", depth)
    outputs = positive_int("outputs", outputs)
    head_norm = positive_float("head_norm", head_norm)
    if hidden < 2:
        raise ValueError("hidden must be at least 2: a normalization over one unit returns zero.")
    shapes = tuple([(input_dim, hidden)] + [(hidden, hidden)] * (depth - 1))
    head = _fixed_head(jax.random.PRNGKey(head_seed), hidden, outputs, head_norm)
    head_j = jnp.asarray(head)

    def apply(w: jax.Array, x: jax.Array) -> jax.Array:
        h = x
        for W in _unflatten(w, shapes):
            h = jax.nn.relu(_normalize(h @ W, (-1,)))
        return h @ head_j

    dim = sum(math.prod(s) for s in shapes)
    return SphereNet(f"SI-MLP {depth}×{hidden}", dim, outputs, apply, head, shapes)


def convnet(
    channels: tuple[int, ...] | list[int] = (8, 16, 32),
    outputs: int = 10,
    in_channels: int = 3,
    *,
    head_norm: float = 10.0,
    head_seed: int = 0,
) -> SphereNet:
    """A small scale-invariant ConvNet: per block a 3×3 convolution without bias → normalization
    over (height, width, channels) of each image → ReLU → 2×2 max-pool; then a global average
    pool and a fixed linear head of norm ``head_norm``. Inputs are NHWC images."""
    channels = tuple(positive_int("channels", c) for c in channels)
    if not channels:
        raise ValueError("channels must list at least one convolutional block, e.g. (8, 16, 32).")
    outputs = positive_int("outputs", outputs)
    in_channels = positive_int("in_channels", in_channels)
    head_norm = positive_float("head_norm", head_norm)
    shapes, c_in = [], in_channels
    for c in channels:
        shapes.append((3, 3, c_in, c))
        c_in = c
    shapes = tuple(shapes)
    head = _fixed_head(jax.random.PRNGKey(head_seed), channels[-1], outputs, head_norm)
    head_j = jnp.asarray(head)

    def apply(w: jax.Array, x: jax.Array) -> jax.Array:
        h = x
        for K in _unflatten(w, shapes):
            h = jax.lax.conv_general_dilated(h, K, (1, 1), "SAME", dimension_numbers=("NHWC", "HWIO", "NHWC"))
            h = jax.nn.relu(_normalize(h, (1, 2, 3)))
            if h.shape[1] >= 2:
                h = jax.lax.reduce_window(h, -jnp.inf, jax.lax.max, (1, 2, 2, 1), (1, 2, 2, 1), "VALID")
        return jnp.mean(h, axis=(1, 2)) @ head_j

    dim = sum(math.prod(s) for s in shapes)
    return SphereNet(f"SI-ConvNet {'-'.join(map(str, channels))}", dim, outputs, apply, head, shapes)


def _conv(h: jax.Array, K: jax.Array, stride: int = 1) -> jax.Array:
    return jax.lax.conv_general_dilated(h, K, (stride, stride), "SAME", dimension_numbers=("NHWC", "HWIO", "NHWC"))


def resnet18(width: int = 32, outputs: int = 10, in_channels: int = 3, *, head_norm: float = 10.0, head_seed: int = 0) -> SphereNet:
    """The paper's scale-invariant ResNet-18 (Sadrtdinov et al. 2024, Sec. 3 and App.): a
    pre-activation ResNet with stages of 2, 2, 2, 2 basic blocks of ``width``, 2·``width``,
    4·``width``, 8·``width`` channels (the paper uses width 32; 64 is the standard ResNet-18),
    strides 1, 2, 2, 2, a 3×3 stem, convolutions without bias, a normalization without
    learnable scale or shift before every ReLU and in each downsampling shortcut (before its
    1×1 convolution), then normalization, ReLU, global average pool and a fixed linear head of
    norm ``head_norm``. Every block's output is homogeneous of degree 1 in the weights and the
    head reads a normalized feature, so f(αw) = f(w). The paper normalizes with BatchNorm;
    here, as in :func:`convnet`, each image is normalized over (height, width, channels), so
    the network is a function of one image and needs no batch statistics. NHWC inputs."""
    width = positive_int("width", width)
    outputs = positive_int("outputs", outputs)
    in_channels = positive_int("in_channels", in_channels)
    head_norm = positive_float("head_norm", head_norm)
    shapes: list[tuple[int, ...]] = [(3, 3, in_channels, width)]
    blocks: list[tuple[int, bool]] = []  # (stride, has a projection shortcut)
    c_in = width
    for stage, stride in enumerate((1, 2, 2, 2)):
        c = width * 2**stage
        for b in range(2):
            s_ = stride if b == 0 else 1
            project_ = s_ != 1 or c_in != c
            shapes += [(3, 3, c_in, c), (3, 3, c, c)] + ([(1, 1, c_in, c)] if project_ else [])
            blocks.append((s_, project_))
            c_in = c
    shapes_t = tuple(shapes)
    head = _fixed_head(jax.random.PRNGKey(head_seed), c_in, outputs, head_norm)
    head_j = jnp.asarray(head)
    norm_relu = lambda h: jax.nn.relu(_normalize(h, (1, 2, 3)))  # noqa: E731

    def apply(w: jax.Array, x: jax.Array) -> jax.Array:
        K = iter(_unflatten(w, shapes_t))
        h = _conv(x, next(K))
        for stride, has_projection in blocks:
            a = norm_relu(h)
            branch = _conv(norm_relu(_conv(a, next(K), stride)), next(K))
            h = branch + (_conv(_normalize(a, (1, 2, 3)), next(K), stride) if has_projection else h)
        return jnp.mean(norm_relu(h), axis=(1, 2)) @ head_j

    dim = sum(math.prod(s) for s in shapes_t)
    return SphereNet(f"SI-ResNet-18 (width {width})", dim, outputs, apply, head, shapes_t)


def build(arch: str, *, outputs: int = 10, head_norm: float = 10.0, head_seed: int = 0, **options) -> SphereNet:
    """The CIFAR-10 network ``arch`` of :data:`ARCHS`: ``"convnet"`` (options: ``channels``)
    or ``"resnet18"`` (options: ``width``)."""
    builder = {"convnet": convnet, "resnet18": resnet18}[one_of("arch", arch, ARCHS)]
    allowed = {"convnet": {"channels", "in_channels"}, "resnet18": {"width", "in_channels"}}[arch]
    unknown = set(options) - allowed
    if unknown:
        raise ValueError(f"{arch} takes the options {sorted(allowed)}, not {sorted(unknown)}.")
    return builder(outputs=outputs, head_norm=head_norm, head_seed=head_seed, **options)


# ------------------------------------------------------------------ loss, accuracy


def loss_and_accuracy(logits: jax.Array, labels: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Mean cross-entropy and accuracy: binary (one logit, labels 0/1) or softmax (k logits)."""
    labels = labels.astype(jnp.int32)
    if logits.shape[-1] == 1:
        z = logits[..., 0]
        sign = 2.0 * labels - 1.0
        return jnp.mean(jax.nn.softplus(-sign * z)), jnp.mean((z > 0) == (labels == 1))
    logp = jax.nn.log_softmax(logits, axis=-1)
    nll = -jnp.take_along_axis(logp, labels[..., None], axis=-1)[..., 0]
    return jnp.mean(nll), jnp.mean(jnp.argmax(logits, axis=-1) == labels)


def _dataset_loss_and_accuracy(net: SphereNet, w: jax.Array, x: jax.Array, y: jax.Array) -> tuple[jax.Array, jax.Array]:
    """:func:`loss_and_accuracy` of ``w`` on the whole of (x, y), :data:`SAMPLE_CHUNK` samples
    per forward pass (``lax.map``); one pass when the set is no larger."""
    n = x.shape[0]
    if n <= SAMPLE_CHUNK:
        return loss_and_accuracy(net.apply(w, x), y)

    def sums(xc, yc):
        loss, acc = loss_and_accuracy(net.apply(w, xc), yc)
        return loss * xc.shape[0], acc * xc.shape[0]

    k = n // SAMPLE_CHUNK
    head = k * SAMPLE_CHUNK
    xs = x[:head].reshape((k, SAMPLE_CHUNK) + x.shape[1:])
    ys = y[:head].reshape(k, SAMPLE_CHUNK)
    loss, acc = jax.lax.map(lambda c: sums(*c), (xs, ys))
    loss, acc = jnp.sum(loss), jnp.sum(acc)
    if head < n:
        l_rest, a_rest = sums(x[head:], y[head:])
        loss, acc = loss + l_rest, acc + a_rest
    return loss / n, acc / n


def project(w: jax.Array) -> jax.Array:
    """Back onto the unit sphere: w / ‖w‖ (over the last axis)."""
    return w / jnp.linalg.norm(w, axis=-1, keepdims=True)


def angle(w1: jax.Array | np.ndarray, w2: jax.Array | np.ndarray) -> np.ndarray:
    """Angle (radians, in [0, π]) between weight vectors, over the last axis."""
    w1, w2 = np.asarray(w1, dtype=np.float64), np.asarray(w2, dtype=np.float64)
    if w1.shape[-1] != w2.shape[-1]:
        raise ValueError(f"weight vectors must have the same length, got {w1.shape[-1]} and {w2.shape[-1]}.")
    n1, n2 = np.linalg.norm(w1, axis=-1), np.linalg.norm(w2, axis=-1)
    if np.any(n1 == 0) or np.any(n2 == 0):
        raise ValueError("the angle to a zero vector is undefined.")
    return np.arccos(np.clip(np.sum(w1 * w2, axis=-1) / (n1 * n2), -1.0, 1.0))


# ------------------------------------------------------------------------ training


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


def _check_data(net: SphereNet, x, y) -> tuple[jax.Array, jax.Array]:
    x = jnp.asarray(x, jnp.float32)
    y = jnp.asarray(y)
    if x.ndim < 2 or y.ndim != 1 or x.shape[0] != y.shape[0] or x.shape[0] == 0:
        raise ValueError(f"x must be (N, ...) and y (N,) labels with N ≥ 1 matching, got {x.shape} and {y.shape}.")
    if not jnp.issubdtype(y.dtype, jnp.integer):
        raise ValueError(f"y must hold integer class labels, got dtype {y.dtype}.")
    hi = max(2, net.outputs)
    if int(y.min()) < 0 or int(y.max()) >= hi:
        raise ValueError(f"labels must lie in [0, {hi}) for a network with {net.outputs} output(s).")
    return x, y


def _batch_indices(key: jax.Array, t: jax.Array, n: int, batch: int) -> jax.Array:
    """Minibatch ``t``: ``batch`` indices drawn uniformly (with replacement) from a key
    that depends only on (key, t), so every learning rate sees the same sequence."""
    return jax.random.randint(jax.random.fold_in(key, t), (batch,), 0, n)


def _run_one(net: SphereNet, x, y, w0, eta, key, steps: int, batch: int, log_every: int):
    """One run of projected SGD at (effective) learning rate ``eta`` from ``w0``."""
    n = x.shape[0]

    def batch_loss(w, idx):
        return loss_and_accuracy(net.apply(w, x[idx]), y[idx])[0]

    grad = jax.grad(batch_loss)

    def sgd(state):
        def one(carry, _):
            w, t = carry
            w = project(w - eta * grad(w, _batch_indices(key, t, n, batch)))
            return (w, t + 1), None

        return jax.lax.scan(one, state, None, length=log_every)[0]

    def observe(state):
        return _dataset_loss_and_accuracy(net, state[0], x, y)

    recs, dead, dead_at, final = scan_frozen(sgd, (w0, jnp.zeros((), jnp.int32)), observe, steps // log_every)
    return recs[0], recs[1], final[0], dead, dead_at


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


def _python_runs(net: SphereNet, x, y, w0, etas, keys, steps: int, batch: int, log_every: int):
    """The runs of :func:`_run_one` for flat arrays of R runs (``w0`` (R, D), ``etas`` (R,),
    ``keys`` (R, 2)), stepped from a Python loop: one jitted SGD step vmapped over the runs,
    and after every ``log_every`` steps one jitted observation that freezes a run at its last
    finite logged state, exactly as :func:`catapult._scan.scan_frozen` does."""
    step_v, observe_v, freeze_v = _python_fns(net, batch)
    n = x.shape[0]
    w = w0
    loss, acc = observe_v(w, x, y)
    losses, accs = [loss], [acc]
    dead = jnp.zeros(w.shape[0], bool)
    dead_at = jnp.full(w.shape[0], -1, jnp.int32)
    t = 0
    for block in range(steps // log_every):
        new = w
        for _ in range(log_every):
            new = step_v(new, etas, keys, np.int32(t), x, y, n)
            t += 1
        w, dead, dead_at, loss, acc = freeze_v(w, new, dead, dead_at, np.int32(block + 1), x, y)
        losses.append(loss)
        accs.append(acc)
    return jnp.stack(losses, -1), jnp.stack(accs, -1), w, dead, dead_at


@functools.lru_cache(maxsize=32)
def _python_fns(net: SphereNet, batch: int):
    """Jitted pieces of :func:`_python_runs` for one network and batch size (cached, so
    repeated sweeps reuse the compiled step)."""

    def step(w, eta, key, t, x, y, n):
        idx = _batch_indices(key, t, n, batch)
        g = jax.grad(lambda v: loss_and_accuracy(net.apply(v, x[idx]), y[idx])[0])(w)
        return project(w - eta * g)

    def observe(w, x, y):
        return _dataset_loss_and_accuracy(net, w, x, y)

    step_v = jax.jit(jax.vmap(step, in_axes=(0, 0, 0, None, None, None, None)), static_argnums=6)
    observe_v = jax.vmap(observe, in_axes=(0, None, None))

    def freeze(w, new, dead, dead_at, block, x, y):
        loss, acc = observe_v(new, x, y)
        finite = jnp.all(jnp.isfinite(new), axis=-1) & jnp.isfinite(loss) & jnp.isfinite(acc)
        bad = dead | ~finite
        w = jnp.where(bad[:, None], w, new)
        dead_at = jnp.where(bad & ~dead, block, dead_at)
        return w, bad, dead_at, jnp.where(bad, jnp.nan, loss), jnp.where(bad, jnp.nan, acc)

    return step_v, jax.jit(observe_v), jax.jit(freeze)


def _flat_python(net, x, y, w0, etas, keys, lead, steps, batch, log_every):
    """:func:`_python_runs` over runs given with a common leading shape ``lead``
    (``w0`` lead + (D,), ``etas`` lead, ``keys`` lead + (2,)); outputs reshaped to ``lead``."""
    R = math.prod(lead)
    out = _python_runs(net, x, y, w0.reshape(R, -1), etas.reshape(R), keys.reshape(R, -1), steps, batch, log_every)
    return tuple(a.reshape(lead + a.shape[1:]) for a in out)


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
    order = jax.vmap(lambda k: jax.random.fold_in(k, 1))(keys)
    if one_of("loop", loop, LOOPS) == "python":
        P = plrs.size
        lead = (P, seeds)
        out = _flat_python(net, x, y, jnp.broadcast_to(w0, lead + w0.shape[1:]), jnp.broadcast_to(jnp.asarray(plrs)[:, None], lead),
                           jnp.broadcast_to(order, lead + order.shape[1:]), lead, steps, batch_size, log_every)
    else:
        out = _pretrain_jit(net, x, y, jnp.asarray(plrs), w0, order, steps, batch_size, log_every)
    return _pack(*out, steps, log_every)


_STATIC = ("net", "steps", "batch", "log_every")


def _pretrain_impl(net, x, y, plrs, w0, keys, steps, batch, log_every):
    run = lambda w, e, k: _run_one(net, x, y, w, e, k, steps, batch, log_every)  # noqa: E731
    over_seeds = jax.vmap(run, in_axes=(0, None, 0))
    return jax.vmap(over_seeds, in_axes=(None, 0, None))(w0, plrs, keys)


_pretrain_jit = jax.jit(_pretrain_impl, static_argnames=_STATIC)


def _continue_impl(net, x, y, w_start, plrs, keys, steps, batch, log_every):
    run = lambda w, e, k: _run_one(net, x, y, w, e, k, steps, batch, log_every)  # noqa: E731
    over_seeds = jax.vmap(run, in_axes=(0, None, 0))
    return jax.vmap(over_seeds, in_axes=(0, 0, None))(w_start, plrs, keys)


_continue_jit = jax.jit(_continue_impl, static_argnames=_STATIC)


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
    keys = jax.vmap(lambda s: jax.random.fold_in(key, s))(jnp.arange(w_end.shape[1]))
    if one_of("loop", loop, LOOPS) == "python":
        lead = w_end.shape[:2]
        out = _flat_python(net, x, y, project(w_end), jnp.broadcast_to(jnp.asarray(plrs)[:, None], lead),
                           jnp.broadcast_to(keys, lead + keys.shape[1:]), lead, steps, batch_size, log_every)
    else:
        out = _continue_jit(net, x, y, project(w_end), jnp.asarray(plrs), keys, steps, batch_size, log_every)
    return _pack(*out, steps, log_every)


def _finetune_impl(net, x, y, w_start, flrs, keys, steps, batch, log_every):
    run = lambda w, e, k: _run_one(net, x, y, w, e, k, steps, batch, log_every)  # noqa: E731
    over_ft_seeds = jax.vmap(run, in_axes=(None, None, 0))
    over_flrs = jax.vmap(over_ft_seeds, in_axes=(None, 0, None))
    flat = w_start.reshape(-1, w_start.shape[-1])
    out = jax.vmap(over_flrs, in_axes=(0, None, None))(flat, flrs, keys)
    lead = w_start.shape[:-1]
    return jax.tree_util.tree_map(lambda a: a.reshape(lead + a.shape[1:]), out)


_finetune_jit = jax.jit(_finetune_impl, static_argnames=_STATIC)


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
    w1 = w_start if w_start.ndim > 1 else w_start[None]
    if one_of("loop", loop, LOOPS) == "python":
        lead = w1.shape[:-1] + (flrs.size, seeds)
        out = _flat_python(net, x, y, jnp.broadcast_to(w1[..., None, None, :], lead + (net.dim,)),
                           jnp.broadcast_to(jnp.asarray(flrs)[:, None], lead), jnp.broadcast_to(keys, lead + keys.shape[1:]),
                           lead, steps, batch_size, log_every)
    else:
        out = _finetune_jit(net, x, y, w1, jnp.asarray(flrs), keys, steps, batch_size, log_every)
    if w_start.ndim == 1:
        out = jax.tree_util.tree_map(lambda a: a[0], out)
    return _pack(*out, steps, log_every)


# --------------------------------------------------------------------- measuring


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


# ----------------------------------------------------------------------- regimes


class Regimes(NamedTuple):
    """Regime (1, 2 or 3) of every PLR, from the late training loss averaged over seeds.

    ``late_loss`` (P,) is that average (inf if a seed diverged); ``threshold`` is the
    convergence threshold (geometric mean of the largest PLR of regime 1 and the next PLR;
    NaN unless regime 1 is a non-empty lowest range followed by another regime) and
    ``random_walk`` the smallest PLR of regime 3 (NaN if none).
    """

    regime: np.ndarray
    late_loss: np.ndarray
    threshold: float
    random_walk: float


def _late(records: np.ndarray, window: float) -> np.ndarray:
    """The records (..., T+1) of the last ``window`` fraction of training (at least two)."""
    if not 0 < window <= 1:
        raise ValueError(f"window must be a fraction in (0, 1], got {window!r}.")
    T = records.shape[-1]
    return records[..., T - max(2, int(round(window * (T - 1)))) :]


def late_statistics(runs: Runs, window: float = 0.25) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation of the logged training loss over the last ``window``
    fraction of training, per run (shape runs.loss.shape[:-1])."""
    tail = _late(runs.loss, window)
    with np.errstate(invalid="ignore"):
        return np.mean(tail, axis=-1), np.std(tail, axis=-1)


def late_accuracy(runs: Runs, window: float = 0.25) -> np.ndarray:
    """Mean logged training accuracy over the same late window as :func:`late_statistics`,
    per run (shape runs.accuracy.shape[:-1]); regime 3 sits at chance."""
    with np.errstate(invalid="ignore"):
        return np.mean(_late(runs.accuracy, window), axis=-1)


def classify_regimes(
    plrs,
    late_loss: np.ndarray,
    *,
    converged_below: float,
    random_above: float,
    late_accuracy: np.ndarray | None = None,
    chance_below: float | None = None,
    converged: str = "mean",
) -> Regimes:
    """Sort PLRs into regimes from the late training loss of each (PLR, seed) run, (P, S):
    regime 1 when the seeds' mean is below ``converged_below`` (``converged="mean"``) or
    when every seed's is (``converged="all"``: training converges whatever the seed; a PLR
    at which only some seeds converge is then regime 2), regime 3 when the mean is above
    ``random_above`` (the loss of a network that learned nothing; or a run diverged), and
    regime 2 in between. With ``late_accuracy`` (P, S) and ``chance_below``, a PLR whose
    seeds' mean late training accuracy is below ``chance_below`` (near chance: the run
    learned nothing it keeps) is regime 3 as well."""
    plrs = positive_array("plrs", plrs)
    late = np.asarray(late_loss, dtype=float)
    if late.ndim != 2 or late.shape[0] != plrs.size:
        raise ValueError(f"late_loss must have shape (len(plrs), seeds) = ({plrs.size}, S), got {late.shape}.")
    if not 0 < converged_below < random_above:
        raise ValueError("need 0 < converged_below < random_above.")
    if (late_accuracy is None) != (chance_below is None):
        raise ValueError("give late_accuracy and chance_below together (or neither).")
    mean = np.where(np.all(np.isfinite(late), axis=1), np.mean(late, axis=1), np.inf)
    random = mean > random_above
    if late_accuracy is not None:
        acc = np.asarray(late_accuracy, dtype=float)
        if acc.shape != late.shape:
            raise ValueError(f"late_accuracy must have the shape of late_loss {late.shape}, got {acc.shape}.")
        if not 0 < chance_below <= 1:
            raise ValueError(f"chance_below must be an accuracy in (0, 1], got {chance_below!r}.")
        acc_mean = np.where(np.all(np.isfinite(acc), axis=1), np.mean(acc, axis=1), 0.0)
        random = random | (acc_mean < chance_below)
    if converged == "mean":
        conv = mean < converged_below
    elif converged == "all":
        conv = np.all(np.where(np.isfinite(late), late, np.inf) < converged_below, axis=1)
    else:
        raise ValueError(f"converged must be 'mean' or 'all', got {converged!r}.")
    regime = np.where(conv, 1, np.where(random, 3, 2))
    order = np.argsort(plrs)
    r, p = regime[order], plrs[order]
    threshold = math.nan
    above = np.flatnonzero(r > 1)
    if above.size and above[0] > 0 and np.all(r[: above[0]] == 1):
        threshold = float(np.sqrt(p[above[0] - 1] * p[above[0]]))
    third = np.flatnonzero(r == 3)
    random_walk = float(p[third[0]]) if third.size else math.nan
    return Regimes(regime, mean, threshold, random_walk)


def subregimes(plrs, regime: np.ndarray, threshold: float, factor: float) -> tuple[np.ndarray, np.ndarray]:
    """Split regime 2 into subregime 2A, the PLRs of regime 2 at most ``factor`` times the
    convergence ``threshold`` (just above it), and 2B, the rest of regime 2. Returns two
    boolean masks of shape (P,); both empty when the threshold is NaN (no regime 1)."""
    plrs = positive_array("plrs", plrs)
    regime = np.asarray(regime)
    if regime.shape != plrs.shape:
        raise ValueError(f"regime must have one entry per PLR, shape {plrs.shape}, got {regime.shape}.")
    factor = positive_float("factor", factor)
    if factor < 1:
        raise ValueError(f"factor must be at least 1 (2A starts at the threshold), got {factor}.")
    in2 = regime == 2
    if not np.isfinite(threshold):
        return np.zeros_like(in2), np.zeros_like(in2)
    a = in2 & (plrs <= factor * threshold)
    return a, in2 & ~a


def best_inside_vs_outside(mean, error, inside) -> tuple[int, int, float, float]:
    """The best entry (highest ``mean``) inside the boolean mask ``inside`` and the best outside
    it: their indices, the difference of their means (inside − outside) and that difference in
    combined standard errors, ``error`` being each entry's standard error. With one side empty,
    that side's index is the overall best and the differences are NaN. E.g. the best PLR of
    subregime 2A against the best PLR elsewhere."""
    m = np.asarray(mean, dtype=float)
    e = np.asarray(error, dtype=float)
    inside = np.asarray(inside, dtype=bool)
    if m.ndim != 1 or e.shape != m.shape or inside.shape != m.shape:
        raise ValueError(f"mean, error and inside must be 1-d of one length, got {m.shape}, {e.shape}, {inside.shape}.")
    best = int(np.argmax(m))
    i_in = int(np.flatnonzero(inside)[np.argmax(m[inside])]) if inside.any() else best
    i_out = int(np.flatnonzero(~inside)[np.argmax(m[~inside])]) if (~inside).any() else best
    if not (inside.any() and (~inside).any()):
        return i_in, i_out, math.nan, math.nan
    diff = float(m[i_in] - m[i_out])
    return i_in, i_out, diff, diff / float(np.hypot(e[i_in], e[i_out]))


def mean_and_error(values) -> tuple[float, float]:
    """Mean and standard error of the mean (ddof = 1) of all finite entries of ``values``
    (e.g. a measurement over the PLR × seed runs of one subregime); NaN where undefined."""
    v = np.asarray(values, dtype=float).ravel()
    v = v[np.isfinite(v)]
    if v.size == 0:
        return math.nan, math.nan
    return float(v.mean()), float(v.std(ddof=1) / np.sqrt(v.size)) if v.size > 1 else math.nan
