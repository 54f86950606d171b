"""Chapter 1, the warmup model (Sec. 2.1 of the paper; Fig. 2, S1, S12, App. E): what its
cells measure and the claims it checks.

Each measurement function reduces what :mod:`catapult.warmup` computed to a record whose
fields are the names the prose glues (``claims.glue_all(record, ...)``); :class:`PhaseChecks`
holds the per-run outcomes that only the claims use. :func:`claims` builds the chapter's
claims from these records.
"""

from __future__ import annotations

from typing import NamedTuple, Sequence

import numpy as np

from .. import claims as _claims
from .. import warmup
from ..scales import Warmup

__all__ = [
    "ProseSettings",
    "prose_settings",
    "GDAgreement",
    "gd_agreement",
    "Fig2Scales",
    "fig2_scales",
    "Boundaries",
    "boundaries",
    "LazyCurves",
    "lazy_curves",
    "LazyKernel",
    "lazy_kernel",
    "PhaseChecks",
    "phase_checks",
    "peak_per_width",
    "Duration",
    "duration",
    "CriticalExponents",
    "critical_exponents",
    "claims",
    "SHIFT_MAX_C",
    "CONSTANT_MAX_C",
]


class ProseSettings(NamedTuple):
    """Settings the prose quotes (glued, so the text matches what ran)."""

    s1_width: int  # width of the Fig. S1 slice
    duration_c: float  # η·λ0 of the width sweep
    critical_width: int  # width of Fig. S12
    critical_tol: float  # a run of Fig. S12 has converged below this loss
    critical_points: int  # values of ε on each side of η_crit
    critical_seeds: int  # initializations per ε
    duration_decades: float  # decades of width spanned by the width sweep


def prose_settings(cfg: Warmup) -> ProseSettings:
    """The settings quoted in the prose, with the number of decades of the width sweep."""
    return ProseSettings(
        s1_width=cfg.s1_width,
        duration_c=cfg.duration_c,
        critical_width=cfg.critical_width,
        critical_tol=cfg.critical_tol,
        critical_points=cfg.critical_points,
        critical_seeds=cfg.critical_seeds,
        duration_decades=np.log10(max(cfg.duration_widths) / min(cfg.duration_widths)),
    )


class GDAgreement(NamedTuple):
    """Eqs. 6–7 against explicit GD on (u, v) (Sec. 2.1, eqs. 4–7): largest relative deviation."""

    gd_dev: float  # over the lazy and catapult runs
    gd_dev_divergent: float  # over the divergent runs (until |f| reaches 10⁶)


def gd_agreement(deviations: np.ndarray, phases: Sequence[str]) -> GDAgreement:
    """``deviations``: per run (``warmup.compare_with_gd``); ``phases``: each run's predicted phase name."""
    deviations = np.asarray(deviations)
    phases = np.asarray(phases)
    return GDAgreement(
        gd_dev=float(deviations[phases != "divergent"].max()),
        gd_dev_divergent=float(deviations[phases == "divergent"].max()),
    )


class Fig2Scales(NamedTuple):
    """λ0 of Fig. 2's initialization and the learning rates it predicts (Sec. 2.1)."""

    fig2_lam0: float  # λ0
    fig2_eta_crit: float  # η_crit = 2/λ0
    fig2_eta_max: float  # η_max = 4/λ0


def fig2_scales(lam0: float) -> Fig2Scales:
    return Fig2Scales(fig2_lam0=lam0, fig2_eta_crit=2 / lam0, fig2_eta_max=4 / lam0)


class Boundaries(NamedTuple):
    """The phase boundaries a sweep over c = η·λ0 finds (Sec. 2.1, Fig. 2c)."""

    c_crit_measured: float  # smallest c whose loss rose (predicted 2)
    c_max_measured: float  # smallest c that diverged (predicted 4)
    grid_step: float  # spacing of the sweep's grid


def boundaries(sweep_cs: np.ndarray, sweep_phase: np.ndarray) -> Boundaries:
    """``sweep_phase``: ``warmup.classify`` of the sweep's runs."""
    c_crit, c_max = warmup.boundaries(sweep_cs, sweep_phase)
    return Boundaries(c_crit_measured=c_crit, c_max_measured=c_max, grid_step=float(sweep_cs[1] - sweep_cs[0]))


#: The lazy runs compared with the leading-order shift: η·λ0 up to this (the formula fails at 2).
SHIFT_MAX_C = 1.9
#: The lazy runs whose kernel change is claimed O(1/n): η·λ0 up to this.
CONSTANT_MAX_C = 1.5


class LazyCurves(NamedTuple):
    """The lazy runs' final kernel shift λ_final − λ0, measured and at leading order in 1/n."""

    cs: np.ndarray  # η·λ0 of the runs (≤ SHIFT_MAX_C)
    measured: np.ndarray
    predicted: np.ndarray  # −f0²(4 − c)/(n λ0 (2 − c)) (``warmup.lazy_shift``)


def lazy_curves(init: warmup.Init, sweep_cs: np.ndarray, sweep_etas: np.ndarray, lam_final: np.ndarray,
                n: int) -> LazyCurves:
    """``lam_final``: λ at the end of each sweep run; ``n``: the width."""
    lazy_ok = (sweep_cs < warmup.C_CRIT) & (sweep_cs <= SHIFT_MAX_C)
    return LazyCurves(
        cs=sweep_cs[lazy_ok],
        measured=lam_final[lazy_ok] - float(init.lam0),
        predicted=warmup.lazy_shift(init, sweep_etas[lazy_ok], n),
    )


class LazyKernel(NamedTuple):
    """How far the kernel moves in the lazy phase (Sec. 2.1, Theorem 1; eqs. 6–7 summed)."""

    shift_ratio_err: float  # max |measured/predicted − 1| of the shift
    lazy_rel_change: float  # max n·|λ_final − λ0|/λ0 for η·λ0 ≤ CONSTANT_MAX_C


def lazy_kernel(curves: LazyCurves, sweep_cs: np.ndarray, lam_final: np.ndarray, lam0: float, n: int) -> LazyKernel:
    lazy = (sweep_cs < warmup.C_CRIT) & (sweep_cs <= CONSTANT_MAX_C)
    rel_change = n * np.abs(lam_final[lazy] - lam0) / lam0
    return LazyKernel(
        shift_ratio_err=float(np.max(np.abs(curves.measured / curves.predicted - 1))),
        lazy_rel_change=float(rel_change.max()),
    )


class PhaseChecks(NamedTuple):
    """Per-run outcomes of the sweep over c that the claims check (Sec. 2.1, Fig. 2)."""

    catapult_final_curvature: float  # max η·λ_final over 2 < c < 4
    catapult_loss_rose: np.ndarray  # per run with 2 < c < 4: the loss rose above L0 and did not diverge
    divergent_blew_up: np.ndarray  # per run with c > 4: non-finite or > 10⁶·L0, and classified divergent


def phase_checks(sweep_cs: np.ndarray, sweep_etas: np.ndarray, sweep: warmup.Trajectory,
                 sweep_phase: np.ndarray) -> PhaseChecks:
    catapult_range = (sweep_cs > warmup.C_CRIT) & (sweep_cs < warmup.C_MAX)
    above = sweep_cs > warmup.C_MAX
    final_curv = sweep_etas * sweep.lam[:, -1]  # η·λ at the end of each run
    loss0 = sweep.loss[:, 0]
    peak_over_initial = warmup.peak_loss(sweep) / loss0
    diverged = sweep_phase == warmup.DIVERGENT
    blew_up = ~np.isfinite(sweep.loss).all(axis=1) | (np.nanmax(sweep.loss, axis=1) > 1e6 * loss0)
    return PhaseChecks(
        catapult_final_curvature=float(np.nanmax(final_curv[catapult_range])),
        catapult_loss_rose=(peak_over_initial[catapult_range] > 1) & ~diverged[catapult_range],
        divergent_blew_up=blew_up[above] & diverged[above],
    )


def peak_per_width(ws: warmup.WidthSweep) -> np.ndarray:
    """Median over seeds of the peak loss over n, per width (the catapult's height ∝ n)."""
    return np.median(ws.peak_loss / ws.widths[:, None], axis=1)


class Duration(NamedTuple):
    """The catapult's duration and height against width (Sec. 2.1: O(log n) steps, peak ∝ n)."""

    slope_per_decade: float  # fitted steps per decade of width
    predicted_per_decade: float  # ln 10 / (2 ln(η·λ0 − 1))
    duration_r2: float  # R² of the fit in ln n
    peak_per_n: float  # median over widths of the median peak/n
    duration_slope: float  # fitted steps per unit ln n
    peak_ratio: float  # peak/n at the largest width over that at the smallest


def duration(ws: warmup.WidthSweep, c: float) -> Duration:
    """``ws``: ``warmup.width_sweep`` at c = η·λ0."""
    peaks = peak_per_width(ws)
    return Duration(
        slope_per_decade=ws.fit.slope * np.log(10),
        predicted_per_decade=warmup.duration_slope_per_decade(c),
        duration_r2=ws.fit.r2,
        peak_per_n=float(np.median(peaks)),
        duration_slope=ws.fit.slope,
        peak_ratio=float(peaks[-1] / peaks[0]),
    )


class CriticalExponents(NamedTuple):
    """Exponents p of steps-to-converge ∝ |η − η_crit|^p on both sides (App. E, Fig. S12)."""

    exp_below: float
    exp_above: float


def critical_exponents(crit: warmup.CriticalSweep) -> CriticalExponents:
    return CriticalExponents(exp_below=crit.fit_below.slope, exp_above=crit.fit_above.slope)


def claims(cfg: Warmup, gd: GDAgreement, bounds: Boundaries, lazy: LazyKernel, phases: PhaseChecks,
           dur: Duration, crit: CriticalExponents, off_slice: float) -> list[_claims.Claim]:
    """The chapter's claims (Sec. 2.1, Theorem 1, Fig. 2, S1, S12, App. E); ``off_slice``: the
    largest distance from the Fig. S1 slice over all runs and steps."""
    return [
        _claims.at_most(
            "exact_equals_gd",
            "Eqs. 6–7 reproduce explicit GD on (u, v) (float64, lazy and catapult runs, max relative deviation)",
            "Sec. 2.1, eqs. 4–7", bound=1e-10, measured=gd.gd_dev, predicted="exact (0)",
        ),
        _claims.within(
            "eta_crit", "The loss first rises (catapult) at η·λ0 = 2 (first rising run of the sweep)",
            "Sec. 2.1, Fig. 2", predicted=2.0, measured=bounds.c_crit_measured, tolerance=bounds.grid_step,
        ),
        _claims.within(
            "eta_max", "Training first diverges at η·λ0 = 4 (first divergent run of the sweep)",
            "Sec. 2.1, Fig. 2", predicted=4.0, measured=bounds.c_max_measured, tolerance=bounds.grid_step,
        ),
        _claims.at_most(
            "lazy_kernel_constant",
            "Lazy phase (η·λ0 ≤ 1.5): the kernel moves by O(1/n): max n·|λ_final − λ0|/λ0",
            "Sec. 2.1, Theorem 1", bound=5.0, measured=lazy.lazy_rel_change, predicted="O(1)",
        ),
        _claims.at_most(
            "lazy_shift_formula",
            "Lazy phase (η·λ0 ≤ 1.9): λ_final − λ0 matches the leading-order shift −f0²(4−c)/(nλ0(2−c)) "
            "(max relative error)",
            "Sec. 2.1, eqs. 6–7 (derived)", bound=0.05, measured=lazy.shift_ratio_err, predicted=0.0,
        ),
        _claims.at_most(
            "catapult_flat",
            "Catapult phase: every run ends with λ_final < 2/η (max η·λ_final over 2 < η·λ0 < 4)",
            "Sec. 2.1, Theorem 1", bound=2.0, measured=phases.catapult_final_curvature, predicted="< 2",
        ),
        _claims.fraction(
            "catapult_loss_rises",
            "Catapult phase: the loss rises above its initial value before it converges or flattens (every run)",
            "Sec. 2.1, Fig. 2a", passed=phases.catapult_loss_rose,
        ),
        _claims.fraction(
            "divergent_blows_up",
            "Divergent phase (η·λ0 > 4): the loss grows without bound (non-finite or > 1e6 × L0), recorded as divergent",
            "Sec. 2.1, Fig. 2", passed=phases.divergent_blew_up,
        ),
        _claims.at_least(
            "duration_log_n_slope", "The catapult's duration grows with log n: fitted steps per unit ln n",
            "Sec. 2.1", bound=0.0, measured=dur.duration_slope, predicted="> 0",
        ),
        _claims.at_least(
            "duration_log_n_r2", "The duration is a straight line in ln n: R² of the fit",
            "Sec. 2.1", bound=0.9, measured=dur.duration_r2, predicted="> 0.9",
        ),
        _claims.within_relative(
            "duration_per_decade",
            f"Steps added per decade of width at η·λ0 = {cfg.duration_c:g} vs ln 10 / (2 ln(η·λ0 − 1))",
            "Sec. 2.1 (derived)", predicted=dur.predicted_per_decade, measured=dur.slope_per_decade, rtol=0.2,
        ),
        _claims.within_relative(
            "peak_loss_scales_with_n",
            f"The loss peak grows ∝ n: median peak/n at width {cfg.duration_widths[-1]:.0e} over that at width "
            f"{cfg.duration_widths[0]:.0e}",
            "Sec. 2.1, Theorem 1", predicted=1.0, measured=dur.peak_ratio, rtol=0.3,
        ),
        _claims.within(
            "critical_exponent_below",
            f"Steps to converge ∝ |η − η_crit|^p below η_crit (width {cfg.critical_width:,})",
            "App. E, Fig. S12", predicted=-1.0, measured=crit.exp_below, tolerance=0.2,
        ),
        _claims.within(
            "critical_exponent_above",
            f"Steps to converge ∝ |η − η_crit|^p above η_crit (width {cfg.critical_width:,})",
            "App. E, Fig. S12", predicted=-1.0, measured=crit.exp_above, tolerance=0.2,
        ),
        _claims.at_most(
            "s1_slice_invariant", "GD started on the Fig. S1 slice never leaves it (max off-slice weight)",
            "Fig. S1", bound=0.0, measured=off_slice, predicted=0.0,
        ),
    ]
