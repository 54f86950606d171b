"""Scale-invariant networks whose trainable weights are one flat vector (Sadrtdinov et al. 2024).

Every hidden layer is followed by a normalization without learnable scale or shift, and
the last layer is fixed, so the network's output does not change when the trainable
weights are multiplied by any α > 0: f(αw) = f(w). Its gradient is then orthogonal to w
and shrinks as 1/‖w‖, which is why :mod:`catapult.sphere.sgd` trains it on the unit sphere.

- :func:`mlp`: the fully connected network of the paper's synthetic task (Sec. 6);
- :func:`convnet`: a small ConvNet for CIFAR-10 at the book's small scales;
- :func:`resnet18`: the paper's SI ResNet-18 (Sec. 3 and App.);
- :func:`build` picks a CIFAR-10 network of :data:`ARCHS` by name.

Also here, because training and measuring both need them: :func:`loss_and_accuracy` of a
network's logits (binary or softmax cross-entropy), the loss and accuracy over a whole data
set in chunks of :data:`SAMPLE_CHUNK` samples, and the check of a data set against a network.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np

from .._checks import one_of, positive_float, positive_int

__all__ = [
    "NORM_EPS",
    "ARCHS",
    "SAMPLE_CHUNK",
    "SphereNet",
    "mlp",
    "convnet",
    "resnet18",
    "build",
    "loss_and_accuracy",
]

#: ε inside the normalization; tiny, so that the scale invariance holds to float precision.
NORM_EPS = 1e-12

#: The CIFAR-10 architectures :func:`build` knows.
ARCHS = ("convnet", "resnet18")

#: Samples per forward pass when a loss or accuracy is taken over a whole data set: bounds
#: the memory of large networks on large data sets (smaller sets go in one pass). Read here,
#: in ``catapult.sphere.networks`` (``catapult.sphere.SAMPLE_CHUNK`` is a copy of the value).
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


def _check_data(net: SphereNet, x, y) -> tuple[jax.Array, jax.Array]:
    """``x`` as float32 (N, ...) and ``y`` as integer labels (N,) that ``net``'s outputs can score; ValueError otherwise."""
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
