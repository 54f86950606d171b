"""The regimes of a PLR sweep (Sadrtdinov et al. 2024, Sec. 3, Fig. 1; subregimes 2A and 2B, Sec. 4).

Pre-training on the sphere at a fixed effective learning rate (PLR) ends in one of three
regimes: 1, convergence (the training loss goes to zero); 2, a chaotic equilibrium (the loss
settles at a non-zero, fluctuating level); 3, a random walk (nothing learned, the loss of a
network at chance). :func:`late_statistics` and :func:`late_accuracy` summarize the end of
each run, :func:`classify_regimes` sorts the PLRs into regimes from them, and
:func:`subregimes` splits regime 2 into 2A (just above the convergence threshold) and 2B.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from .._checks import positive_array, positive_float
from .sgd import Runs

__all__ = [
    "Regimes",
    "late_statistics",
    "late_accuracy",
    "late_trend",
    "classify_regimes",
    "subregimes",
]


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


def late_trend(runs: Runs, window: float = 0.25) -> np.ndarray:
    """The trend of the logged training loss over the same late window as :func:`late_statistics`,
    per run: the least-squares line's rise across the window over the window's standard deviation.
    A steady linear trend over n records gives ±√(12 (n−1)/(n+1)) (3.2 for n = 11) whatever its size;
    a stationary loss with independent fluctuations gives about 1 in size (Sadrtdinov et al. 2024,
    Sec. 3: regime 2 is a stationary state). NaN for divergent runs or a constant loss."""
    tail = np.asarray(_late(runs.loss, window), dtype=float)
    t = np.arange(tail.shape[-1], dtype=float)
    t = t - t.mean()
    with np.errstate(invalid="ignore", divide="ignore"):
        slope = np.sum(tail * t, axis=-1) / np.sum(t**2)
        sd = np.std(tail, axis=-1)
        return np.where(sd > 0, slope * (t[-1] - t[0]) / np.where(sd > 0, sd, 1.0), np.nan)


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
