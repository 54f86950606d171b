"""Chapter 2, the full model (Sec. 2.2 and App. D.1 of the paper; λ0 and the NTK normalization of App. A):
what its cells measure and the claims it checks.

Each measurement function reduces what :mod:`catapult.full_model` and
:func:`catapult.models.lambda0_versus_width` computed to a record; the fields of
:class:`ProseSettings`, :class:`EquationsExact` and :class:`ReluLambda0` are the names the
prose glues (``claims.glue_all(record, ...)``). :func:`claims` builds the chapter's claims.
"""

from __future__ import annotations

from typing import Any, NamedTuple, Sequence

import jax
import numpy as np

from .. import claims as _claims
from .. import full_model, linearize, models, ntk, warmup
from ..precision import float64
from ..scales import FullModel

__all__ = [
    "ProseSettings",
    "prose_settings",
    "EquationsExact",
    "equations_exact",
    "phase_names",
    "PhaseShown",
    "phase_shown",
    "ALIGNED",
    "Alignment",
    "alignment",
    "d1_update_error",
    "D1Update",
    "d1_update",
    "FinalCurvature",
    "final_curvature",
    "SweepChecks",
    "sweep_checks",
    "Divergence",
    "divergence",
    "ReluLambda0",
    "relu_rel_err",
    "relu_lambda0",
    "Normalization",
    "normalization",
    "claims",
    "rebuild",
    "repeats",
]


class ProseSettings(NamedTuple):
    """Settings the prose quotes (glued, so the text matches what ran)."""

    width: int  # width of the single model of the checks and the phase runs
    input_dim: int  # d
    samples: int  # m
    relu_depth: int  # hidden layers of the ReLU network
    largest_width: int  # of the sweep over widths
    largest_relu_width: int
    smallest_relu_width: int


def prose_settings(cfg: FullModel) -> ProseSettings:
    return ProseSettings(
        width=cfg.width,
        input_dim=cfg.input_dim,
        samples=cfg.samples,
        relu_depth=cfg.relu_depth,
        largest_width=max(cfg.sweep_widths),
        largest_relu_width=max(cfg.relu_widths),
        smallest_relu_width=min(cfg.relu_widths),
    )


class EquationsExact(NamedTuple):
    """Eqs. 10, 11, S5 and the reduced map against GD on (u, v) (Sec. 2.2, App. D.1)."""

    worst_residual: float  # largest relative deviation of any equation over the run


def equations_exact(residuals: dict[str, np.ndarray]) -> EquationsExact:
    """``residuals``: ``full_model.equation_residuals``."""
    return EquationsExact(worst_residual=max(float(v.max()) for v in residuals.values()))


def _between(cs: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """lo <= c <= hi, forgiving the rounding of a linspace grid (2.2000000000000006)."""
    return (cs >= lo - 1e-9) & (cs <= hi + 1e-9)


def phase_names(cs: Sequence[float]) -> list[str]:
    """The phase each η·λ0 is predicted to be in (η_crit = 2/λ0, η_max = 4/λ0)."""
    return ["lazy" if c < 2 else "catapult" if c < 4 else "divergent" for c in cs]


class PhaseShown(NamedTuple):
    """What the figure of single runs shows (glued into the prose)."""

    catapult_shown: int  # catapult runs in the figure
    aligned_lazy_c: float  # a lazy run with 1 < η·λ0 < 2 (its top direction decays slowest)
    one_step_c: float  # the run closest to η·λ0 = 1 (top component removed in one step)


def phase_shown(cs: Sequence[float]) -> PhaseShown:
    cs = np.asarray(cs, dtype=float)
    lazy = cs[(cs > 1) & (cs < 2)]
    if not lazy.size:
        raise ValueError(f"phase_cs needs a lazy run with 1 < c < 2, got {cs.tolist()}.")
    return PhaseShown(sum(p == "catapult" for p in phase_names(cs)), float(lazy[-1]),
                      float(cs[np.argmin(np.abs(cs - 1))]))


#: The error counts as aligned with e0 once its alignment exceeds this.
ALIGNED = 0.9


class Alignment(NamedTuple):
    """The error's alignment with Θ0's top eigenvector over the catapult runs of the sweep (Sec. 2.2)."""

    peak_align: float  # min over the runs with c·r < 2 of the peak alignment
    aligned_first: np.ndarray  # per such run: alignment > ALIGNED at a step <= the first with η·λ < 2
    align_runs: int  # how many runs (widths × learning rates × seeds)
    align_c_max: float  # 2/r: above it the second direction is unstable too
    peak_align_all: float  # min of the peak alignment over every catapult run (shown, not claimed)


def alignment(sweep: full_model.Sweep, catapult_c_range: tuple[float, float], ratio: float) -> Alignment:
    """Runs with η·λ0 in ``catapult_c_range`` and η·λ0·``ratio`` < 2 (only e0 unstable);
    ``sweep`` must track λ_t (``lr_width_sweep(..., tracked=K)``) for t <= K."""
    cs = sweep.cs
    cat = _between(cs, *catapult_c_range)
    sel = cat & (cs * ratio < 2)  # none when r is too close to 1: the claims then fail, with no cases
    align = sweep.alignment
    flat = sweep.eta[..., None] * sweep.traj.lam < 2  # NaN (untracked or dead) compares False
    t_al = warmup.first_true(align[:, sel] > ALIGNED)
    t_fl = warmup.first_true(flat[:, sel])
    with np.errstate(invalid="ignore"):
        peak = np.nanmax(np.where(np.isfinite(align), align, -1.0), axis=-1)
    return Alignment(
        peak_align=float(peak[:, sel].min()) if sel.any() else float("nan"),
        aligned_first=((t_al >= 0) & (t_fl >= 0) & (t_al <= t_fl)).ravel(),
        align_runs=int(t_al.size),
        align_c_max=2.0 / ratio,
        peak_align_all=float(peak[:, cat].min()),
    )


def d1_update_error(sweep: full_model.Sweep, X: Any) -> np.ndarray:
    """App. D.1's top-eigenvalue update λ′ = λ + (η‖ζ‖²/n)(ηλ − 4), ζ = Xᵀf̃/m, summed over the
    tracked steps of every run, against the exact change of λ_top over the same steps: the relative
    error |Σ Δλ_D1 − (λ_K − λ_0)| / |λ_K − λ_0|, (W, C, S); NaN for a run that diverged."""
    X = np.asarray(X, dtype=float)
    K = _tracked(sweep)
    err, lam = sweep.traj.error[..., :K, :], sweep.traj.lam[..., :K]
    m = X.shape[0]
    zeta2 = np.einsum("...ta,ab,...tb->...t", err, X @ X.T, err) / m**2
    eta, n = sweep.eta[..., None], sweep.widths[:, None, None, None]
    step = (eta * zeta2 / n) * (eta * lam - 4.0)
    exact = lam[..., -1] - lam[..., 0]
    with np.errstate(divide="ignore", invalid="ignore"):  # a lazy run whose λ does not move at all: inf or NaN
        return np.abs(np.sum(step[..., :-1], axis=-1) - exact) / np.abs(exact)


def _tracked(sweep: full_model.Sweep) -> int:
    """How many steps from t = 0 carry λ_t (``lr_width_sweep(..., tracked=K)`` gives K + 1, and the last step)."""
    return int(np.sum(np.isfinite(sweep.traj.lam).any(axis=(0, 1, 2))[:-1]))


class D1Update(NamedTuple):
    """App. D.1's top-eigenvalue update against the exact λ_top over the catapult, at the largest width."""

    d1_err_aligned: float  # max over seeds and the catapult rates with c·r ≤ 2 − margin (only e0 unstable)
    d1_err_split: float  # median over seeds and the catapult rates with c·r ≥ 2 + margin (the error splits over e0, e1)
    d1_err_by_width: np.ndarray  # median over seeds and the aligned rates, per width
    d1_steps: int  # steps the sums run over (the tracked ones)
    d1_aligned_c: float  # the largest aligned η·λ0 (2 − margin)/r
    d1_split_c: float  # the smallest split η·λ0 (2 + margin)/r


def d1_update(sweep: full_model.Sweep, X: Any, catapult_c_range: tuple[float, float], ratio: float,
              margin: float) -> D1Update:
    """``sweep`` with λ_t tracked through the catapult (``tracked=K``); ``ratio``: r = λ2/λ1. The second
    direction is stable, decaying by |1 − c·r| ≤ 1 − ``margin`` per step, for c·r ≤ 2 − margin, and grows
    for c·r ≥ 2 + margin; the rates between are left out (there e1 barely moves either way)."""
    err = d1_update_error(sweep, X)
    cs = sweep.cs
    cat = _between(cs, *catapult_c_range)
    aligned, split = cat & (cs * ratio <= 2 - margin), cat & (cs * ratio >= 2 + margin)
    nan = float("nan")
    return D1Update(
        d1_err_aligned=float(np.max(err[-1, aligned])) if aligned.any() else nan,
        d1_err_split=float(np.median(err[-1, split])) if split.any() else nan,
        d1_err_by_width=np.array([np.median(e[aligned]) if aligned.any() else nan for e in err]),
        d1_steps=_tracked(sweep) - 1,
        d1_aligned_c=(2 - margin) / ratio,
        d1_split_c=(2 + margin) / ratio,
    )


class FinalCurvature(NamedTuple):
    """η·λ_top at the end of the catapult against the warmup's limit (Sec. 2.1-2.2, App. D.1)."""

    top_dev: float  # max |η·λ_top − max(L, r(c + L)/2)| at the largest width, 2 < c <= 2.8
    naive_dev: float  # max |η·λ_top − L(c)| there: the warmup curve read as the top eigenvalue
    eigen_ratio: float  # r = λ2/λ1 of Θ0 at infinite width
    c_switch: float  # the smallest c of the grid where the second direction ends on top
    dev_by_width: np.ndarray  # max |η·λ_top − prediction| per width


def final_curvature(sweep: full_model.Sweep, ratio: float, c_range: tuple[float, float]) -> FinalCurvature:
    """The sweep's runs with η·λ0 in ``c_range`` (within (2, warmup.LIMIT_MAX_C])."""
    cs = sweep.cs
    sel = _between(cs, *c_range)
    if not sel.any():
        raise ValueError(f"no learning rate of the sweep lies in {c_range}.")
    limit = warmup.limit_final_curvature(cs[sel])
    pred = full_model.predicted_final_top(cs[sel], ratio, limit)
    top = sweep.final_curvature[:, sel]
    dev = np.abs(top - pred[None, :, None]).max(axis=(1, 2))
    switch = cs[sel][pred > limit]
    return FinalCurvature(
        top_dev=float(dev[-1]),
        naive_dev=float(np.abs(top[-1] - limit[:, None]).max()),
        eigen_ratio=ratio,
        c_switch=float(switch[0]) if switch.size else float("nan"),
        dev_by_width=dev,
    )


class SweepChecks(NamedTuple):
    """What the sweep over width × η·λ0 × seed shows about the phases (Sec. 2.2, App. D.1)."""

    lazy_shift: float  # max n·|λ_final − λ0| over the lazy runs
    catapult_converged: np.ndarray  # per catapult run (width, c, seed): the loss fell below the tolerance
    stable_below_4: np.ndarray  # per run with η·λ0 < 4: it did not diverge


def sweep_checks(sweep: full_model.Sweep, lazy_max_c: float, catapult_c_range: tuple[float, float],
                 convergence_tol: float) -> SweepChecks:
    """``sweep``: ``full_model.lr_width_sweep``; runs with η·λ0 ≤ ``lazy_max_c`` count as lazy,
    those in ``catapult_c_range`` as catapult."""
    cs = sweep.cs
    lazy = cs <= lazy_max_c
    catapult_range = _between(cs, *catapult_c_range)
    shift = (sweep.widths[:, None, None] * np.abs(sweep.traj.lam[..., -1] - sweep.lam0))[:, lazy]
    converged = sweep.traj.loss[..., -1] < convergence_tol
    return SweepChecks(
        lazy_shift=float(np.nanmax(shift)),
        catapult_converged=converged[:, catapult_range],
        stable_below_4=~sweep.traj.diverged[:, cs < 4].ravel(),
    )


class Divergence(NamedTuple):
    """Where divergence sets in, per width and seed, by bisection (Sec. 2.2, App. D.1)."""

    eta_max_median: float  # median over seeds of the threshold η·λ0 at the largest width
    spread_small: float  # mean over seeds of (threshold − 4) at the smallest width
    spread_large: float  # the same at the largest width
    spread_ratio: float  # spread_large / spread_small


def divergence(threshold: np.ndarray) -> Divergence:
    """``threshold`` (widths × seeds): ``full_model.divergence_threshold``."""
    excess = np.asarray(threshold, dtype=float) - 4.0
    small, large = float(excess[0].mean()), float(excess[-1].mean())
    return Divergence(float(np.median(threshold[-1])), small, large, large / small if small > 0 else float("inf"))


class ReluLambda0(NamedTuple):
    """λ0 of a ReLU network at finite width against the infinite-width NTK."""

    relu_rel_err: float  # RMS relative difference over seeds at the largest width, from the fit over widths
    relu_rel_err_small: float  # the same at the smallest width
    relu_lam_inf: float  # λ0 of the infinite-width NTK
    relu_slope: float  # slope of log(RMS difference) against log(width)


def relu_rel_err(lam_inf: float, lam_finite: np.ndarray) -> np.ndarray:
    """RMS over seeds of (λ0(n) − λ0(∞)), relative to λ0(∞), per width: (W,)."""
    return np.sqrt(np.mean((lam_finite - lam_inf) ** 2, axis=1)) / lam_inf


def relu_lambda0(lam_inf: float, lam_finite: np.ndarray, widths: Sequence[int]) -> ReluLambda0:
    """``lam_inf``, ``lam_finite`` (widths × seeds) at ``widths``."""
    rel_err = relu_rel_err(lam_inf, lam_finite)
    logn = np.log(np.asarray(widths, dtype=float))
    slope, icpt = np.polyfit(logn, np.log(rel_err), 1)
    fit = np.exp(icpt + slope * logn)  # the fit, less noisy than any one width's RMS
    return ReluLambda0(relu_rel_err=float(fit[-1]), relu_rel_err_small=float(fit[0]), relu_lam_inf=lam_inf,
                       relu_slope=float(slope))


class Normalization(NamedTuple):
    """GD on a linearized network at 0.99 and 1.01 η_crit, η_crit = 2/λ_max(JJᵀ/(mk)) (App. A)."""

    norm_lam0: float  # λ_max(Θ) by Lanczos
    norm_eta_crit: float  # 2/λ_max
    below_rise: float  # max_t L_t/L_0 at 0.99 η_crit (t >= 1)
    above_growth: float  # L_T/L_0 at 1.01 η_crit


def normalization(lam0: float, losses: np.ndarray) -> Normalization:
    """``losses`` (2, T+1): ``linearize.linearized_gd_losses`` at 0.99 and 1.01 η_crit."""
    below, above = np.asarray(losses[0], dtype=float), np.asarray(losses[1], dtype=float)
    growth = above[-1] / above[0] if np.isfinite(above[-1]) else float("inf")
    return Normalization(lam0, 2.0 / lam0, float(np.max(below[1:] / below[0])), float(growth))


def claims(cfg: FullModel, exact: EquationsExact, align: Alignment, final: FinalCurvature, sweep: SweepChecks,
           div: Divergence, relu: ReluLambda0, norm: Normalization, d1: D1Update,
           reps: _claims.Repeats | None = None) -> list[_claims.Claim]:
    """The chapter's claims (Sec. 2.2, App. D.1, App. A). ``reps``: :func:`repeats`; with them every
    claim carries its chance to fail at another seed."""
    lo, hi = cfg.catapult_c_range
    flo, fhi = cfg.final_c_range
    nearly = f"at least {_claims.NEARLY_ALL:.0%} of runs"

    rep, pooled = (reps or _claims.NO_REPEATS).of, (reps or _claims.NO_REPEATS).pooled

    out = [
        _claims.at_most(
            "equations_exact",
            "Eqs. 10, 11, S5 and the reduced map reproduce GD on (u, v) over the run (float64, max relative deviation)",
            "Sec. 2.2, App. D.1", bound=cfg.exact_tol, measured=exact.worst_residual, predicted="exact (0)",
            replicates=rep("equations_exact", exact.worst_residual), log=True,
            control=f"the warmup model's equations (eqs. 6–7, one direction) read as this model's: η·λ_top misses by "
                    f"up to {final.naive_dev:.2f} (below)",
        ),
        _claims.at_most(
            "lazy_kernel_constant",
            f"Lazy phase (η·λ0 ≤ {cfg.lazy_max_c}): the top eigenvalue moves by O(1/n): max n·|λ_final − λ0| "
            "over widths and seeds",
            "Sec. 2.2, App. D.1", bound=cfg.lazy_shift_max, measured=sweep.lazy_shift, predicted="O(1)",
            replicates=rep("lazy_kernel_constant", sweep.lazy_shift),
            control="the catapult runs, whose λ moves by O(1), so n·|λ_final − λ0| grows ∝ n",
        ),
        _claims.fraction(
            "catapult_converges",
            f"Catapult phase ({lo} ≤ η·λ0 ≤ {hi}): {nearly} converge (loss < {cfg.convergence_tol:g})",
            "Sec. 2.2", passed=sweep.catapult_converged, required=_claims.NEARLY_ALL,
            pooled=pooled("catapult_converges", sweep.catapult_converged),
            control="the runs beyond η·λ0 = 4 of the same sweep, which diverge",
        ),
        _claims.at_most(
            "catapult_final_curvature",
            f"Catapult phase ({flo} ≤ η·λ0 ≤ {fhi}), width {max(cfg.sweep_widths)}: η·λ_top at the end equals "
            "max(L(c), r(c + L(c))/2), L the warmup model's n → ∞ limit (max deviation over η·λ0 and seeds)",
            "Sec. 2.1-2.2, App. D.1 (derived here)", bound=cfg.final_curvature_tol, measured=final.top_dev,
            predicted="0", replicates=rep("catapult_final_curvature", final.top_dev),
            control=f"the warmup curve L(c) alone read as the top eigenvalue: {final.naive_dev:.2f} off",
        ),
        _claims.at_least(
            "catapult_aligns",
            f"Catapult phase, only e0 unstable (η·λ0 < 2/r = {align.align_c_max:.3g}): the error aligns with the top "
            "eigenvector of Θ0 (min over widths, learning rates and seeds of the peak alignment)",
            "Sec. 2.2", bound=ALIGNED, measured=align.peak_align, predicted="→ 1",
            replicates=rep("catapult_aligns", align.peak_align),
            control="the lazy runs with η·λ0 < 1, whose error never concentrates on e0",
        ),
        _claims.fraction(
            "aligns_before_flattening",
            f"The same runs: the alignment exceeds {ALIGNED} no later than λ falls below 2/η ({nearly}; a run "
            "where either never happens fails)",
            "Sec. 2.2", passed=align.aligned_first, required=_claims.NEARLY_ALL,
            pooled=pooled("aligns_before_flattening", align.aligned_first),
            control="the lazy runs, in which λ never falls and the error does not align",
        ),
        _claims.at_most(
            "d1_update_while_aligned",
            f"App. D.1's top-eigenvalue update λ′ = λ + (η‖ζ‖²/n)(ηλ − 4) accounts for the exact drop of λ_top over "
            f"the catapult ({d1.d1_steps} steps) where only e0 is unstable (η·λ0 ≤ {d1.d1_aligned_c:.2f}), width "
            f"{max(cfg.sweep_widths)}: largest |Σ Δλ_D1 − Δλ|/|Δλ| over those rates and seeds",
            "App. D.1", bound=cfg.d1_tol, measured=d1.d1_err_aligned, predicted="→ 0",
            replicates=rep("d1_update_while_aligned", d1.d1_err_aligned),
            control=f"the runs from η·λ0 = {d1.d1_split_c:.2f} on, where the error splits between e0 and e1: off by "
                    f"{d1.d1_err_split:.0%} (median)",
        ),
        _claims.at_least(
            "d1_update_fails_when_split",
            f"Above 2/r the error splits between e0 and e1 and the same update misses the drop of λ_top (median "
            f"|Σ Δλ_D1 − Δλ|/|Δλ| over the catapult rates from η·λ0 = {d1.d1_split_c:.2f} on and seeds, width "
            f"{max(cfg.sweep_widths)})",
            "App. D.1 (its caveat)", bound=cfg.d1_tol, measured=d1.d1_err_split, predicted="O(1)",
            replicates=rep("d1_update_fails_when_split", d1.d1_err_split),
            control=f"the runs up to η·λ0 = {d1.d1_aligned_c:.2f}, where it holds to {d1.d1_err_aligned:.1%}",
        ),
        _claims.fraction(
            "no_divergence_below_4", f"Runs with η·λ0 < 4 do not diverge (any width, any seed; {nearly})",
            "Sec. 2.2", passed=sweep.stable_below_4, required=_claims.NEARLY_ALL,
            pooled=pooled("no_divergence_below_4", sweep.stable_below_4),
            control="the runs beyond η·λ0 = 4 of the same sweep",
        ),
        _claims.within(
            "eta_max",
            f"Divergence sets in at η·λ0 = 4: median over {cfg.threshold_seeds} seeds of the threshold at width "
            f"{max(cfg.threshold_widths):.0e} (bisection in [{cfg.threshold_range[0]:g}, {cfg.threshold_range[1]:g}])",
            "Sec. 2.2, App. D.1", predicted=4.0, measured=div.eta_max_median, tolerance=cfg.eta_max_tol,
            replicates=rep("eta_max", div.eta_max_median),
            control="the linearized model, which diverges from η·λ0 = 2 (App. A, below)",
        ),
        _claims.at_most(
            "divergence_sharpens",
            f"The seed-to-seed spread of the threshold (mean excess over 4) at width {max(cfg.threshold_widths):.0e} "
            f"over that at width {min(cfg.threshold_widths)}",
            "App. D.1", bound=cfg.spread_ratio_max, measured=div.spread_ratio, predicted="→ 0 as n grows",
            replicates=rep("divergence_sharpens", div.spread_ratio),
            control="a threshold whose spread does not depend on width (ratio 1)",
        ),
        _claims.at_most(
            "relu_lambda0_infinite_width",
            f"Toolkit check: ReLU net ({cfg.relu_depth} hidden layers, NTK param.), λ0 at width "
            f"{max(cfg.relu_widths)} within {cfg.relu_rel_err_max:.0%} of the infinite-width NTK's (RMS over seeds, from the fit "
            "over widths)",
            "NTK theory (Jacot et al. 2018), not a claim of the paper", bound=cfg.relu_rel_err_max, measured=relu.relu_rel_err,
            predicted=f"λ0(∞) = {relu.relu_lam_inf:.4g}", replicates=rep("relu_lambda0_infinite_width", relu.relu_rel_err),
            control=f"the narrowest width, {min(cfg.relu_widths)}: {relu.relu_rel_err_small:.0%}",
        ),
        _claims.within(
            "relu_lambda0_rate",
            f"Finite-width λ0 approaches λ0(∞) as n^(-1/2): slope of log RMS gap against log width "
            f"({min(cfg.relu_widths)}-{max(cfg.relu_widths)}, {cfg.relu_seeds} seeds)",
            "NTK theory (fluctuations O(n^-1/2)), not a claim of the paper", predicted=-0.5,
            measured=relu.relu_slope, tolerance=cfg.relu_slope_tol, replicates=rep("relu_lambda0_rate", relu.relu_slope),
            control="a gap that does not close with width (slope 0)",
        ),
        _claims.at_most(
            "linear_converges_below_crit",
            "Linearized network, L = ‖f − y‖²/(2mk), Θ = JJᵀ/(mk): at 0.99 η_crit the loss never rises "
            "(max_t L_t/L_0)", "App. A", bound=cfg.below_rise_max, measured=norm.below_rise, predicted="< 1",
            control=f"the same at 1.01 η_crit, where the loss grows to {norm.above_growth:.3g} L_0",
        ),
        _claims.at_least(
            "linear_diverges_above_crit",
            f"The same at 1.01 η_crit: the loss grows (L_T/L_0 after {cfg.norm_steps} steps)", "App. A",
            bound=cfg.above_growth_min, measured=norm.above_growth, predicted="→ ∞",
            replicates=rep("linear_diverges_above_crit", norm.above_growth), log=True,
            control=f"the same at 0.99 η_crit, where the loss only falls (max L_t/L_0 = {norm.below_rise:.3g})",
        ),
    ]
    return [_below_crit_is_seed_free(c) if c.id == "linear_converges_below_crit" else c for c in out]


def _below_crit_is_seed_free(c: _claims.Claim) -> _claims.Claim:
    """GD on a linear model's squared loss multiplies each eigenmode of the error by 1 − ηλ_i, and
    |1 − ηλ_i| < 1 for every mode when η < 2/λ_max: the loss cannot rise, whatever the draw."""
    return _claims.estimated(c, chance=0.0, n=1, test="no draw can move it: each mode of the error shrinks by "
                                                      "|1 − ηλ_i| < 1 once η < 2/λ_max, so the loss never rises")


def rebuild(cfg: FullModel) -> list[_claims.Claim]:
    """The claims of :func:`claims`, measured afresh at ``cfg``'s seeds: the chapter's cells in one
    function, figures aside, as a rebuild at those seeds runs them."""
    key = jax.random.PRNGKey(cfg.seed)
    with float64():
        data64 = full_model.make_data(key, cfg.samples, cfg.input_dim, dtype=np.float64, gap=cfg.eigen_gap)
        params64 = full_model.init_params(jax.random.fold_in(key, 1), cfg.width, cfg.input_dim, dtype=np.float64)
        lam0_64 = float(full_model.initial_curvature(full_model.reduce(params64), data64, cfg.width))
        residuals = full_model.equation_residuals(params64, data64, np.asarray(cfg.phase_cs) / lam0_64,
                                                  cfg.gd_check_steps)
    data = full_model.make_data(key, cfg.samples, cfg.input_dim, gap=cfg.eigen_gap)
    cs = np.linspace(*cfg.sweep_c_range, cfg.sweep_points)
    sweep = full_model.lr_width_sweep(jax.random.fold_in(key, 3), data, cfg.sweep_widths, cs, cfg.sweep_seeds,
                                      cfg.sweep_steps, tracked=cfg.phase_steps)
    ratio = full_model.eigen_ratio(data.X)
    threshold = full_model.divergence_threshold(jax.random.fold_in(key, 6), data, cfg.threshold_widths,
                                                cfg.threshold_seeds, cfg.threshold_steps, c_range=cfg.threshold_range,
                                                rounds=cfg.threshold_rounds)
    x = jax.random.normal(jax.random.fold_in(key, 4), (cfg.relu_samples, cfg.relu_input_dim))
    _, _, kernel_fn = models.fully_connected(max(cfg.relu_widths), cfg.relu_depth, 1)
    lam_inf = ntk.infinite_width_top_eigenvalue(kernel_fn, x, 1)
    lam_finite = np.stack([ntk.relu_lambda0(cfg.seed + 5, x, w, cfg.relu_depth, cfg.relu_seeds)
                           for w in cfg.relu_widths])
    init_fn, apply_fn, _ = models.fully_connected(cfg.norm_width, cfg.relu_depth, cfg.norm_outputs)
    _, params = init_fn(jax.random.fold_in(key, 7), x.shape)
    y = jax.random.normal(jax.random.fold_in(key, 8), (cfg.relu_samples, cfg.norm_outputs))
    lam_norm = ntk.top_eigenvalue(apply_fn, params, x)
    losses = linearize.linearized_gd_losses(apply_fn, params, x, y, np.array([0.99, 1.01]) * ntk.eta_crit(lam_norm),
                                            cfg.norm_steps)
    return claims(cfg, equations_exact(residuals), alignment(sweep, cfg.catapult_c_range, ratio),
                  final_curvature(sweep, ratio, cfg.final_c_range),
                  sweep_checks(sweep, cfg.lazy_max_c, cfg.catapult_c_range, cfg.convergence_tol), divergence(threshold),
                  relu_lambda0(lam_inf, lam_finite, cfg.relu_widths), normalization(lam_norm, losses),
                  d1_update(sweep, data.X, cfg.catapult_c_range, ratio, cfg.d1_margin))


def repeats(cfg: FullModel) -> _claims.Repeats:
    """Each claim's decisive value in ``cfg.repeats`` rebuilds at other seeds (:func:`catapult.claims.repeat`
    of :func:`rebuild`): the draws the claims' chances to fail at another seed come from."""
    return _claims.repeat(rebuild, cfg, cfg.repeats)
