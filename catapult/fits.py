"""Least-squares line fits used to measure scaling laws (log n durations, critical exponents)."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

__all__ = [
    "LineFit",
    "line",
    "power_law",
]


class LineFit(NamedTuple):
    """y ≈ intercept + slope · x, with the coefficient of determination R²."""

    slope: float
    intercept: float
    r2: float

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return self.intercept + self.slope * np.asarray(x, dtype=float)


def line(x: np.ndarray, y: np.ndarray) -> LineFit:
    """Ordinary least squares of y on x over the finite pairs; raises if fewer than 3 remain."""
    x = np.asarray(x, dtype=float).ravel()
    y = np.asarray(y, dtype=float).ravel()
    if x.shape != y.shape:
        raise ValueError(f"x and y must have the same length, got {x.size} and {y.size}.")
    ok = np.isfinite(x) & np.isfinite(y)
    if ok.sum() < 3:
        raise ValueError(f"a line fit needs at least 3 finite points, got {int(ok.sum())}.")
    x, y = x[ok], y[ok]
    slope, intercept = np.polyfit(x, y, 1)
    resid = y - (intercept + slope * x)
    ss_tot = float(np.sum((y - y.mean()) ** 2))
    r2 = 1.0 - float(np.sum(resid**2)) / ss_tot if ss_tot > 0 else 1.0
    return LineFit(float(slope), float(intercept), r2)


def power_law(x: np.ndarray, y: np.ndarray) -> LineFit:
    """Fit y ≈ A · x^p as a line in log-log space; ``slope`` is the exponent p."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return line(np.log(x), np.log(y))
