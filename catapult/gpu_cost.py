"""What the paper scale costs on a GPU: measurements shipped with the package, and FLOP counts.

The book's build runs on CPUs; the GPU numbers its pages cite were measured once by
``benchmarks/paper_cost.py`` and ship as ``catapult/measured/<name>.json``. :func:`measured`
reads them; :func:`forward_flops` asks XLA how many floating-point operations one forward
pass of a network costs, so a page can turn a training schedule into GPU time at a
measured throughput.
"""

from __future__ import annotations

import importlib.resources
import json
from typing import Any, Callable

import jax

__all__ = [
    "measured",
    "conv_tflops",
    "forward_flops",
    "lowered_flops",
    "sgd_hours",
]


def measured(name: str = "paper_cost") -> dict[str, Any]:
    """The shipped measurement ``catapult/measured/<name>.json`` (e.g. ``"paper_cost"``: chapter 4
    at paper scale on one GPU, with its environment)."""
    path = importlib.resources.files("catapult").joinpath("measured", f"{name}.json")
    if not path.is_file():
        known = sorted(p.name.removesuffix(".json") for p in importlib.resources.files("catapult").joinpath("measured").iterdir())
        raise ValueError(f"no measurement {name!r} ships with catapult; there are: {', '.join(known)}.")
    return json.loads(path.read_text())


def conv_tflops(cost: dict[str, Any] | None = None) -> float:
    """Model TFLOP/s of a convolutional network's SGD steps measured on the GPU: the
    WRN-28-10 at batch 128 of chapter 4 (forward + backward FLOPs over wall time)."""
    cost = measured() if cost is None else cost
    return float(cost["measurements"]["wrn_step_1_rates"]["model_tflop_per_s"])


def _flops(analysis: Any, what: str) -> float:
    """The FLOP count of an XLA cost analysis (one dict, or one per device in older jax)."""
    if isinstance(analysis, (list, tuple)):
        analysis = analysis[0]
    flops = float((analysis or {}).get("flops", float("nan")))
    if not flops > 0:
        raise RuntimeError(f"XLA's cost analysis of the {what} gave no FLOP count.")
    return flops


def forward_flops(apply: Callable[..., jax.Array], *args: Any) -> float:
    """Floating-point operations of one call ``apply(*args)``, as counted by XLA's cost analysis
    of the compiled program (on the default backend)."""
    return _flops(jax.jit(apply).lower(*args).compile().cost_analysis(), "compiled program on this backend")


def sgd_hours(forward_flops: float, *, steps: float, batch_size: int, n_train: int, log_every: float, tflops: float) -> float:
    """Hours of one GPU for ``steps`` SGD steps (summed over all runs) at ``tflops`` model TFLOP/s:
    three forward passes' FLOPs per image of each minibatch (forward and backward), plus one
    forward pass over the ``n_train`` training images every ``log_every`` steps (the logged
    training-set loss). ``forward_flops`` is one image's forward pass (:func:`forward_flops`)."""
    for name, v in (("forward_flops", forward_flops), ("steps", steps), ("batch_size", batch_size), ("n_train", n_train),
                    ("log_every", log_every), ("tflops", tflops)):
        if not (isinstance(v, (int, float)) and v > 0):
            raise ValueError(f"{name} must be a positive number, got {v!r}.")
    flops = forward_flops * steps * (3 * batch_size + n_train / log_every)
    return flops / (tflops * 1e12) / 3600


def lowered_flops(apply: Callable[..., jax.Array], *args: Any) -> float:
    """Floating-point operations of one call ``apply(*args)`` from XLA's cost analysis of the
    lowered program, without compiling it (``args`` may be ``jax.ShapeDtypeStruct``s): cheap on a
    CPU for networks as large as the paper's WRN-28-10."""
    return _flops(jax.jit(apply).lower(*args).cost_analysis(), "lowered program")
