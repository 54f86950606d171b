"""Double precision on demand, on every jax the book supports.

The book computes in float32 (jax's default); the exact-dynamics checks of chapters 1-2 and
the tests switch to float64 inside a ``with precision.float64():`` block. jax moved this
switch: ``jax.experimental.enable_x64()`` up to jax 0.8, ``jax.enable_x64(True)`` from 0.8 on
(the experimental one is gone from 0.9).
"""

from __future__ import annotations

from contextlib import AbstractContextManager

import jax

__all__ = [
    "float64",
]


def float64() -> AbstractContextManager:
    """A context manager inside which new jax arrays default to float64 (and int64)."""
    if hasattr(jax, "enable_x64"):
        return jax.enable_x64(True)
    from jax.experimental import enable_x64  # jax < 0.8

    return enable_x64()
