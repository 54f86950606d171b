"""Chapter 1's section on App. C.1 / Fig. S7 (arXiv 2003.02218): the two-hidden-layer ReLU
model on one sample (x = 1, y = 1) that trains up to η ≈ 12/λ0 because units die.

:class:`catapult.scales.WarmupS7` holds the section's settings (chapter 1's settings' ``s7``,
per scale, shifted with the chapter's seed); :func:`measure` reduces a ReLU sweep and its linear control
(:func:`catapult.relu_toy.sweep`) to an :class:`S7Record` whose field names are the prose's
glue names; :func:`claims` checks the paper's statements on it.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .. import claims as _claims
from .. import relu_toy, stats
from ..scales import WarmupS7

__all__ = [
    "S7Record",
    "S7Thresholds",
    "dead_jump",
    "thresholds",
    "S7JumpReadout",
    "jump_readout",
    "S7Widths",
    "threshold_versus_width",
    "S7WidthsReadout",
    "widths_readout",
    "run_sweeps",
    "median_over_seeds",
    "measure",
    "claims",
    "lam0_draws",
    "LAM0_INF",
    "LAZY_MAX_C",
]

#: E[λ0] of the ReLU model, x = 1, at every width: three terms of 1/4 by the sign symmetry of the weights (see :mod:`catapult.relu_toy`).
LAM0_INF = 0.75
#: Runs with η·λ0 up to this are the lazy phase (one step removes the error at η·λ0 = 1).
LAZY_MAX_C = 1.0
_SOURCE = "App. C.1, Fig. S7"


class S7Record(NamedTuple):
    """What Fig. S7's runs show; the field names are the prose's glue names."""

    s7_width: int  # hidden width n
    s7_seeds: int  # initializations trained
    s7_lam0_draws: int  # initializations whose λ0 is averaged
    s7_lam0: float  # mean λ0 (ReLU), predicted LAM0_INF (its expectation at every width)
    s7_lam0_linear: float  # mean λ0 of the linear control (3 at infinite width)
    s7_lazy_ratio: float  # min over η·λ0 ≤ LAZY_MAX_C of the median λ_100/λ0
    s7_catapult_ratio: float  # max over 2 < c < 4 of the median λ_100/λ0
    s7_catapult_ok: float  # fraction of 2 < c < 4 runs that trained with η·λ_100 < 2
    s7_cmax: float  # mean over seeds of the largest η·λ0 up to which every run trained (ReLU)
    s7_cmax_lo: float  # smallest of those over seeds
    s7_cmax_hi: float  # largest of those over seeds
    s7_cmax_linear: float  # the same mean for the linear control
    s7_linear_diverged: float  # fraction of linear runs with c ≥ beyond_bound that diverged
    s7_beyond_ratio: float  # median λ_100/λ0 over trained ReLU runs with c > 4
    s7_dead_lazy: float  # median final dead fraction of layer 1, lazy runs (≈ 1/2 from the start)
    s7_dead_beyond: float  # the same over trained ReLU runs with c > 4
    s7_dead_rise: float  # s7_dead_beyond − s7_dead_lazy
    s7_dead2_beyond: float  # median final dead fraction of layer 2, trained ReLU runs with c > 4
    s7_trivial: float  # fraction of ReLU runs above their seed's η_max that ended at f = 0, a layer dead
    s7_trivial_f: float  # max |f_final| over the ReLU runs that ended trivial
    s7_relu_diverged: float  # fraction of all ReLU runs that diverged
    s7_linear_trivial: float  # fraction of linear runs above their seed's η_max that ended at f = 0


class S7Thresholds(NamedTuple):
    """Per seed, (S,) each: the largest trainable η·λ0 (``relu_toy.largest_trainable``) of the ReLU
    model and of its linear control from the same weights, and how far the fraction of dead
    first-layer units there exceeds the same seed's catapult runs (:func:`dead_jump`)."""

    relu: np.ndarray
    linear: np.ndarray
    relu_jump: np.ndarray
    linear_jump: np.ndarray


def dead_jump(sweep: relu_toy.Sweep) -> np.ndarray:
    """(S,) per seed: the final fraction of first-layer units with h1 ≤ 0 in its run at its largest
    trainable η·λ0, minus its median over its trained catapult runs (2 < η·λ0 < 4); NaN for a seed
    whose threshold is not beyond 4 or that has no trained catapult run."""
    cs = sweep.cs.astype(float)
    cmax = relu_toy.largest_trainable(cs, sweep.outcome)
    dead, trained, cat = sweep.dead1[..., -1], sweep.outcome == relu_toy.TRAINED, (cs > 2) & (cs < 4)
    out = np.full(dead.shape[0], np.nan)
    for s in range(dead.shape[0]):
        mask = cat & trained[s]
        if cmax[s] > 4 and mask.any():
            out[s] = dead[s, int(np.argmin(np.abs(cs - cmax[s])))] - np.median(dead[s, mask])
    return out


def thresholds(relu: relu_toy.Sweep, linear: relu_toy.Sweep) -> S7Thresholds:
    return S7Thresholds(relu=relu_toy.largest_trainable(relu.cs.astype(float), relu.outcome).astype(float),
                        linear=relu_toy.largest_trainable(linear.cs.astype(float), linear.outcome).astype(float),
                        relu_jump=dead_jump(relu), linear_jump=dead_jump(linear))


class S7JumpReadout(NamedTuple):
    """The dead-unit jump at each seed's threshold, as the prose quotes it (means over seeds)."""

    s7_die_jump: float  # ReLU
    s7_die_jump_linear: float  # its linear control
    s7_die_jump_seeds: int  # seeds with a threshold beyond 4 (the claim's n)


def jump_readout(th: S7Thresholds) -> S7JumpReadout:
    return S7JumpReadout(s7_die_jump=float(np.nanmean(th.relu_jump)), s7_die_jump_linear=float(np.nanmean(th.linear_jump)),
                         s7_die_jump_seeds=int(np.isfinite(th.relu_jump).sum()))


class S7Widths(NamedTuple):
    """Each seed's largest trainable η·λ0 at every width of ``cfg.widths``: the ReLU model and its
    linear control from the same weights, (W, S) each."""

    widths: np.ndarray
    relu: np.ndarray
    linear: np.ndarray

    def rise(self) -> np.ndarray:
        """(S,) per seed: the ReLU threshold's rise from the narrowest to the widest width, minus the
        linear control's (a model whose threshold does not depend on the width gives 0)."""
        return (self.relu[-1] - self.relu[0]) - (self.linear[-1] - self.linear[0])


def threshold_versus_width(cfg: WarmupS7, at_width: S7Thresholds) -> S7Widths:
    """The sweep of :func:`run_sweeps` at every width of ``cfg.widths`` (same seeds, rates and
    steps), reduced to each seed's thresholds; ``at_width``: those of ``cfg.width``, already run."""
    widths = tuple(int(w) for w in cfg.widths)
    if len(widths) < 2 or list(widths) != sorted(set(widths)):
        raise ValueError(f"cfg.widths must be at least two increasing widths; got {cfg.widths}")
    relu, linear = [], []
    for w in widths:
        th = at_width if w == cfg.width else thresholds(*run_sweeps(cfg.replace(width=w)))
        relu.append(th.relu)
        linear.append(th.linear)
    return S7Widths(widths=np.asarray(widths), relu=np.asarray(relu), linear=np.asarray(linear))


class S7WidthsReadout(NamedTuple):
    """The threshold against width, as the prose quotes it."""

    s7_widths: str  # the widths, e.g. "32, 64, 128, 256"
    s7_width_lo: int  # narrowest
    s7_width_hi: int  # widest
    s7_thr_relu: str  # mean largest trainable η·λ0 of the ReLU model at each width
    s7_thr_linear: str  # ... of the linear control
    s7_thr_relu_hi: float  # the ReLU mean at the widest width
    s7_rise: float  # mean over seeds of the ReLU rise minus the linear rise (the claim's value)


def widths_readout(by_width: S7Widths) -> S7WidthsReadout:
    means = lambda a: ", ".join(f"{m:.1f}" for m in np.mean(a, axis=1))  # noqa: E731
    return S7WidthsReadout(
        s7_widths=", ".join(str(int(w)) for w in by_width.widths), s7_width_lo=int(by_width.widths[0]),
        s7_width_hi=int(by_width.widths[-1]), s7_thr_relu=means(by_width.relu), s7_thr_linear=means(by_width.linear),
        s7_thr_relu_hi=float(np.mean(by_width.relu[-1])), s7_rise=float(np.mean(by_width.rise())),
    )


def run_sweeps(cfg: WarmupS7) -> tuple[relu_toy.Sweep, relu_toy.Sweep]:
    """The ReLU sweep and its linear control: same seeds, same initial weights, one compiled program."""
    return tuple(relu_toy.sweep(cfg.seed, cfg.width, cfg.cs, cfg.seeds, cfg.steps, time=cfg.time, tol=cfg.tol,
                                activation=a) for a in ("relu", "linear"))


def median_over_seeds(x: np.ndarray, cols: np.ndarray | None = None) -> np.ndarray:
    """Per column (of ``cols``, default all): the median over seeds (axis 0), NaN entries
    ignored, NaN where a column has no finite entry (e.g. a rate at which every run diverged)."""
    sub = np.asarray(x, dtype=float) if cols is None else np.asarray(x, dtype=float)[:, cols]
    ok = np.isfinite(sub).any(axis=0)
    out = np.full(sub.shape[1], np.nan)
    out[ok] = np.nanmedian(sub[:, ok], axis=0)
    return out


def _above_threshold(cs: np.ndarray, outcome: np.ndarray) -> np.ndarray:
    """(S, C) mask of the runs above their seed's largest trainable η·λ0."""
    return cs[None, :] > relu_toy.largest_trainable(cs, outcome)[:, None]


def measure(cfg: WarmupS7, relu: relu_toy.Sweep, linear: relu_toy.Sweep) -> S7Record:
    """Reduce the ReLU sweep and its linear control (same grid, same seeds) to the record; λ0 is
    averaged over ``cfg.lam0_draws`` fresh initializations."""
    if relu.cs.shape != linear.cs.shape or not np.allclose(relu.cs, linear.cs):
        raise ValueError("the ReLU sweep and its linear control must share the grid of η·λ0.")
    cs = relu.cs.astype(float)
    ratio = relu_toy.lambda_at_time(relu)
    trained = relu.outcome == relu_toy.TRAINED
    lazy, cat, beyond = cs <= LAZY_MAX_C, (cs > 2) & (cs < 4), cs > 4
    if not (lazy.any() and cat.any() and beyond.any()):
        raise ValueError(f"the grid must have points ≤ {LAZY_MAX_C}, in (2, 4) and above 4, got {cs}.")
    cat_ok = trained[:, cat] & (relu.etas[:, cat] * relu.lam_at[:, cat] < 2)
    tb = trained[:, beyond]
    nan = float("nan")
    dead1 = relu.dead1[..., -1]
    dead_lazy = float(np.median(dead1[:, lazy]))
    dead_beyond = float(np.median(dead1[:, beyond][tb])) if tb.any() else nan
    cmax = relu_toy.largest_trainable(cs, relu.outcome)
    above, above_lin = _above_threshold(cs, relu.outcome), _above_threshold(cs, linear.outcome)
    trivial = relu.outcome == relu_toy.TRIVIAL
    lin_far = cs >= cfg.beyond_bound
    draws = relu_toy.draw_params(cfg.seed + 10_000, cfg.width, cfg.lam0_draws)  # fresh draws, not the sweep's
    lam0 = lam0_draws(cfg)
    return S7Record(
        s7_width=cfg.width,
        s7_seeds=cfg.seeds,
        s7_lam0_draws=cfg.lam0_draws,
        s7_lam0=float(np.mean(lam0)),
        s7_lam0_linear=float(np.mean(relu_toy.initial_ntk(draws, "linear"))),
        s7_lazy_ratio=float(np.nanmin(median_over_seeds(ratio, lazy))),
        s7_catapult_ratio=float(np.nanmax(median_over_seeds(ratio, cat))),
        s7_catapult_ok=float(cat_ok.mean()),
        s7_cmax=float(np.mean(cmax)),
        s7_cmax_lo=float(cmax.min()),
        s7_cmax_hi=float(cmax.max()),
        s7_cmax_linear=float(np.mean(relu_toy.largest_trainable(cs, linear.outcome))),
        s7_linear_diverged=float(np.mean(linear.outcome[:, lin_far] == relu_toy.DIVERGED)) if lin_far.any() else nan,
        s7_beyond_ratio=float(np.median(ratio[:, beyond][tb])) if tb.any() else nan,
        s7_dead_lazy=dead_lazy,
        s7_dead_beyond=dead_beyond,
        s7_dead_rise=dead_beyond - dead_lazy,
        s7_dead2_beyond=float(np.median(relu.dead2[..., -1][:, beyond][tb])) if tb.any() else nan,
        s7_trivial=float(trivial[above].mean()) if above.any() else nan,
        s7_trivial_f=float(np.max(np.abs(relu.f[..., -1][trivial]))) if trivial.any() else nan,
        s7_relu_diverged=float(np.mean(relu.outcome == relu_toy.DIVERGED)),
        s7_linear_trivial=float(np.mean(linear.outcome[above_lin] == relu_toy.TRIVIAL)) if above_lin.any() else nan,
    )


def claims(rec: S7Record, cfg: WarmupS7, th: S7Thresholds, by_width: S7Widths | None = None,
           relu: relu_toy.Sweep | None = None) -> list[_claims.Claim]:
    """The section's claims (App. C.1, Fig. S7), each with an outcome that would fail it; ``th``:
    :func:`thresholds` of the two sweeps; ``by_width``: :func:`threshold_versus_width`; ``relu``: the
    ReLU sweep, whose per-seed runs give every claim its chance to fail at another seed."""
    return [_estimate(c, cfg, relu) for c in _claims_of(rec, cfg, th, by_width)]


def _estimate(c: _claims.Claim, cfg: WarmupS7, relu: relu_toy.Sweep | None) -> _claims.Claim:
    """A claim of :func:`_claims_of` with its chance to fail at another seed, from this build's own
    seeds (the t tests carry theirs already)."""
    if relu is None or c.chance is not None:
        return c
    cs = relu.cs.astype(float)
    if c.id == "s7_lam0":
        draws = lam0_draws(cfg)
        est = _claims.within_relative(c.id, c.statement, c.source, predicted=LAM0_INF, measured=float(np.mean(draws)),
                                      rtol=cfg.lam0_rtol, replicates=draws, over="draws", statistic="mean")
        return _claims.estimated(c, chance=est.chance, n=est.n, test=est.test)
    if c.id == "s7_lazy":
        # The median of S seeds falls below the bound only if half of them do (stats.median_failure),
        # at each η·λ0 of the lazy phase; the chances add over them.
        ratio = relu_toy.lambda_at_time(relu)[:, cs <= LAZY_MAX_C]
        chance = sum(stats.median_failure(col, lo=cfg.lazy_min_ratio) for col in ratio.T)
        return _claims.estimated(c, chance=chance, n=ratio.shape[0],
                                 test=f"per seed at each of {ratio.shape[1]} lazy η·λ0 (normal fit); a median of "
                                      f"{ratio.shape[0]} seeds crosses only if half of them do (binomial)")
    outcome = relu.outcome
    if c.id == "s7_catapult":
        cat = (cs > 2) & (cs < 4)
        ok = (outcome[:, cat] == relu_toy.TRAINED) & (relu.etas[:, cat] * relu.lam_at[:, cat] < 2)
        return _counted(c, int((~ok).sum()), ok.size, cfg.catapult_required)
    if c.id == "s7_trivial":
        above = _above_threshold(cs, outcome)
        trivial = outcome[above] == relu_toy.TRIVIAL
        return _counted(c, int((~trivial).sum()), max(trivial.size, 1), cfg.trivial_required)
    if c.id == "s7_no_divergence":
        diverged = outcome == relu_toy.DIVERGED
        return _counted(c, int(diverged.sum()), diverged.size, 1.0 - cfg.diverged_max)
    return c


def _counted(c: _claims.Claim, failed: int, runs: int, required: float) -> _claims.Claim:
    """``c`` with the chance that a rebuild's ``runs`` runs fail more often than ``required`` allows."""
    allowed = int(np.floor((1.0 - required) * runs + 1e-9))
    return _claims.estimated(c, chance=stats.count_failure(failed, runs, runs, allowed), n=runs,
                             test=f"{failed} of {runs} runs failed; a rebuild may fail {allowed} (binomial, failure "
                                  "rate at its 90 % upper bound)")


def lam0_draws(cfg: WarmupS7) -> np.ndarray:
    """λ0 of the ReLU model at ``cfg.lam0_draws`` fresh initializations (not the sweep's)."""
    return np.asarray(relu_toy.initial_ntk(relu_toy.draw_params(cfg.seed + 10_000, cfg.width, cfg.lam0_draws), "relu"))


def _claims_of(rec: S7Record, cfg: WarmupS7, th: S7Thresholds, by_width: S7Widths | None) -> list[_claims.Claim]:
    return [
        _claims.within_relative(
            "s7_lam0", f"ReLU model, x = 1: the mean of λ0 = ‖∂f/∂θ‖² over {cfg.lam0_draws} draws is 3/4 (its expectation at every width)",
            "App. C.1 (derived)", predicted=LAM0_INF, measured=rec.s7_lam0, rtol=cfg.lam0_rtol,
            control=f"the linear control from the same draws: mean λ0 {rec.s7_lam0_linear:.2f}",
        ),
        _claims.at_least(
            "s7_lazy", f"Lazy phase (η·λ0 ≤ {LAZY_MAX_C:g}): λ at t·η = {cfg.time:g} stays near λ0 "
            "(smallest median λ_t/λ0)", _SOURCE, bound=cfg.lazy_min_ratio, measured=rec.s7_lazy_ratio,
            predicted="≈ 1", control=f"the catapult runs (2 < η·λ0 < 4), whose median λ_t/λ0 falls to "
                                     f"{rec.s7_catapult_ratio:.2f}",
        ),
        _claims.at_least(
            "s7_catapult", "Catapult phase (2 < η·λ0 < 4): runs converge with η·λ < 2 at t·η = "
            f"{cfg.time:g} (fraction of runs)", _SOURCE, bound=cfg.catapult_required,
            measured=rec.s7_catapult_ok, predicted="all",
            control="the linearized model (kernel frozen at λ0), which diverges at every η·λ0 > 2",
        ),
        _claims.t_claim(
            "s7_linear_eta_max", "Linear control (same model and weights, σ = identity) stops training near "
            f"4/λ0: |largest trainable η·λ0 − 4| per seed, below {cfg.linear_tol:g} on average (a control that "
            "never trains, or trains on like ReLU, fails)", "Sec. 2.1 (η_max = 4/λ0; this model has two layers "
            "and y = 1)", values=np.abs(th.linear - 4.0), bound=cfg.linear_tol, side="less",
            predicted=f"< {cfg.linear_tol:g}",
            control="the ReLU model from the same weights, which trains beyond it",
        ),
        _claims.t_claim(
            "s7_relu_beyond_4", "ReLU trains beyond where its linear control stops: each seed's largest trainable "
            "η·λ0 minus its linear control's (the paper's ≈ 12 is not reached at this width; see the text)",
            _SOURCE, values=th.relu - th.linear, bound=0.0, predicted="> 0 (paper: η_max ≈ 12/λ0 against 4/λ0)",
            control="the linear model from the same weights",
        ),
        *([] if by_width is None else [_claims.t_claim(
            "s7_threshold_rises_with_width", f"ReLU's largest trainable η·λ0 rises with width, towards the paper's "
            f"≈ 12: per seed, its rise from width {int(by_width.widths[0])} to {int(by_width.widths[-1])} minus its "
            "linear control's", _SOURCE, values=by_width.rise(), bound=0.0,
            predicted="> 0 (η_max ≈ 12/λ0 at the paper's width)",
            control="the linear model from the same weights, whose threshold stays near 4 at every width",
        )]),
        _claims.t_claim(
            "s7_units_die_at_threshold", "Units die where ReLU trains furthest: per seed, the dead fraction of the "
            "first layer in its run at its largest trainable η·λ0 (beyond 4) minus its median over its catapult runs "
            f"(2 < η·λ0 < 4); the linear control's, from the same weights: {np.nanmean(th.linear_jump):+.2f}",
            f"{_SOURCE} (the book's reading of why ReLU trains beyond 4/λ0)", values=th.relu_jump, bound=0.0,
            predicted="> 0", control="the linear model from the same weights, whose units cannot die",
        ),
        _claims.at_least(
            "s7_trivial", "Beyond its seed's largest trainable η·λ0 a ReLU run ends at f = 0 with a layer "
            "all dead (fraction of such runs)", _SOURCE, bound=cfg.trivial_required, measured=rec.s7_trivial,
            predicted="all", control=f"the linear control beyond its threshold: {rec.s7_linear_trivial:.0%} end at "
                                     "f = 0 (it cannot lose units)",
        ),
        _claims.at_most(
            "s7_no_divergence", "ReLU runs do not diverge, at any η·λ0 of the sweep (fraction diverged; a finite "
            f"sample cannot show that none will, so at most {cfg.diverged_max:.0%})", _SOURCE,
            bound=cfg.diverged_max, measured=rec.s7_relu_diverged, predicted=0.0,
            control=f"the linear control from the same weights, which diverges beyond 4/λ0 "
                    f"({rec.s7_linear_diverged:.0%} of its runs from η·λ0 = {cfg.beyond_bound:g})",
        ),
    ]
