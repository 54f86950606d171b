"""Input validation shared by every module: bad input fails early, with a message
that says what is wrong and what to pass instead."""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np


def positive_int(name: str, value: Any) -> int:
    """Return ``value`` as an int, or raise ValueError unless it is a whole number >= 1."""
    if isinstance(value, bool) or not isinstance(value, (numbers.Integral, float, np.floating)):
        raise ValueError(f"{name} must be a positive whole number, got {value!r} ({type(value).__name__}).")
    if not math.isfinite(float(value)) or float(value) != int(value) or int(value) < 1:
        raise ValueError(f"{name} must be a positive whole number (>= 1), got {value!r}.")
    return int(value)


def positive_float(name: str, value: Any) -> float:
    """Return ``value`` as a float, or raise ValueError unless it is finite and > 0."""
    if isinstance(value, bool) or not isinstance(value, (numbers.Real, np.floating, np.integer)):
        raise ValueError(f"{name} must be a positive finite number, got {value!r} ({type(value).__name__}).")
    x = float(value)
    if not math.isfinite(x) or x <= 0.0:
        raise ValueError(f"{name} must be a positive finite number, got {value!r}.")
    return x


def positive_array(name: str, values: Any) -> np.ndarray:
    """Return ``values`` as a float64 array (at least 1-d, any shape), or raise ValueError
    unless it is non-empty and every entry is finite and > 0."""
    try:
        arr = np.asarray(values, dtype=float)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{name} must be positive finite numbers, got {values!r}.") from err
    arr = np.atleast_1d(arr)
    if arr.size == 0:
        raise ValueError(f"{name} must be a non-empty list of positive numbers, got an empty one.")
    bad = ~np.isfinite(arr) | (arr <= 0)
    if bad.any():
        raise ValueError(
            f"{name} must be positive finite numbers; entries {np.flatnonzero(bad.ravel()).tolist()} "
            f"(flat index) are not: {arr[bad].tolist()}."
        )
    return arr


def one_of(name: str, value: Any, choices: tuple[str, ...] | list[str]) -> str:
    """Return ``value`` if it is one of ``choices``, else raise ValueError listing them."""
    if value not in choices:
        raise ValueError(f"unknown {name} {value!r}; valid {name}s are: {', '.join(map(str, choices))}.")
    return value
