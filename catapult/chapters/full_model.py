"""Chapter 2, the full model (Sec. 2.2 and App. D.1 of the paper; λ0 of a ReLU network, Sec. 3):
what its cells measure and the claims it checks.

Each measurement function reduces what :mod:`catapult.full_model` and
:func:`catapult.models.lambda0_versus_width` computed to a record; the fields of
:class:`ProseSettings`, :class:`EquationsExact` and :class:`ReluLambda0` are the names the
prose glues (``claims.glue_all(record, ...)``). :func:`claims` builds the chapter's claims.
"""

from __future__ import annotations

from typing import NamedTuple, Sequence

import numpy as np

from .. import claims as _claims
from .. import full_model
from ..scales import FullModel

__all__ = [
    "ProseSettings",
    "prose_settings",
    "EquationsExact",
    "equations_exact",
    "phase_names",
    "Alignment",
    "alignment",
    "SweepChecks",
    "sweep_checks",
    "ReluLambda0",
    "relu_rel_err",
    "relu_lambda0",
    "claims",
    "ALIGNED",
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


def phase_names(cs: Sequence[float]) -> list[str]:
    """The phase each η·λ0 is predicted to be in (η_crit = 2/λ0, η_max = 4/λ0)."""
    return ["lazy" if c < 2 else "catapult" if c < 4 else "divergent" for c in cs]


#: The error counts as aligned with e0 once its alignment exceeds this.
ALIGNED = 0.9


class Alignment(NamedTuple):
    """The error's alignment with the top eigenvector of Θ0 in the catapult runs (Sec. 2.2)."""

    peak_align: float  # min over catapult runs of the peak alignment
    t_aligned: tuple[int, ...]  # per catapult run: first step with alignment > ALIGNED
    t_flat: tuple[int, ...]  # per catapult run: first step with η·λ < 2


def alignment(names: Sequence[str], etas: np.ndarray, lam: np.ndarray, align: np.ndarray) -> Alignment:
    """``names``: :func:`phase_names` of the runs; ``lam``, ``align``: per run and step."""
    runs = [i for i, ph in enumerate(names) if ph == "catapult"]
    return Alignment(
        peak_align=float(min(np.nanmax(align[i]) for i in runs)),
        t_aligned=tuple(int(np.argmax(align[i] > ALIGNED)) for i in runs),
        t_flat=tuple(int(np.argmax(etas[i] * lam[i] < 2)) for i in runs),
    )


class SweepChecks(NamedTuple):
    """What the sweep over width × η·λ0 × seed shows about the phases (Sec. 2.2, App. D.1)."""

    lazy_shift: float  # max n·|λ_final − λ0| over the lazy runs
    catapult_converged: np.ndarray  # per catapult run (width, c, seed): the loss fell below the tolerance
    catapult_final_curvature: float  # max η·λ_final over the catapult runs
    stable_below_4: np.ndarray  # per run with η·λ0 < 4: it did not diverge
    worst_first_divergent: float  # the first divergent η·λ0 at the largest width, farthest from 4 over seeds


def sweep_checks(sweep: full_model.Sweep, lazy_max_c: float, catapult_c_range: tuple[float, float],
                 convergence_tol: float) -> SweepChecks:
    """``sweep``: ``full_model.lr_width_sweep``; runs with η·λ0 ≤ ``lazy_max_c`` count as lazy,
    those in ``catapult_c_range`` as catapult."""
    cs = sweep.cs
    lazy = cs <= lazy_max_c
    catapult_range = (cs >= catapult_c_range[0]) & (cs <= catapult_c_range[1])
    shift = (sweep.widths[:, None, None] * np.abs(sweep.traj.lam[..., -1] - sweep.lam0))[:, lazy]
    converged = sweep.traj.loss[..., -1] < convergence_tol
    first_div = full_model.first_divergent(sweep)[-1]  # the largest width
    return SweepChecks(
        lazy_shift=float(np.nanmax(shift)),
        catapult_converged=converged[:, catapult_range],
        catapult_final_curvature=float(np.nanmax(sweep.final_curvature[:, catapult_range])),
        stable_below_4=~sweep.traj.diverged[:, cs < 4].ravel(),
        worst_first_divergent=float(first_div[np.argmax(np.abs(first_div - 4))]),
    )


class ReluLambda0(NamedTuple):
    """λ0 of a ReLU network at finite width against the infinite-width NTK (Sec. 3: λ0 sets η_crit)."""

    relu_rel_err: float  # RMS relative difference over seeds at the largest width
    relu_rel_err_small: float  # the same at the smallest width
    relu_lam_inf: float  # λ0 of the infinite-width NTK


def relu_rel_err(lam_inf: float, lam_finite: np.ndarray) -> np.ndarray:
    """RMS over seeds of (λ0(n) − λ0(∞)), relative to λ0(∞), per width: (W,)."""
    return np.sqrt(np.mean((lam_finite - lam_inf) ** 2, axis=1)) / lam_inf


def relu_lambda0(lam_inf: float, lam_finite: np.ndarray) -> ReluLambda0:
    """``lam_inf``, ``lam_finite`` (widths × seeds): ``models.lambda0_versus_width``."""
    rel_err = relu_rel_err(lam_inf, lam_finite)
    return ReluLambda0(relu_rel_err=float(rel_err[-1]), relu_rel_err_small=float(rel_err[0]), relu_lam_inf=lam_inf)


def claims(cfg: FullModel, exact: EquationsExact, align: Alignment, sweep: SweepChecks,
           relu: ReluLambda0) -> list[_claims.Claim]:
    """The chapter's claims (Sec. 2.2, App. D.1, Sec. 3)."""
    lo, hi = cfg.catapult_c_range
    return [
        _claims.at_most(
            "equations_exact",
            "Eqs. 10, 11, S5 and the reduced map reproduce GD on (u, v) over the run (float64, max relative deviation)",
            "Sec. 2.2, App. D.1", bound=1e-5, measured=exact.worst_residual, predicted="exact (0)",
        ),
        _claims.at_most(
            "lazy_kernel_constant",
            f"Lazy phase (η·λ0 ≤ {cfg.lazy_max_c}): the top eigenvalue moves by O(1/n): max n·|λ_final − λ0| "
            "over widths and seeds",
            "Sec. 2.2, App. D.1", bound=10.0, measured=sweep.lazy_shift, predicted="O(1)",
        ),
        _claims.fraction(
            "catapult_converges", f"Catapult phase ({lo} ≤ η·λ0 ≤ {hi}): every run converges",
            "Sec. 2.2", passed=sweep.catapult_converged,
        ),
        _claims.at_most(
            "catapult_flat",
            "Catapult phase: training ends with λ_final < 2/η (max η·λ_final over widths and seeds)",
            "Sec. 2.2", bound=2.0, measured=sweep.catapult_final_curvature, predicted="< 2",
        ),
        _claims.at_least(
            "catapult_aligns",
            "Catapult phase: the error aligns with the top eigenvector of Θ0 (min over catapult runs of the "
            "peak alignment)",
            "Sec. 2.2", bound=0.9, measured=align.peak_align, predicted="→ 1",
        ),
        _claims.fraction(
            "aligns_before_flattening", "Catapult phase: the alignment exceeds 0.9 before λ falls below 2/η",
            "Sec. 2.2", passed=[ta <= tf for ta, tf in zip(align.t_aligned, align.t_flat)],
        ),
        _claims.fraction(
            "no_divergence_below_4", "No run with η·λ0 < 4 diverges (any width, any seed)",
            "Sec. 2.2", passed=sweep.stable_below_4,
        ),
        _claims.within(
            "eta_max",
            "Divergence sets in at η·λ0 = 4: first divergent η·λ0 at the largest width (worst seed)",
            "Sec. 2.2, App. D.1", predicted=4.0, measured=sweep.worst_first_divergent, tolerance=0.4,
        ),
        _claims.at_most(
            "relu_lambda0_infinite_width",
            f"ReLU net ({cfg.relu_depth} hidden layers, NTK param.): λ0 at width {max(cfg.relu_widths)} within 5% "
            "of the infinite-width NTK's (RMS over seeds)",
            "Sec. 3 (λ0 sets η_crit)", bound=0.05, measured=relu.relu_rel_err,
            predicted=f"λ0(∞) = {relu.relu_lam_inf:.4g}",
        ),
        _claims.at_most(
            "relu_lambda0_converges",
            f"The finite-width λ0 approaches the infinite-width value: RMS gap at width {max(cfg.relu_widths)} "
            f"over that at width {min(cfg.relu_widths)}",
            "Sec. 3", bound=1.0, measured=relu.relu_rel_err / relu.relu_rel_err_small, predicted="< 1",
        ),
    ]
