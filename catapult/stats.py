"""Statistics over independent seeds: the book's comparisons of learning rates, in one place.

Chapters 5 and 6 both ask whether the best learning rate of one set beats the best of
another by more than the seeds' scatter:

- chapter 5 (Lewkowycz et al. 2020, Sec. 3.2, Figs. 4 and 5): the best mean test accuracy
  over seeds at η > η_crit against the best at η < η_crit, with divergent runs counted at
  chance (:func:`at_chance`, :func:`best`, :func:`above_vs_below`);
- chapter 6 (Sadrtdinov et al. 2024, Secs. 4–6, Figs. 2, 4 and 6): the best PLR inside a
  subregime against the best outside it, in combined standard errors
  (:func:`best_inside_vs_outside`), and the mean and standard error of a measurement over
  the independent runs of one regime (:func:`mean_and_error`).

Both comparisons pick their two entries with :func:`best_of_two`. Everything here is plain
NumPy on small arrays: no jax, no randomness.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = [
    "mean_and_error",
    "at_chance",
    "best",
    "best_of_two",
    "best_inside_vs_outside",
    "above_vs_below",
    "band_difference",
]


def mean_and_error(values) -> tuple[float, float]:
    """Mean and standard error of the mean (ddof = 1) of all finite entries of ``values``
    (e.g. a measurement over the PLR × seed runs of one subregime); NaN where undefined."""
    v = np.asarray(values, dtype=float).ravel()
    v = v[np.isfinite(v)]
    if v.size == 0:
        return math.nan, math.nan
    return float(v.mean()), float(v.std(ddof=1) / np.sqrt(v.size)) if v.size > 1 else math.nan


def at_chance(acc: Any, chance: float) -> np.ndarray:
    """Accuracies with divergent runs (NaN) counted at the chance level ``chance``."""
    acc = np.asarray(acc, float)
    return np.where(np.isfinite(acc), acc, chance)


def best(etas: np.ndarray, acc: np.ndarray) -> tuple[int, float, float]:
    """Index of the learning rate with the best mean accuracy over seeds (axis 0; a divergent
    seed counts as NaN, i.e. that η is not eligible), its mean and its seed spread (std).
    ``etas`` (the learning rates along axis 1 of ``acc``) is not used: it names the axis.
    With no eligible η: (-1, NaN, NaN)."""
    acc = np.asarray(acc, float)
    mean = np.mean(acc, axis=0)
    if not np.isfinite(mean).any():
        return -1, math.nan, math.nan
    i = int(np.nanargmax(np.where(np.isfinite(mean), mean, -np.inf)))
    return i, float(mean[i]), float(np.std(acc[:, i]))


def best_of_two(mean, first, second) -> tuple[int | None, int | None]:
    """Indices of the highest ``mean`` among the entries where the boolean mask ``first``
    holds and among those where ``second`` holds (the first such entry on a tie); ``None``
    for a mask that selects nothing."""
    m = np.asarray(mean)
    picks = []
    for mask in (first, second):
        mask = np.asarray(mask, dtype=bool)
        picks.append(int(np.flatnonzero(mask)[np.argmax(m[mask])]) if mask.any() else None)
    return picks[0], picks[1]


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
    i_in, i_out = best_of_two(m, inside, ~inside)
    if i_in is None or i_out is None:
        overall = int(np.argmax(m))
        return overall if i_in is None else i_in, overall if i_out is None else i_out, math.nan, math.nan
    diff = float(m[i_in] - m[i_out])
    return i_in, i_out, diff, diff / float(np.hypot(e[i_in], e[i_out]))


def above_vs_below(rel: Any, acc: Any, chance: float) -> tuple[float, float]:
    """Best mean accuracy (over seeds, axis 0) at η/η_crit > 1 minus the best at η/η_crit < 1,
    and the larger seed spread (std) of those two; divergent runs count at ``chance``."""
    rel = np.asarray(rel, float)
    a = at_chance(acc, chance)
    m, s = a.mean(0), a.std(0)
    i_hi, i_lo = best_of_two(m, rel > 1, rel < 1)
    if i_hi is None or i_lo is None:
        raise ValueError("rel must contain learning rates both above and below η_crit (values > 1 and < 1).")
    return float(m[i_hi] - m[i_lo]), float(max(s[i_hi], s[i_lo]))


def band_difference(rel: Any, acc: Any, chance: float, above: tuple[float, float],
                    below: tuple[float, float]) -> tuple[float, float, int]:
    """Mean accuracy over a band of learning rates above η_crit minus the mean over a band below
    it, and its standard error over independent seeds (Lewkowycz et al. 2020, Sec. 3.2, Figs. 4
    and 5: the catapult phase generalizes better than the lazy one). ``acc``: (seeds, rates), one
    independent initialization per row, every seed trained at every rate of ``rel`` (η/η_crit);
    divergent runs (NaN) count at ``chance``. ``above``/``below``: (lo, hi), the closed ranges of
    ``rel`` in each band. Each seed gives one difference of its two band means (paired: the same
    initialization on both sides); returns their mean, their standard error (ddof = 1; NaN for
    one seed) and the number of seeds. Fails loudly on an empty band."""
    rel = np.asarray(rel, float)
    a = at_chance(acc, chance)
    if a.ndim != 2 or a.shape[1] != rel.size:
        raise ValueError(f"acc must be (seeds, rates) with {rel.size} rates, got shape {a.shape}.")
    bands = []
    for name, (lo, hi) in (("above", above), ("below", below)):
        mask = (rel >= lo) & (rel <= hi)
        if not mask.any():
            raise ValueError(f"the {name} band [{lo:g}, {hi:g}] holds none of the rates {rel.tolist()}.")
        bands.append(a[:, mask].mean(axis=1))
    diff = bands[0] - bands[1]
    mean, err = mean_and_error(diff)
    return mean, err, int(diff.size)
