"""neural-tangents ``stax`` builders with the paper's settings (App. A).

Each builder returns ``(init_fn, apply_fn, kernel_fn)``, so a chapter gets the finite
network, and the infinite-width NTK that predicts its λ0, from one call.
"""

from __future__ import annotations

import functools
import math
import warnings

import jax
import numpy as np

from . import tangents
from ._checks import one_of, positive_float, positive_int

__all__ = [
    "NONLINEARITIES",
    "fully_connected",
    "cnn",
    "wide_resnet",
    "lambda0_versus_width",
]


# neural-tangents warns when a tanh kernel is computed by quadrature (on purpose here) and
# when parallel branches declare channel axes as -1 and 3 (the same axis of NHWC images).
_NT_NOTICES = ("Numerical Activation Layer", "Got potentially mismatching")


def _quiet_nt(fn):
    """Call ``fn`` with neural-tangents' expected UserWarnings silenced (a chapter's
    stderr must stay empty); returns a wrapper with the same signature."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with warnings.catch_warnings():
            for notice in _NT_NOTICES:
                warnings.filterwarnings("ignore", message=notice, category=UserWarning)
            return fn(*args, **kwargs)

    return wrapper


def _compiled_init(init_fn):
    """``init_fn`` whose parameters come from one compiled program per input shape.

    stax draws each layer's weights with its own eager ``random.normal``, and XLA compiles one
    program per weight shape (about 4 s for a Wide ResNet on XLA:CPU); compiled as one, the
    same draws cost one compilation. The same values: the same random bits and scalings."""
    programs = {}

    @functools.wraps(init_fn)
    def init(key, input_shape):
        input_shape = tuple(int(d) for d in input_shape)
        if input_shape not in programs:
            shapes = {}

            def params_only(k):
                shapes["out"], params = init_fn(k, input_shape)
                return params

            programs[input_shape] = jax.jit(params_only), shapes
        program, shapes = programs[input_shape]
        params = program(key)
        return shapes["out"], params

    return init


def _quiet_triple(triple):
    """(init_fn, apply_fn, kernel_fn) whose kernel_fn and init_fn run with the notices silenced,
    the initialization compiled as one program (:func:`_compiled_init`)."""
    init_fn, apply_fn, kernel_fn = triple
    return _compiled_init(_quiet_nt(init_fn)), apply_fn, _quiet_nt(kernel_fn)


NONLINEARITIES = ("relu", "tanh")


def _nonlinearity(stax, name: str):
    """A stax layer for ``name``: ReLU in closed form; tanh by Gauss-Hermite quadrature
    (stax has no closed-form tanh kernel; ``ElementwiseNumerical`` gives its NNGP/NTK)."""
    if name == "relu":
        return stax.Relu()
    import jax.numpy as jnp

    return stax.ElementwiseNumerical(jnp.tanh, deg=32, df=lambda x: 1.0 - jnp.tanh(x) ** 2)


# Builders are cached: the same arguments give the same functions, so a chapter that builds a
# network twice (or a benchmark that calls a chapter's sweep again) reuses its compiled programs,
# which are cached on the apply function.
@functools.lru_cache(maxsize=None)
@_quiet_nt
def fully_connected(
    width: int,
    depth: int,
    outputs: int,
    w_std: float | None = None,
    b_std: float | None = None,
    parameterization: str = "ntk",
    nonlinearity: str = "relu",
):
    """A fully connected network: ``depth`` hidden layers of ``width`` units and a linear readout.

    ``nonlinearity`` is ``"relu"`` (Fig. 3a-c) or ``"tanh"`` (Fig. S10). ``w_std`` defaults
    to σ_w² = 2 for ReLU (He) and σ_w² = 1 for tanh (LeCun, as the paper says for its tanh
    network): with the NTK parameterization the forward pass at initialization is that of
    the LeCun-initialized network; ``parameterization="standard"`` trains it in the
    standard parameterization instead. No bias by default (App. A's σ_w, σ_b are not
    recoverable from the paper's text; these are standard choices).
    """
    width, depth, outputs = positive_int("width", width), positive_int("depth", depth), positive_int("outputs", outputs)
    one_of("nonlinearity", nonlinearity, NONLINEARITIES)
    w_std = positive_float("w_std", (math.sqrt(2.0) if nonlinearity == "relu" else 1.0) if w_std is None else w_std)
    if b_std is not None:
        b_std = positive_float("b_std", b_std)
    one_of("parameterization", parameterization, ("ntk", "standard"))
    stax = tangents.stax()
    layers = []
    for _ in range(depth):
        layers += [
            stax.Dense(width, W_std=w_std, b_std=b_std, parameterization=parameterization),
            _nonlinearity(stax, nonlinearity),
        ]
    layers.append(stax.Dense(outputs, W_std=w_std, b_std=b_std, parameterization=parameterization))
    return _quiet_triple(stax.serial(*layers))


@functools.lru_cache(maxsize=None)
@_quiet_nt
def cnn(
    outputs: int = 10,
    channels: int = 300,
    dense: int = 500,
    kernel: int = 5,
    w_std: float = 1.0,
    b_std: float | None = 0.0,
    parameterization: str = "standard",
):
    """The convolutional network of App. A (Fig. 5a,b), for NHWC images.

    Conv(channels, kernel×kernel, SAME) → ReLU → AvgPool(2×2) → Conv(channels) → ReLU →
    AvgPool(2×2) → Flatten → Dense(dense) → ReLU → Dense(dense) → ReLU → Dense(outputs),
    LeCun initialization (σ_w² = 1, standard parameterization) as App. A says. The layer
    list follows our reading of App. A (two convolutions of 300 channels, two dense layers
    of 500 units); the exact pooling windows could not be recovered from the stored text,
    and App. A's max pooling is replaced by average pooling because stax has no
    ``MaxPool`` (max pooling has no closed-form NTK). Treat it as a small standard CNN of
    the paper's size, not a bit-exact copy.
    """
    outputs, channels, dense = positive_int("outputs", outputs), positive_int("channels", channels), positive_int("dense", dense)
    kernel = positive_int("kernel", kernel)
    w_std = positive_float("w_std", w_std)
    if b_std is not None and b_std != 0.0:
        b_std = positive_float("b_std", b_std)
    one_of("parameterization", parameterization, ("ntk", "standard"))
    stax = tangents.stax()
    kw = dict(W_std=w_std, b_std=b_std, parameterization=parameterization)
    return _quiet_triple(stax.serial(
        stax.Conv(channels, (kernel, kernel), padding="SAME", **kw),
        stax.Relu(),
        stax.AvgPool((2, 2), (2, 2)),
        stax.Conv(channels, (kernel, kernel), padding="SAME", **kw),
        stax.Relu(),
        stax.AvgPool((2, 2), (2, 2)),
        stax.Flatten(),
        stax.Dense(dense, **kw),
        stax.Relu(),
        stax.Dense(dense, **kw),
        stax.Relu(),
        stax.Dense(outputs, **kw),
    ))


@functools.lru_cache(maxsize=None)
@_quiet_nt
def wide_resnet(
    depth: int,
    widening: int,
    outputs: int = 10,
    w_std: float = 1.0,
    parameterization: str = "standard",
    norm: str | None = "layer",
):
    """A Wide ResNet WRN-``depth``-``widening`` (Zagoruyko & Komodakis) for NHWC images.

    ``depth`` = 6n + 4: a 3×3 convolution of 16 channels, three groups of n pre-activation
    residual blocks with 16·widening, 32·widening and 64·widening channels (strides 1, 2, 2),
    a final normalization and ReLU, global average pooling and a dense readout. A block is
    norm → ReLU → Conv3×3(stride) → norm → ReLU → Conv3×3, added to the identity, or to a
    1×1 convolution where the shape changes. WRN-28-10 is the paper's (Fig. 3d-f);
    initialization is LeCun (σ_w² = 1, standard parameterization) as in App. A.

    Batch normalization is replaced: stax has no BatchNorm, and batch statistics would make
    each sample's output, hence the NTK on a fixed batch of App. A, depend on which other
    samples share its batch. ``norm="layer"`` (default) puts a per-sample ``LayerNorm``
    over height, width and channels where BN would be, which keeps the normalization's
    scale invariance of the block inputs with a function of each sample alone;
    ``norm=None`` drops it (the neural-tangents example WRN).
    """
    depth, widening, outputs = positive_int("depth", depth), positive_int("widening", widening), positive_int("outputs", outputs)
    if (depth - 4) % 6 or depth < 10:
        raise ValueError(f"a Wide ResNet has depth = 6n + 4 with n >= 1 (10, 16, 22, 28, ...), got {depth}.")
    w_std = positive_float("w_std", w_std)
    one_of("parameterization", parameterization, ("ntk", "standard"))
    one_of("norm", norm, ("layer", None))
    stax = tangents.stax()
    conv = lambda c, size, strides=(1, 1): stax.Conv(  # noqa: E731
        c, (size, size), strides, padding="SAME", W_std=w_std, b_std=None, parameterization=parameterization
    )
    normalize = (lambda: stax.LayerNorm(axis=(1, 2, 3))) if norm == "layer" else stax.Identity  # noqa: E731

    def block(channels, strides, project):
        main = stax.serial(
            normalize(), stax.Relu(), conv(channels, 3, strides), normalize(), stax.Relu(), conv(channels, 3)
        )
        shortcut = conv(channels, 1, strides) if project else stax.Identity()
        return stax.serial(stax.FanOut(2), stax.parallel(main, shortcut), stax.FanInSum())

    n = (depth - 4) // 6
    layers = [conv(16, 3)]
    in_channels = 16
    for channels, stride in ((16 * widening, 1), (32 * widening, 2), (64 * widening, 2)):
        for i in range(n):
            strides = (stride, stride) if i == 0 else (1, 1)
            layers.append(block(channels, strides, project=(i == 0 and (stride != 1 or channels != in_channels))))
            in_channels = channels
    layers += [
        normalize(),
        stax.Relu(),
        stax.GlobalAvgPool(),
        stax.Dense(outputs, W_std=w_std, b_std=None, parameterization=parameterization),
    ]
    return _quiet_triple(stax.serial(*layers))


def lambda0_versus_width(
    key, x, widths, depth: int, outputs: int = 1, seeds: int = 1, **kw
) -> tuple[float, "np.ndarray"]:
    """λ0 of ``fully_connected`` nets at each width and seed (matrix-free), and at infinite width.

    Returns (λ0 from the infinite-width NTK, array (len(widths), seeds) of finite-width λ0),
    both in the paper's normalization (see :mod:`catapult.ntk`); ``kw`` goes to the builder.
    """
    import jax
    import numpy as np

    from . import ntk

    seeds = positive_int("seeds", seeds)
    widths = [positive_int("width", w) for w in widths]
    _, _, kernel_fn = fully_connected(max(widths), depth, outputs, **kw)
    lam_inf = ntk.infinite_width_top_eigenvalue(kernel_fn, x, outputs)
    lam = np.zeros((len(widths), seeds))
    for i, width in enumerate(widths):
        init_fn, apply_fn, _ = fully_connected(width, depth, outputs, **kw)
        for s in range(seeds):
            _, params = init_fn(jax.random.fold_in(key, 1000 * i + s), x.shape)
            lam[i, s] = ntk.top_eigenvalue(apply_fn, params, x)
    return lam_inf, lam
