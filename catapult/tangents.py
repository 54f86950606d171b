"""The one door to neural-tangents: import it here, nowhere else.

neural-tangents 0.6.5 (December 2023) is the last release, and it was written against jax
0.4. On today's jax (Colab's 0.7.2 up to 0.12) it fails to import for reasons that have
nothing to do with the parts this book uses (``stax``, ``empirical_ntk_fn``, ``linearize``,
``batch``):

1. ``import neural_tangents`` imports ``neural_tangents.experimental``, which imports
   TensorFlow and ``jax.experimental.jax2tf`` for ``empirical_ntk_fn_tf`` alone. A stand-in
   module takes its place; touching any of its names raises :class:`ExperimentalUnavailable`.
2. names that moved inside jax: ``jax.core.Jaxpr`` and friends (now in ``jax._src.core``),
   ``jax.util.safe_map``/``safe_zip`` (the module ``jax.util`` is gone from 0.8),
   ``jax.interpreters.ad.zeros_like_p`` (gone in 0.12; neural-tangents only keys rules on it).
3. ``NtkImplementation.STRUCTURED_DERIVATIVES`` walks jaxprs with jax internals:
   ``ad.source_info_util``, ``ad.config``, ``ad.reducing_transposes``,
   ``Primitive.map_primitive``, ``core.DShapedArray``, and ``ad.linearize``, whose signature
   jax rewrote (0.7.2 has the old one, 0.10.2 and later the new). Where it changed,
   neural-tangents' ``empirical`` module gets its own view of ``ad`` with the old signature
   (:class:`_AdView`), built on public ``jax.linearize``; jax's ``ad`` is left as it is.

:func:`compat` adds only names that are missing (never replaces one jax has, never edits an
installed file) and records what it added in :func:`status`. The structured-derivatives
path depends on jax internals, so :func:`choose_implementation` checks it once against the
Jacobian contraction on a small network; if it raises or disagrees, every request for it is
served by the default implementation instead (the same kernel, slower), and one line on
standard output says so.

    from catapult import tangents
    nt = tangents.neural_tangents()        # the package, importable without TensorFlow
    stax = tangents.stax()
"""

from __future__ import annotations

import functools
import importlib
import sys
import types
from typing import Any, Callable

import jax

__all__ = [
    "NT_VERSION",
    "ExperimentalUnavailable",
    "compat",
    "neural_tangents",
    "stax",
    "structured_derivatives_work",
    "choose_implementation",
    "empirical_ntk_fn",
    "status",
]


#: The release this door was written and tested against.
NT_VERSION = "0.6.5"

_added: list[str] = []
_structured: dict[str, Any] = {}


class ExperimentalUnavailable(ImportError):
    """``neural_tangents.experimental`` needs TensorFlow, which this book does not install."""


def _stand_in_experimental() -> types.ModuleType:
    module = types.ModuleType(
        "neural_tangents.experimental",
        "Stand-in installed by catapult.tangents: the real module needs TensorFlow.",
    )

    def __getattr__(name: str):
        if name.startswith("__"):
            raise AttributeError(name)
        raise ExperimentalUnavailable(
            f"neural_tangents.experimental.{name} is not available: it needs TensorFlow and "
            "jax2tf, which catapult-book does not install (the book uses nt.stax, "
            "nt.empirical_ntk_fn, nt.linearize and nt.batch only). For TensorFlow models, "
            "install neural-tangents with its dependencies in a separate environment."
        )

    module.__getattr__ = __getattr__
    return module


def _add(owner: Any, name: str, value: Any, where: str) -> None:
    """Set ``owner.name = value`` only if ``owner`` lacks it; remember that we did."""
    if not hasattr(owner, name):
        setattr(owner, name, value)
        _added.append(f"{where}.{name}")


def compat() -> None:
    """Make neural-tangents 0.6.5 importable on this jax without TensorFlow (idempotent).

    Must run before ``neural_tangents`` is first imported; :func:`neural_tangents` does so.
    """
    if "neural_tangents.experimental" not in sys.modules:
        sys.modules["neural_tangents.experimental"] = _stand_in_experimental()
        _added.append("sys.modules['neural_tangents.experimental'] (stand-in)")

    import jax.core as core
    import jax.interpreters.ad as ad
    from jax._src import core as src_core
    from jax._src import source_info_util
    from jax._src import util as src_util

    for name in ("Jaxpr", "JaxprEqn", "Literal", "Primitive", "Var", "Value", "ShapedArray",
                 "AbstractValue", "eval_context", "get_aval"):
        if hasattr(src_core, name):
            _add(core, name, getattr(src_core, name), "jax.core")
    # Only compared against with ``type(a) is core.DShapedArray``: a class nothing is an instance of.
    _add(core, "DShapedArray", getattr(src_core, "DShapedArray", type("DShapedArray", (), {})), "jax.core")

    try:
        util = importlib.import_module("jax.util")
    except ImportError:
        util = types.ModuleType("jax.util", "Stand-in installed by catapult.tangents (gone from jax 0.8).")
        sys.modules["jax.util"] = util
        _added.append("sys.modules['jax.util'] (stand-in)")
    _add(util, "safe_map", src_util.safe_map, "jax.util")
    _add(util, "safe_zip", src_util.safe_zip, "jax.util")
    if not hasattr(jax, "util"):
        jax.util = util

    # neural-tangents registers Jacobian rules keyed by this primitive; any unique key will do.
    _add(ad, "zeros_like_p", src_core.Primitive("zeros_like"), "jax.interpreters.ad")
    _add(ad, "source_info_util", source_info_util, "jax.interpreters.ad")
    _add(ad, "config", jax.config, "jax.interpreters.ad")
    _add(ad, "reducing_transposes", {}, "jax.interpreters.ad")
    _add(src_core.Primitive, "map_primitive", False, "jax.core.Primitive")


class _AdView(types.ModuleType):
    """``jax.interpreters.ad`` as neural-tangents' ``empirical`` module expects it: every name
    passes through, except ``linearize``, which keeps the old signature
    ``linearize(wrapped_fun, *primals, has_aux=False) -> (primals_out, pvals, jaxpr, consts)``."""

    def __init__(self, ad: types.ModuleType):
        super().__init__("jax.interpreters.ad (catapult.tangents view)")
        self._ad = ad

    def __getattr__(self, name: str):
        return getattr(self._ad, name)

    def linearize(self, fn_flat, *primals, has_aux: bool = False):
        if has_aux:
            raise NotImplementedError("catapult.tangents' linearize view supports has_aux=False only.")
        return _linearize_via_jvp_jaxpr(fn_flat, primals)


def _linearize_via_jvp_jaxpr(fn_flat, primals):
    """Old-style ``ad.linearize`` output from public jax: the linear map's jaxpr.

    ``jax.linearize`` gives the primal outputs and the linear map; the jaxpr of that map,
    traced at the tangents' avals, has the tangents as ``invars`` and the residuals as
    ``constvars`` (checked on jax 0.7.2 to 0.12), the shape neural-tangents' backward pass
    walks. Its ``pvals`` need only say that no output is known.
    """
    call = fn_flat.call_wrapped if hasattr(fn_flat, "call_wrapped") else fn_flat
    primals_out, f_jvp = jax.linearize(lambda *p: tuple(call(*p)), *primals)
    tangent_avals = [jax.ShapeDtypeStruct(jax.numpy.shape(p), jax.numpy.result_type(p)) for p in primals]
    closed = jax.make_jaxpr(f_jvp)(*tangent_avals)
    if len(closed.consts) != len(closed.jaxpr.constvars):
        raise NotImplementedError("this jax's jaxprs carry their constants in a new way")
    return list(primals_out), [_UNKNOWN] * len(primals_out), closed.jaxpr, list(closed.consts)


class _Unknown:
    """A partial value that is not known (every output of a linearization)."""

    @staticmethod
    def is_known() -> bool:
        return False


_UNKNOWN = _Unknown()


@functools.lru_cache(maxsize=None)
def neural_tangents() -> types.ModuleType:
    """The ``neural_tangents`` package, imported after :func:`compat`."""
    compat()
    try:
        nt = importlib.import_module("neural_tangents")
    except ImportError as e:  # noqa: F841 - re-raised with what to do
        if isinstance(e, ModuleNotFoundError) and e.name == "neural_tangents":
            raise ModuleNotFoundError(
                "neural-tangents is not installed. Install it without its dependencies "
                f"(its metadata asks for TensorFlow, which the book does not need): "
                f"pip install --no-deps neural-tangents=={NT_VERSION} frozendict",
                name="neural_tangents",
            ) from e
        raise
    if getattr(nt, "__version__", None) != NT_VERSION:
        _added.append(f"(neural-tangents {getattr(nt, '__version__', '?')} is not the tested {NT_VERSION})")
    return nt


def stax() -> types.ModuleType:
    """``neural_tangents.stax``."""
    return neural_tangents().stax


def _needs_linearize_view() -> bool:
    """Whether jax's internal ``ad.linearize`` lost the old ``(traceable, *primals)`` form
    (jax 0.10 and newer take one flattened tree of primals instead)."""
    import inspect

    from jax.interpreters import ad

    try:
        params = inspect.signature(ad.linearize).parameters.values()
    except (TypeError, ValueError):
        return True
    return not any(p.kind is inspect.Parameter.VAR_POSITIONAL for p in params)


def _use_linearize_view() -> None:
    empirical = importlib.import_module("neural_tangents._src.empirical")
    if _needs_linearize_view() and not isinstance(empirical.ad, _AdView):
        empirical.ad = _AdView(empirical.ad)
        _added.append("neural_tangents._src.empirical.ad (view with the old ad.linearize)")


def _probe_structured(nt: types.ModuleType) -> float:
    """Largest relative deviation of the structured-derivatives NTK from the Jacobian
    contraction on a small Dense-ReLU-Dense-tanh-Dense network (raises if it fails to run)."""
    import jax.numpy as jnp

    s = nt.stax
    init_fn, apply_fn, _ = s.serial(s.Dense(16), s.Relu(), s.Dense(8), s.Erf(), s.Dense(3))
    x = jax.random.normal(jax.random.PRNGKey(0), (5, 4))
    _, params = init_fn(jax.random.PRNGKey(1), x.shape)
    kw = dict(trace_axes=(), vmap_axes=0)
    ref = nt.empirical_ntk_fn(apply_fn, implementation=nt.NtkImplementation.JACOBIAN_CONTRACTION, **kw)(x, None, params)
    got = jax.jit(nt.empirical_ntk_fn(apply_fn, implementation=nt.NtkImplementation.STRUCTURED_DERIVATIVES, **kw))(x, None, params)
    return float(jnp.max(jnp.abs(got - ref)) / jnp.max(jnp.abs(ref)))


def _announce(message: str) -> None:
    print(f"catapult.tangents: {message}", flush=True)


def structured_derivatives_work() -> bool:
    """Whether ``STRUCTURED_DERIVATIVES`` runs on this jax and matches the Jacobian
    contraction (to 1e-4, float32); checked once per process."""
    if "ok" not in _structured:
        nt = neural_tangents()
        try:
            _use_linearize_view()
            deviation = _probe_structured(nt)
            ok = deviation < 1e-4
            reason = "" if ok else f"it deviates from the Jacobian contraction by {deviation:.1e}"
        except Exception as e:  # any failure inside jax internals means: do not use it
            ok, reason = False, f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"
        _structured.update(ok=ok, reason=reason)
        if not ok:
            _announce(
                f"neural-tangents' structured-derivatives NTK does not work on jax {jax.__version__} "
                f"({reason}); using the Jacobian contraction instead (same kernel, slower)."
            )
    return bool(_structured["ok"])


def choose_implementation(requested: int | None = None) -> int:
    """The ``NtkImplementation`` to use for ``requested`` (default: Jacobian contraction):
    ``STRUCTURED_DERIVATIVES`` falls back to ``JACOBIAN_CONTRACTION`` where it does not work."""
    nt = neural_tangents()
    impl = nt.NtkImplementation
    requested = int(impl.JACOBIAN_CONTRACTION if requested is None else requested)
    if requested not in {int(i) for i in impl}:
        raise ValueError(f"unknown NTK implementation {requested!r}; use a member of nt.NtkImplementation.")
    if requested == int(impl.STRUCTURED_DERIVATIVES) and not structured_derivatives_work():
        return int(impl.JACOBIAN_CONTRACTION)
    return requested


def empirical_ntk_fn(apply_fn: Callable, implementation: int | None = None, **kw) -> Callable:
    """``nt.empirical_ntk_fn(apply_fn, implementation=..., **kw)``, the implementation chosen
    by :func:`choose_implementation` (structured derivatives only where they work)."""
    return neural_tangents().empirical_ntk_fn(apply_fn, implementation=choose_implementation(implementation), **kw)


def status() -> dict[str, Any]:
    """What this door did: versions, the names it added, and the structured-derivatives check."""
    import jaxlib

    out: dict[str, Any] = {
        "jax": jax.__version__,
        "jaxlib": getattr(jaxlib, "__version__", "?"),
        "neural_tangents": getattr(sys.modules.get("neural_tangents"), "__version__", None),
        "added": list(_added),
    }
    if "ok" in _structured:
        out["structured_derivatives"] = "works" if _structured["ok"] else f"fallback ({_structured['reason']})"
    return out
