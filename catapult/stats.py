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

Both comparisons pick their two entries with :func:`best_of_two`.

Every verdict of the book states its own robustness (:mod:`catapult.claims`): a statistical
claim is a one-sided t test over n independent seeds (:func:`t_test`), and its row shows the
chance that the same test fails when the chapter is rebuilt at other seeds or on another CPU
(:func:`rebuild_failure`), estimated conservatively from the build's own per-seed values.

Everything here is plain NumPy and SciPy on small arrays: no jax, no randomness.
"""

from __future__ import annotations

import math
import warnings
from typing import Any, NamedTuple

import numpy as np

__all__ = [
    "mean_and_error",
    "seed_means",
    "SeedDiff",
    "paired",
    "at_chance",
    "best",
    "best_of_two",
    "best_inside_vs_outside",
    "above_vs_below",
    "band_difference",
    "TTest",
    "t_test",
    "rebuild_failure",
    "draw_failure",
    "median_failure",
    "count_failure",
]


def mean_and_error(values) -> tuple[float, float]:
    """Mean and standard error of the mean (ddof = 1) of all finite entries of ``values``
    (e.g. a measurement over the PLR × seed runs of one subregime); NaN where undefined."""
    v = np.asarray(values, dtype=float).ravel()
    v = v[np.isfinite(v)]
    if v.size == 0:
        return math.nan, math.nan
    return float(v.mean()), float(v.std(ddof=1) / np.sqrt(v.size)) if v.size > 1 else math.nan


def seed_means(values: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
    """``values`` of shape (P, S, ...) averaged over the rows (e.g. learning rates) in ``mask`` and
    any trailing axes: one number per seed (S,), NaN where the mask is empty. Seeds are the
    independent replicates; the rows of one seed share its starting point and minibatch order,
    so they are averaged first."""
    values = np.asarray(values, dtype=float)
    if mask is None or not np.any(mask):
        return np.full(values.shape[1], np.nan)
    v = values[np.asarray(mask, bool)].reshape(int(np.sum(mask)), values.shape[1], -1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a seed with no finite value: NaN
        return np.nanmean(v, axis=(0, 2))


class SeedDiff(NamedTuple):
    """A difference measured once per seed (paired: both sides from the same seed), its mean over
    seeds, standard error over seeds and the mean in standard errors."""

    mean: float
    se: float
    z: float
    n: int | None = None  # seeds with a finite difference (None: a record built by hand)


def paired(a: np.ndarray, b: np.ndarray) -> SeedDiff:
    """``a − b``, one value per seed (S,), as a :class:`SeedDiff`."""
    d = np.asarray(a, float) - np.asarray(b, float)
    mean, se = mean_and_error(d)
    return SeedDiff(mean=mean, se=se, z=mean / se if se > 0 else np.nan, n=int(np.isfinite(d).sum()))


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


# ------------------------------------------------------- verdicts that state their robustness


class TTest(NamedTuple):
    """A one-sided one-sample t test of per-seed values against a bound (:func:`t_test`)."""

    n: int  # finite per-seed values
    mean: float  # their mean
    se: float  # its standard error (ddof = 1)
    t: float  # (mean − bound)/se, signed so that positive is the predicted side
    p: float  # one-sided p value of the prediction (the t distribution, n − 1 degrees of freedom)
    p_opposite: float  # one-sided p value of the opposite: a small one contradicts the prediction


def t_test(values: Any, bound: float = 0.0, side: str = "greater") -> TTest:
    """One-sided t test that the mean of ``values`` (one per independent seed; NaN entries are
    dropped) lies above ``bound`` (``side="greater"``) or below it (``"less"``). Fewer than two
    finite values, or values with no spread, give NaN for t and p (no test; a spread of exactly
    zero means the value did not depend on the seed, which a claim has to say in its own words)."""
    from scipy import stats as sps

    if side not in ("greater", "less"):
        raise ValueError(f"side must be 'greater' or 'less', got {side!r}.")
    v = np.asarray(values, dtype=float).ravel()
    v = v[np.isfinite(v)]
    n = int(v.size)
    mean, se = mean_and_error(v) if n else (math.nan, math.nan)
    if n < 2 or not se > 0:
        return TTest(n, mean, se, math.nan, math.nan, math.nan)
    t = (mean - bound) / se * (1.0 if side == "greater" else -1.0)
    return TTest(n, mean, se, float(t), float(sps.t.sf(t, n - 1)), float(sps.t.cdf(t, n - 1)))


def rebuild_failure(t: float, n: int, alpha: float = 0.01, confidence: float = 0.9, crit: float | None = None) -> float:
    """The chance that a one-sided t test at level ``alpha`` over ``n`` new, independent seeds
    fails, given that this build measured the statistic ``t`` over ``n`` seeds. ``crit``, if
    given, replaces the test's critical value t_(1−alpha) (e.g. 2 for a claim "at least 2
    standard errors over seeds", whose statistic is the same t).

    A rebuild's t follows the noncentral t distribution with n − 1 degrees of freedom and
    noncentrality δ√n, δ being the true effect in units of the seed spread. The measured t
    overstates δ when a claim was chosen because it looked strong, so the estimate takes the
    lower ``confidence`` bound of the noncentrality (the value at which the measured t is the
    ``confidence`` quantile) and returns P(T ≤ t_(1−alpha)) there. NaN or n < 2 gives 1: a claim
    without a test can fail at any rebuild, as far as its seeds tell."""
    from scipy import stats as sps

    if not (0 < alpha < 1 and 0 < confidence < 1):
        raise ValueError(f"alpha and confidence must lie in (0, 1), got {alpha} and {confidence}.")
    if n < 2 or not math.isfinite(t):
        return 1.0
    df = n - 1
    crit = float(sps.t.ppf(1 - alpha, df)) if crit is None else float(crit)
    return float(min(max(_nct_cdf(crit, df, _ncp_lower(t, df, confidence)), 0.0), 1.0))


def _ncp_lower(t: float, df: int, confidence: float) -> float:
    """The lower ``confidence`` bound of the noncentrality of a t statistic measured at ``t`` with
    ``df`` degrees of freedom: the ncp at which ``t`` is the ``confidence`` quantile."""
    from scipy import optimize

    t = float(np.clip(t, -60.0, 60.0))  # beyond |t| = 60 the chance is 0 or 1 to double precision anyway
    # P(T ≤ t) falls from 1 to 0 as ncp grows.
    gap = lambda ncp: _nct_cdf(t, df, ncp) - confidence  # noqa: E731
    lo, hi = min(t, 0.0) - 10.0, t  # the bound lies below t; at ncp = min(t, 0) - 10 the chance is 1 already
    return optimize.brentq(gap, lo, hi, xtol=1e-10) if gap(lo) > 0 > gap(hi) else lo


def draw_failure(values: Any, lo: float | None = None, hi: float | None = None, *, draws: int = 1,
                 confidence: float = 0.9) -> float:
    """The chance that at least one of ``draws`` new values falls outside [``lo``, ``hi``] (either
    may be None: no bound on that side), ``values`` being independent draws of the same quantity
    (e.g. a claim's measured value in builds at other seeds, this build's first).

    The values are taken as normal, with their mean and spread, conservatively: on each side the
    margin (mean − bound)/σ is taken at its lower ``confidence`` bound (the noncentral t of the
    measured margin in standard errors, as :func:`rebuild_failure` does), and the two sides'
    chances add. Values with no spread at all give the distribution-free bound instead: all m
    inside puts the chance per draw at most 1 − (1 − confidence)^(1/m). Fewer than two finite
    values give 1."""
    from scipy import stats as sps

    if not 0 < confidence < 1:
        raise ValueError(f"confidence must lie in (0, 1), got {confidence}.")
    if lo is None and hi is None:
        raise ValueError("draw_failure needs a bound: lo, hi or both.")
    v = np.asarray(values, dtype=float).ravel()
    if not np.isfinite(v).all() or v.size < 2:
        return 1.0
    m = v.size
    inside = (lo is None or bool(np.all(v >= lo))) and (hi is None or bool(np.all(v <= hi)))
    sd = float(v.std(ddof=1))
    if not sd > 0:
        per_draw = 1.0 - (1.0 - confidence) ** (1.0 / m) if inside else 1.0
    else:
        per_draw = 0.0
        for bound, sign in ((lo, 1.0), (hi, -1.0)):
            if bound is not None:
                t = sign * (float(v.mean()) - bound) / (sd / math.sqrt(m))
                per_draw += float(sps.norm.sf(_ncp_lower(t, m - 1, confidence) / math.sqrt(m)))
    per_draw = min(per_draw, 1.0)
    return 1.0 if per_draw >= 1.0 else float(-math.expm1(int(draws) * math.log1p(-per_draw)))


def median_failure(values: Any, lo: float | None = None, hi: float | None = None, confidence: float = 0.9) -> float:
    """The chance that a rebuild's median of as many seeds as ``values`` has finite entries (one per
    independent seed; NaN entries are left out, as a NaN-ignoring median does) falls outside [``lo``,
    ``hi``]: that needs at least half of them outside, so the binomial tail at the chance per seed
    of :func:`draw_failure` (normal fit, conservative)."""
    from scipy import stats as sps

    v = np.asarray(values, dtype=float).ravel()
    v = v[np.isfinite(v)]
    if v.size < 2:
        return 1.0
    p = draw_failure(v, lo, hi, confidence=confidence)
    return float(sps.binom.sf(math.ceil(v.size / 2) - 1, v.size, p))


def count_failure(failures: int, trials: int, n: int, allowed: int, confidence: float = 0.9) -> float:
    """The chance that more than ``allowed`` of ``n`` new runs fail, given ``failures`` of ``trials``
    runs failed here: the per-run failure rate at its upper ``confidence`` bound (Clopper-Pearson),
    then the binomial tail. Runs at different settings (e.g. learning rates) fail with different
    chances; the binomial with their mean chance is the wider tail, so the estimate stays
    conservative. A claim that needs every run to pass (``allowed`` = 0) cannot show a small chance
    from a finite sample: all of m runs passing puts it near ``confidence`` when n ≈ m."""
    from scipy import stats as sps

    failures, trials, n, allowed = int(failures), int(trials), int(n), int(allowed)
    if trials < 1 or not 0 <= failures <= trials:
        raise ValueError(f"need 0 ≤ failures ≤ trials and trials ≥ 1, got {failures} of {trials}.")
    p = 1.0 if failures == trials else float(sps.beta.ppf(confidence, failures + 1, trials - failures))
    return float(sps.binom.sf(allowed, n, p))


def _nct_cdf(x: float, df: int, ncp: float) -> float:
    """P(T ≤ x) for T = (Z + ncp)/√(V/df), Z standard normal, V chi-square with df degrees of
    freedom: SciPy's ``nct.cdf``, and where that returns NaN (at few degrees of freedom and a
    noncentrality far from x) E[Φ(x·U/√df − ncp)] over U = √V (a chi variable), by quadrature."""
    from scipy import integrate
    from scipy import stats as sps

    value = float(sps.nct.cdf(x, df, ncp))
    if math.isfinite(value) and 0.0 <= value <= 1.0:
        return value
    f = lambda u: sps.norm.cdf(x * u / math.sqrt(df) - ncp) * sps.chi.pdf(u, df)  # noqa: E731
    top = float(sps.chi.ppf(1 - 1e-15, df))
    value, _ = integrate.quad(f, 0.0, top, limit=200, epsabs=1e-13, epsrel=1e-10)
    return float(value)
