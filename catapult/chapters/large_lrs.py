"""Chapter 6, where large learning rates lead (Sadrtdinov et al. 2024, "Where do large learning
rates lead us?"; Secs. 3–6, Figs. 1, 2, 4, 6): what its cells measure and the claims it checks.

The chapter pre-trains a scale-invariant network on the unit sphere at many pre-training
learning rates (PLRs), fine-tunes every end point at small fine-tuning learning rates (FLRs),
and measures where each PLR led, on the paper's synthetic task and on CIFAR-10. The training
runs stay in the notebook (``sphere.pretrain``, ``sphere.finetune``); the functions here read
them off:

- :func:`regimes` / :func:`cifar_regimes`: the three regimes and subregimes 2A/2B (Sec. 3, Fig. 1);
- :func:`stationarity`: regime 2's late loss has no trend and stands apart from regimes 1 and 3;
- :func:`fine_tuning`: test accuracy after fine-tuning and the FLR-above-PLR gain (Sec. 4, Fig. 2);
- :func:`geometry`: angles and error barriers between fine-tuned solutions (Sec. 5, Fig. 4);
- :func:`swa`: weight averaging of the pre-training trajectory against fine-tuning (Sec. 5);
- :func:`features`: the effective number of features a solution uses (Sec. 6, Fig. 6);
- :func:`edge`: the sharpness against the catapult's 2/λ0 (Lewkowycz et al. 2020, Sec. 2);
- :func:`cifar_fine_tuning`: the CIFAR-10 fine-tuning (Sec. 4, Fig. 2);
- :func:`paper_cost`: what the paper's CIFAR-10 grid costs on one GPU.

Records whose fields are the names the prose glues (``claims.glue_all(record, ...)``) are made
by the ``*_readout`` functions, :func:`prose_settings`, :func:`cifar_settings`, :func:`barriers`,
:func:`angles`, :func:`paper_grid` and :func:`paper_cost`; :func:`claims` builds the chapter's
claims from the measurement records.
"""

from __future__ import annotations

from typing import Any, Mapping, NamedTuple

import jax
import numpy as np

from .. import claims as _claims
from .. import gpu_cost, sphere, stats, synthetic
from ..scales import CifarSweep, LargeLRs

__all__ = [
    "Invariance",
    "scale_invariance",
    "ProseSettings",
    "prose_settings",
    "PLRSweep",
    "regimes",
    "cifar_regimes",
    "regime_table",
    "cifar_regime_table",
    "RegimesReadout",
    "regimes_readout",
    "Stationarity",
    "stationarity",
    "StationarityReadout",
    "stationarity_readout",
    "FineTuning",
    "fine_tuning",
    "fine_tuning_table",
    "FineTuningReadout",
    "fine_tuning_readout",
    "BarrierStats",
    "Geometry",
    "geometry",
    "geometry_table",
    "Barriers",
    "barriers",
    "Angles",
    "angles",
    "Swa",
    "swa",
    "SwaReadout",
    "swa_readout",
    "Features",
    "features",
    "FeaturesReadout",
    "features_readout",
    "Edge",
    "edge",
    "EdgeReadout",
    "edge_readout",
    "CifarSettings",
    "cifar_settings",
    "CifarRegimesReadout",
    "cifar_regimes_readout",
    "CifarFineTuning",
    "cifar_fine_tuning",
    "cifar_fine_tuning_table",
    "CifarAccuracy",
    "cifar_accuracy",
    "CifarBarriers",
    "cifar_barriers",
    "PaperGrid",
    "paper_grid",
    "PaperCost",
    "paper_cost",
    "paper_cost_table",
    "claims",
]


def _plr_list(plrs: np.ndarray) -> str:
    """PLRs as the prose lists them ("none" for none)."""
    return ", ".join(f"{p:g}" for p in plrs) or "none"


# ------------------------------------------------------------------ the setting


class Invariance(NamedTuple):
    """The network's scale invariance f(αw) = f(w), checked (Sec. 2 of the paper)."""

    invariance: float  # max |f(αw) − f(w)| over the test inputs, α = 0.1 and 10
    dim: int  # trainable weights


def scale_invariance(net: sphere.SphereNet, x: Any, key: jax.Array) -> Invariance:
    """At a random point ``net.init(fold_in(key, 99))``, on the inputs ``x``."""
    w_check = net.init(jax.random.fold_in(key, 99))
    f_check = np.asarray(net.apply(w_check, x))
    invariance = max(float(np.max(np.abs(np.asarray(net.apply(a * w_check, x)) - f_check))) for a in (0.1, 10.0))
    return Invariance(invariance=invariance, dim=net.dim)


class ProseSettings(NamedTuple):
    """Settings of the synthetic task, the network and the runs that the prose quotes."""

    num_features: int
    margin: float
    n_train: int
    n_test: int
    hidden: int
    head_norm: float
    pt_steps: int
    ft_steps: int
    seeds: int
    ft_seeds: int
    batch_size: int
    input_dim: int
    flrs: str  # the FLRs, listed
    flr_hi: float  # the largest FLR (the seed barrier's)
    flr_lo: float  # the smallest (the checkpoint barrier's)
    barrier_seeds: int
    gap_steps: int


def prose_settings(cfg: LargeLRs, task: synthetic.PlantedTask) -> ProseSettings:
    return ProseSettings(
        num_features=cfg.num_features, margin=cfg.margin, n_train=cfg.n_train, n_test=cfg.n_test, hidden=cfg.hidden,
        head_norm=cfg.head_norm, pt_steps=cfg.pt_steps, ft_steps=cfg.ft_steps, seeds=cfg.seeds, ft_seeds=cfg.ft_seeds,
        batch_size=cfg.batch_size, input_dim=task.input_dim, flrs=", ".join(f"{p:g}" for p in cfg.flrs),
        flr_hi=float(cfg.flrs[-1]), flr_lo=float(cfg.flrs[0]), barrier_seeds=cfg.barrier_seeds, gap_steps=cfg.gap_steps,
    )


# ------------------------------------------------------------------ regimes (Sec. 3, Fig. 1)


class PLRSweep(NamedTuple):
    """A PLR sweep sorted into the paper's regimes (Sec. 3, Fig. 1): 1 convergence, 2 a chaotic
    equilibrium at a non-zero loss, 3 a random walk; regime 2 split into 2A (within a factor of the
    convergence threshold) and 2B (Sec. 4). Classified from the last quarter of pre-training."""

    plrs: np.ndarray  # (P,)
    regime: np.ndarray  # (P,) 1, 2 or 3
    threshold: float  # the convergence threshold (NaN without regime 1)
    random_walk: float  # the first PLR of regime 3
    late_mean: np.ndarray  # (P, S) late training loss
    late_std: np.ndarray  # (P, S) its fluctuation
    late_acc: np.ndarray  # (P, S) late training accuracy
    random_above: float  # regime 3 when the mean late loss is above this
    mixed: np.ndarray  # (P,) regime 2, yet some seeds converged
    sub_a: np.ndarray | None  # (P,) subregime 2A (None: not split)
    sub_b: np.ndarray | None  # (P,) subregime 2B

    @property
    def in1(self) -> np.ndarray:
        return self.regime == 1

    @property
    def in2(self) -> np.ndarray:
        return self.regime == 2

    @property
    def in3(self) -> np.ndarray:
        return self.regime == 3

    @property
    def ordered(self) -> bool:
        """Regimes 1, 2, 3 in the order of increasing PLR."""
        return bool(np.all(np.diff(self.regime[np.argsort(self.plrs)]) >= 0))


def _sweep(plrs: np.ndarray, runs: sphere.Runs, *, converged_below: float, chance_below: float, random_fraction: float,
           converged: str, subregime_factor: float | None) -> PLRSweep:
    late_mean, late_std = sphere.late_statistics(runs)
    late_acc = sphere.late_accuracy(runs)  # same window as late_statistics
    random_above = random_fraction * float(np.mean(runs.loss[..., 0]))
    reg = sphere.classify_regimes(plrs, late_mean, converged_below=converged_below, random_above=random_above,
                                  late_accuracy=late_acc, chance_below=chance_below, converged=converged)
    sub_a, sub_b = (None, None) if subregime_factor is None else sphere.subregimes(
        plrs, reg.regime, reg.threshold, subregime_factor)
    return PLRSweep(
        plrs=plrs, regime=reg.regime, threshold=reg.threshold, random_walk=reg.random_walk, late_mean=late_mean,
        late_std=late_std, late_acc=late_acc, random_above=random_above,
        mixed=(reg.regime == 2) & np.any(late_mean < converged_below, axis=1), sub_a=sub_a, sub_b=sub_b,
    )


def regimes(cfg: LargeLRs, plrs: np.ndarray, pt: sphere.Runs) -> PLRSweep:
    """The synthetic task's sweep (``pt``: ``sphere.pretrain`` at ``plrs``): regime 1 when every
    seed's late loss is below ``cfg.converged_below``, regime 3 near chance or near the untrained
    loss, 2A/2B within ``cfg.subregime_factor`` of the threshold."""
    return _sweep(plrs, pt, converged_below=cfg.converged_below, chance_below=cfg.chance_below,
                  random_fraction=cfg.random_fraction, converged=cfg.converged, subregime_factor=cfg.subregime_factor)


def cifar_regimes(cc: CifarSweep, plrs: np.ndarray, cpt: sphere.Runs) -> PLRSweep:
    """The CIFAR-10 sweep, by the same rules with a ten-class chance level (no 2A/2B split)."""
    return _sweep(plrs, cpt, converged_below=cc.converged_below, chance_below=cc.chance_below,
                  random_fraction=cc.random_fraction, converged="all", subregime_factor=None)


def regime_table(reg: PLRSweep, pt: sphere.Runs) -> str:
    """One line per PLR: regime (with 2A/2B), late loss, its fluctuation, late training accuracy."""
    lines = ["PLR      regime  late loss (max over seeds)  fluctuation  train acc"]
    for p, r, a_, m, mx, s, acc in zip(reg.plrs, reg.regime, reg.sub_a, reg.late_mean.mean(1), reg.late_mean.max(1),
                                       reg.late_std.mean(1), reg.late_acc.mean(1)):
        lines.append(f"{p:8.3g}  {r}{'A' if a_ else ('B' if r == 2 else ' ')}     {m:9.3g} ({mx:8.3g})     {s:9.3g}    {acc:.3f}")
    lines.append(f"convergence threshold ≈ {reg.threshold:.3g}; first PLR of regime 3: {reg.random_walk:.3g}; "
                 f"diverged runs: {int(pt.diverged.sum())}")
    return "\n".join(lines)


def cifar_regime_table(reg: PLRSweep, cpt: sphere.Runs, seconds: float) -> str:
    """One line per PLR: regime, late loss and late training accuracy of every seed."""
    lines = ["PLR      regime  late loss (per seed)   late train acc (per seed)"]
    for p, r, m, a_ in zip(reg.plrs, reg.regime, reg.late_mean, reg.late_acc):
        lines.append(f"{p:8.3g}  {r}       {np.array2string(m, precision=3):20s}  {np.array2string(a_, precision=3)}")
    lines.append(f"convergence threshold ≈ {reg.threshold:.3g}; first PLR of regime 3: {reg.random_walk:.3g}; "
                 f"diverged runs: {int(cpt.diverged.sum())}; pre-training took {seconds:.0f} s")
    return "\n".join(lines)


class RegimesReadout(NamedTuple):
    """The synthetic sweep's regimes as the prose quotes them (Sec. 3, Fig. 1)."""

    threshold: float
    random_walk: float
    converged_below: float
    chance_below: float
    random_above: float
    subregime_factor: float
    plrs_2a: str
    plrs_2b: str
    plrs_mixed: str


def regimes_readout(cfg: LargeLRs, reg: PLRSweep) -> RegimesReadout:
    return RegimesReadout(
        threshold=reg.threshold, random_walk=reg.random_walk, converged_below=cfg.converged_below,
        chance_below=cfg.chance_below, random_above=reg.random_above, subregime_factor=cfg.subregime_factor,
        plrs_2a=_plr_list(reg.plrs[reg.sub_a]), plrs_2b=_plr_list(reg.plrs[reg.sub_b]),
        plrs_mixed=_plr_list(reg.plrs[reg.mixed]),
    )


class Stationarity(NamedTuple):
    """Is regime 2 the paper's stationary state, and does it stand apart from regimes 1 and 3 by more
    than the seed spread (Sec. 3, Fig. 1)? The regime rule alone cannot fail to find three regimes
    in a loss that rises with the PLR; these two measurements can."""

    trend: np.ndarray  # (P, S) the late loss's trend, in late standard deviations (sphere.late_trend)
    trend_1: float  # mean |trend| over regime 1's runs (per seed, then over seeds)
    trend_2: float  # ... over regime 2's
    trend_2_seeds: np.ndarray  # (S,) each seed's mean |trend| over regime 2's runs
    trend_3: float  # ... over regime 3's
    trend_ramp: float  # what a steady linear trend gives over the late window's records
    sep_21: stats.SeedDiff  # late log10 loss, regime 2 minus regime 1 (per seed, over its PLRs)
    sep_32: stats.SeedDiff  # late log10 loss, regime 3 minus regime 2


def stationarity(reg: PLRSweep, runs: sphere.Runs) -> Stationarity:
    """From the pre-training runs ``runs`` that ``reg`` sorted."""
    trend = sphere.late_trend(runs)
    mean_abs = lambda m: float(np.nanmean(stats.seed_means(np.abs(trend), m)))  # noqa: E731
    log_late = np.log10(np.maximum(reg.late_mean, 1e-12))
    l1, l2, l3 = (stats.seed_means(log_late, m) for m in (reg.in1, reg.in2, reg.in3))
    n = sphere.regimes._late(runs.loss, 0.25).shape[-1]  # the late window's records, as in sphere.late_trend
    return Stationarity(trend=trend, trend_1=mean_abs(reg.in1), trend_2=mean_abs(reg.in2),
                        trend_2_seeds=stats.seed_means(np.abs(trend), reg.in2), trend_3=mean_abs(reg.in3),
                        trend_ramp=float(np.sqrt(12 * (n - 1) / (n + 1))), sep_21=stats.paired(l2, l1), sep_32=stats.paired(l3, l2))


class StationarityReadout(NamedTuple):
    """The stationarity of regime 2 and the regimes' separation, as the prose quotes them."""

    trend_1: float
    trend_2: float
    trend_3: float
    trend_ramp: float
    sep_21: float  # decades of late loss, regime 2 above regime 1
    sep_21_z: float
    sep_32: float
    sep_32_z: float


def stationarity_readout(st: Stationarity) -> StationarityReadout:
    return StationarityReadout(trend_1=st.trend_1, trend_2=st.trend_2, trend_3=st.trend_3, trend_ramp=st.trend_ramp,
                               sep_21=st.sep_21.mean,
                               sep_21_z=st.sep_21.z, sep_32=st.sep_32.mean, sep_32_z=st.sep_32.z)


# ------------------------------------------------------------------ fine-tuning (Sec. 4, Fig. 2)


class FineTuning(NamedTuple):
    """Test accuracy after fine-tuning every end point at every FLR (Sec. 4, Fig. 2)."""

    flrs: np.ndarray  # (F,)
    ft_acc: np.ndarray  # (P, S, F) mean over fine-tuning seeds
    pt_acc: np.ndarray  # (P, S) at the end of pre-training
    acc_by_plr: np.ndarray  # (P, F) mean over seeds
    acc_err: np.ndarray  # (P, F) standard error over seeds
    best: np.ndarray  # (F,) index of the best PLR per FLR
    best_in_2a: np.ndarray  # (F,) that PLR is in 2A
    outside: np.ndarray  # (F,) index of the best PLR outside 2A
    margin_se: np.ndarray  # (F,) best 2A PLR minus best outside, in combined standard errors
    best_diff: stats.SeedDiff  # best 2A PLR minus best PLR outside 2A, per seed, averaged over the FLRs
    above_1: stats.SeedDiff  # best 2A PLR minus best regime-1 PLR, likewise
    flr_dep_1: stats.SeedDiff  # largest FLR minus smallest: accuracy after fine-tuning, regime 1's PLRs
    flr_dep_a: stats.SeedDiff  # ... 2A's PLRs
    flr_dep_b: stats.SeedDiff  # ... 2B's PLRs
    gain_above: float  # regime 1: mean gain of fine-tuning over the end point, FLR above the PLR
    gain_above_se: float
    gain_below: float  # ... FLR below the PLR
    gain_below_se: float
    gain: stats.SeedDiff  # (above − below), paired by seed
    n_above: int  # PLR-FLR pairs of regime 1 with the FLR above the PLR
    n_below: int

    @property
    def gain_z(self) -> float:
        """(above − below) in standard errors over seeds."""
        return self.gain.z


def _best_paired(ft_acc: np.ndarray, acc_by_plr: np.ndarray, a: np.ndarray, b: np.ndarray) -> stats.SeedDiff:
    """The best PLR of mask ``a`` minus the best of mask ``b`` (each chosen per FLR by its mean over
    seeds), test accuracy after fine-tuning compared seed by seed and averaged over the FLRs. NaN
    where either mask is empty."""
    a, b = np.asarray(a, bool), np.asarray(b, bool)
    if not (a.any() and b.any()):
        return stats.SeedDiff(mean=np.nan, se=np.nan, z=np.nan, n=0)
    best = lambda m, j: np.flatnonzero(m)[np.argmax(acc_by_plr[m, j])]  # noqa: E731
    per_flr = [ft_acc[best(a, j), :, j] - ft_acc[best(b, j), :, j] for j in range(ft_acc.shape[-1])]
    return stats.paired(np.mean(per_flr, axis=0), np.zeros(ft_acc.shape[1]))


def fine_tuning(cfg: LargeLRs, net: sphere.SphereNet, task: synthetic.PlantedTask, reg: PLRSweep, pt: sphere.Runs,
                ft: sphere.Runs) -> FineTuning:
    """``ft``: ``sphere.finetune`` of ``pt``'s end points at ``cfg.flrs``; accuracy on the test set."""
    flrs = np.asarray(cfg.flrs, dtype=float)
    ft_acc = sphere.evaluate(net, ft.w, task.x_test, task.y_test)[1].mean(axis=-1)
    pt_acc = sphere.evaluate(net, pt.w, task.x_test, task.y_test)[1]
    acc_by_plr = ft_acc.mean(axis=1)
    acc_err = ft_acc.std(axis=1, ddof=1) / np.sqrt(cfg.seeds)
    best = np.argmax(acc_by_plr, axis=0)
    outside, margin_se = [], []
    for j in range(flrs.size):
        _, io, _, z = stats.best_inside_vs_outside(acc_by_plr[:, j], acc_err[:, j], reg.sub_a)
        outside.append(io)
        margin_se.append(z)
    # The best 2A PLR and the best outside 2A (chosen by their means), compared seed by seed.
    best_diff = stats.paired(*(np.mean([ft_acc[idx[j], :, j] for j in range(flrs.size)], axis=0)
                          for idx in (np.asarray([stats.best_inside_vs_outside(acc_by_plr[:, j], acc_err[:, j], reg.sub_a)[0]
                                                  for j in range(flrs.size)]), np.asarray(outside))))
    above_1 = _best_paired(ft_acc, acc_by_plr, reg.sub_a, reg.in1)
    flr_dep = [stats.paired(stats.seed_means(ft_acc[..., -1], m), stats.seed_means(ft_acc[..., 0], m)) for m in (reg.in1, reg.sub_a, reg.sub_b)]
    # Regime 1: gain of fine-tuning over the pre-trained end point, for FLRs above and below the PLR.
    gain = ft_acc - pt_acc[..., None]  # (P, S, F)
    above = reg.in1[:, None] & (flrs[None, :] > reg.plrs[:, None] * 1.01)  # (P, F)
    below = reg.in1[:, None] & (flrs[None, :] < reg.plrs[:, None] / 1.01)
    per_seed = lambda mask: np.array([np.mean(gain[:, s][mask]) if mask.any() else np.nan  # noqa: E731
                                      for s in range(gain.shape[1])])
    g_above, g_below = per_seed(above), per_seed(below)  # (S,): seeds are the replicates
    (gain_above, gain_above_se), (gain_below, gain_below_se) = stats.mean_and_error(g_above), stats.mean_and_error(g_below)
    return FineTuning(
        flrs=flrs, ft_acc=ft_acc, pt_acc=pt_acc, acc_by_plr=acc_by_plr, acc_err=acc_err, best=best,
        best_in_2a=reg.sub_a[best], outside=np.asarray(outside), margin_se=np.asarray(margin_se), best_diff=best_diff,
        above_1=above_1,
        flr_dep_1=flr_dep[0], flr_dep_a=flr_dep[1], flr_dep_b=flr_dep[2],
        gain_above=gain_above, gain_above_se=gain_above_se, gain_below=gain_below, gain_below_se=gain_below_se,
        gain=stats.paired(g_above, g_below),
        n_above=int(above.sum()), n_below=int(below.sum()),
    )


def fine_tuning_table(reg: PLRSweep, t: FineTuning) -> str:
    """Per FLR the best PLR and the best outside 2A; then regime 1's gain above vs below the PLR."""
    lines = []
    for j, f in enumerate(t.flrs):
        b, io = t.best[j], t.outside[j]
        lines.append(
            f"FLR {f:g}: best test accuracy {t.acc_by_plr[b, j]:.3f} ± {t.acc_err[b, j]:.3f} at PLR {reg.plrs[b]:.3g} "
            f"(regime {reg.regime[b]}{'A' if t.best_in_2a[j] else ''}); best outside 2A {t.acc_by_plr[io, j]:.3f} at "
            f"PLR {reg.plrs[io]:.3g}; margin {t.margin_se[j]:.1f} standard errors")
    lines.append(
        f"regime 1, gain from fine-tuning: FLR above the PLR {t.gain_above:+.4f} ± {t.gain_above_se:.4f} ({t.n_above} PLR-FLR "
        f"pairs), FLR below the PLR {t.gain_below:+.4f} ± {t.gain_below_se:.4f} ({t.n_below} pairs); difference "
        f"{t.gain_z:.1f} standard errors")
    return "\n".join(lines)


class FineTuningReadout(NamedTuple):
    """The fine-tuning results the prose quotes (Sec. 4, Fig. 2)."""

    best_acc: float  # best mean test accuracy over PLR × FLR
    best_acc_err: float
    best_plr: float
    best_margin: float  # best 2A PLR minus best outside 2A, per seed, FLR-averaged: percentage points
    best_z: float  # ... in standard errors over seeds
    above_1: float  # best 2A PLR minus best regime-1 PLR, percentage points (per seed, mean over seeds)
    above_1_se: float
    above_1_z: float
    gain_above: float  # percentage points
    gain_below: float
    gain_z: float
    flr_dep_1: float  # largest FLR minus smallest, percentage points: regime 1
    flr_dep_a: float  # ... 2A
    flr_dep_a_se: float
    flr_dep_b: float  # ... 2B


def fine_tuning_readout(reg: PLRSweep, t: FineTuning) -> FineTuningReadout:
    j_best = np.unravel_index(np.argmax(t.acc_by_plr), t.acc_by_plr.shape)
    return FineTuningReadout(
        best_acc=float(t.acc_by_plr.max()), best_acc_err=float(t.acc_err[j_best]), best_plr=float(reg.plrs[j_best[0]]),
        best_margin=100 * t.best_diff.mean, best_z=t.best_diff.z, above_1=100 * t.above_1.mean,
        above_1_se=100 * t.above_1.se, above_1_z=t.above_1.z, gain_above=100 * t.gain_above,
        gain_below=100 * t.gain_below, gain_z=t.gain_z, flr_dep_1=100 * t.flr_dep_1.mean, flr_dep_a=100 * t.flr_dep_a.mean,
        flr_dep_a_se=100 * t.flr_dep_a.se, flr_dep_b=100 * t.flr_dep_b.mean,
    )


# ------------------------------------------------------------------ geometry (Sec. 5, Fig. 4)


class BarrierStats(NamedTuple):
    """Mean and standard error over seeds of a barrier over the PLRs of 2A, 2B and regime 3 (each
    seed's PLRs averaged first: seeds are the independent replicates)."""

    a: float
    a_se: float
    b: float
    b_se: float
    r3: float
    r3_se: float
    diff: stats.SeedDiff  # 2B − 2A, paired by seed

    @property
    def z(self) -> float:
        """(2B − 2A) in standard errors over seeds."""
        return self.diff.z


def _barrier_stats(b: np.ndarray, reg: PLRSweep) -> BarrierStats:
    sa, sb, s3 = (stats.seed_means(b, m) for m in (reg.sub_a, reg.sub_b, reg.in3))
    (ma, ea), (mb, eb), (m3, e3) = (stats.mean_and_error(v) for v in (sa, sb, s3))
    return BarrierStats(a=ma, a_se=ea, b=mb, b_se=eb, r3=m3, r3_se=e3, diff=stats.paired(sb, sa))


class Geometry(NamedTuple):
    """Angles and error barriers between fine-tuned solutions (Sec. 5, Fig. 4), per end point (P, S)."""

    angles_flr: np.ndarray  # same end point, fine-tuned at the smallest and the largest FLR (the paper's protocol)
    barriers_flr: np.ndarray
    angles_seed: np.ndarray  # same end point, different fine-tuning seeds (mean over pairs)
    barriers_seed: np.ndarray
    angles_ckpt: np.ndarray  # two checkpoints of one run, same fine-tuning seed
    barriers_ckpt: np.ndarray
    travel: np.ndarray  # angle (radians) the pre-training run travelled between its two checkpoints
    flr: BarrierStats
    seed: BarrierStats
    ckpt: BarrierStats
    ckpt_norm: BarrierStats  # the checkpoint barrier per radian travelled


def geometry(net: sphere.SphereNet, task: synthetic.PlantedTask, reg: PLRSweep, pt: sphere.Runs, ft: sphere.Runs,
             ft_hi: sphere.Runs, more: sphere.Runs, ft_more: sphere.Runs, alphas: np.ndarray) -> Geometry:
    """``ft``: the end points ``pt.w`` fine-tuned at every FLR (the smallest and the largest are
    compared, same fine-tuning seed, as in isadrtdinov/understanding-large-lrs); ``ft_hi``: at the
    largest FLR with paired seeds (0, 1), (2, 3), ...; ``more``: pre-training continued to a later
    checkpoint, ``ft_more`` that checkpoint fine-tuned at the smallest FLR with ``ft``'s minibatch
    order. Barriers on the test set at ``alphas``."""
    errs = lambda w1, w2: sphere.barrier(  # noqa: E731
        sphere.interpolation_errors(net, w1, w2, task.x_test, task.y_test, alphas), alphas)
    w_lo, w_hi = ft.w[:, :, 0, 0], ft.w[:, :, -1, 0]
    angles_flr, barriers_flr = sphere.angle(w_lo, w_hi), errs(w_lo, w_hi)
    w_s1, w_s2 = ft_hi.w[:, :, 0, 0::2], ft_hi.w[:, :, 0, 1::2]  # (P, S, pairs, D)
    angles_seed = sphere.angle(w_s1, w_s2).mean(-1)  # (P, S): mean over the pairs of one end point
    barriers_seed = errs(w_s1, w_s2).mean(-1)
    w_c2 = ft_more.w[:, :, 0, 0]  # smallest FLR, same minibatch order as w_lo
    angles_ckpt, barriers_ckpt = sphere.angle(w_lo, w_c2), errs(w_lo, w_c2)
    travel = sphere.angle(pt.w, more.w)
    return Geometry(
        angles_flr=angles_flr, barriers_flr=barriers_flr, angles_seed=angles_seed, barriers_seed=barriers_seed,
        angles_ckpt=angles_ckpt, barriers_ckpt=barriers_ckpt, travel=travel, flr=_barrier_stats(barriers_flr, reg),
        seed=_barrier_stats(barriers_seed, reg), ckpt=_barrier_stats(barriers_ckpt, reg),
        ckpt_norm=_barrier_stats(barriers_ckpt / np.where(travel > 0, travel, np.nan), reg),
    )


def geometry_table(g: Geometry) -> str:
    """The barriers of 2A, 2B and regime 3, in percentage points."""
    return "\n".join(
        f"barrier ({name}): 2A {100 * s.a:.2f} ± {100 * s.a_se:.2f}, 2B {100 * s.b:.2f} ± {100 * s.b_se:.2f}, "
        f"regime 3 {100 * s.r3:.2f} ± {100 * s.r3_se:.2f} percentage points; 2B − 2A = {s.z:.1f} standard errors"
        for name, s in (("flr", g.flr), ("seed", g.seed), ("ckpt", g.ckpt), ("ckpt per radian travelled", g.ckpt_norm)))


class Barriers(NamedTuple):
    """The barriers the prose quotes, in percentage points (``norm``: per radian travelled; z: in
    standard errors over seeds)."""

    bar_flr_a: float
    bar_flr_a_se: float
    bar_flr_b: float
    bar_flr_b_se: float
    bar_flr_r3: float
    bar_flr_z: float
    bar_seed_a: float
    bar_seed_a_se: float
    bar_seed_b: float
    bar_seed_b_se: float
    bar_seed_r3: float
    bar_seed_z: float
    bar_ckpt_a: float
    bar_ckpt_a_se: float
    bar_ckpt_b: float
    bar_ckpt_b_se: float
    bar_ckpt_r3: float
    bar_ckpt_z: float
    bar_norm_a: float
    bar_norm_a_se: float
    bar_norm_b: float
    bar_norm_b_se: float
    bar_norm_r3: float
    bar_norm_z: float


def barriers(g: Geometry) -> Barriers:
    values = {}
    for name, s in (("flr", g.flr), ("seed", g.seed), ("ckpt", g.ckpt), ("norm", g.ckpt_norm)):
        values.update({f"bar_{name}_{part}": 100 * getattr(s, part) for part in ("a", "a_se", "b", "b_se", "r3")})
        values[f"bar_{name}_z"] = s.z
    return Barriers(**values)


class Angles(NamedTuple):
    """Mean angle (degrees) between the fine-tuned solutions from regime 1, 2A and 2B, and the angle
    the pre-training run travelled between its two checkpoints."""

    ang_flr_1: float
    ang_flr_a: float
    ang_flr_b: float
    ang_seed_1: float
    ang_seed_a: float
    ang_seed_b: float
    ang_ckpt_1: float
    ang_ckpt_a: float
    ang_ckpt_b: float
    travel_a: float
    travel_b: float


def angles(reg: PLRSweep, g: Geometry) -> Angles:
    values = {}
    for name, ang in (("flr", g.angles_flr), ("seed", g.angles_seed), ("ckpt", g.angles_ckpt)):
        for part, m in (("1", reg.in1), ("a", reg.sub_a), ("b", reg.sub_b)):
            values[f"ang_{name}_{part}"] = float(np.degrees(ang[m].mean())) if m.any() else np.nan
    for part, m in (("a", reg.sub_a), ("b", reg.sub_b)):
        values[f"travel_{part}"] = float(np.degrees(g.travel[m].mean())) if m.any() else np.nan
    return Angles(**values)


class Swa(NamedTuple):
    """Stochastic weight averaging of the pre-training trajectory against fine-tuning (Sec. 5; the
    paper's code averages the last checkpoints taken at the constant PLR): if a run of 2A bounces
    inside one basin, the average of its checkpoints lands near that basin's bottom, as fine-tuning
    does, with no barrier between the two; if a run of 2B wanders between basins, the average falls
    between them."""

    acc_swa: np.ndarray  # (P, S) test accuracy of the average
    acc_ft: np.ndarray  # (P, S) ... of the end point fine-tuned at the smallest FLR
    acc_pt: np.ndarray  # (P, S) ... of the end point itself
    barriers: np.ndarray  # (P, S) test-error barrier between the average and the fine-tuned end point
    gap_a: stats.SeedDiff  # SWA minus fine-tuned, 2A
    gap_b: stats.SeedDiff  # ... 2B
    gain_a: stats.SeedDiff  # SWA minus the end point, 2A
    diff: stats.SeedDiff  # gap_a − gap_b, paired by seed
    barrier: BarrierStats  # the barrier in 2A, 2B and regime 3; 2B − 2A

    @property
    def z(self) -> float:
        """(gap_a − gap_b) in standard errors over seeds."""
        return self.diff.z


def swa(net: sphere.SphereNet, task: synthetic.PlantedTask, reg: PLRSweep, pt: sphere.Runs, ft: sphere.Runs,
        w_swa: np.ndarray, alphas: np.ndarray) -> Swa:
    """``w_swa``: ``sphere.average_trajectory`` of ``pt``'s end points; ``ft``: as in :func:`fine_tuning`;
    the barrier between ``w_swa`` and the fine-tuned end point on the test set at ``alphas`` (the paper's
    fine-tune to SWA barrier)."""
    w_ft = ft.w[:, :, 0, 0]
    acc_swa, acc_ft, acc_pt = (sphere.evaluate(net, w, task.x_test, task.y_test)[1] for w in (w_swa, w_ft, pt.w))
    barriers = sphere.barrier(sphere.interpolation_errors(net, w_swa, w_ft, task.x_test, task.y_test, alphas), alphas)
    gap = [stats.paired(stats.seed_means(acc_swa, m), stats.seed_means(acc_ft, m)) for m in (reg.sub_a, reg.sub_b)]
    diff_a = stats.seed_means(acc_swa, reg.sub_a) - stats.seed_means(acc_ft, reg.sub_a)
    diff_b = stats.seed_means(acc_swa, reg.sub_b) - stats.seed_means(acc_ft, reg.sub_b)
    return Swa(acc_swa=acc_swa, acc_ft=acc_ft, acc_pt=acc_pt, barriers=barriers, gap_a=gap[0], gap_b=gap[1],
               gain_a=stats.paired(stats.seed_means(acc_swa, reg.sub_a), stats.seed_means(acc_pt, reg.sub_a)),
               diff=stats.paired(diff_a, diff_b), barrier=_barrier_stats(barriers, reg))


class SwaReadout(NamedTuple):
    """The SWA results the prose quotes (percentage points; z in standard errors over seeds)."""

    swa_checkpoints: int
    swa_every: int
    swa_window: int  # steps from the first checkpoint averaged to the last
    swa_gap_a: float
    swa_gap_a_se: float
    swa_gap_b: float
    swa_gap_b_se: float
    swa_gain_a: float
    swa_z: float
    swa_bar_a: float
    swa_bar_a_se: float
    swa_bar_b: float
    swa_bar_b_se: float
    swa_bar_r3: float
    swa_bar_z: float


def swa_readout(cfg: LargeLRs, w: Swa) -> SwaReadout:
    b = w.barrier
    return SwaReadout(swa_checkpoints=cfg.swa_checkpoints, swa_every=cfg.swa_every,
                      swa_window=(cfg.swa_checkpoints - 1) * cfg.swa_every, swa_gap_a=100 * w.gap_a.mean,
                      swa_gap_a_se=100 * w.gap_a.se, swa_gap_b=100 * w.gap_b.mean, swa_gap_b_se=100 * w.gap_b.se,
                      swa_gain_a=100 * w.gain_a.mean, swa_z=w.z, swa_bar_a=100 * b.a, swa_bar_a_se=100 * b.a_se,
                      swa_bar_b=100 * b.b, swa_bar_b_se=100 * b.b_se, swa_bar_r3=100 * b.r3, swa_bar_z=b.z)


# ------------------------------------------------------------------ features (Sec. 6, Fig. 6)


class Features(NamedTuple):
    """How many features each fine-tuned solution reads (Sec. 6, Fig. 6), against a noise floor: the
    same count on test sets whose labels are shuffled, i.e. features that no solution reads, where
    only the sampling noise of the accuracies is left."""

    iso: np.ndarray  # (P, S, K) accuracy on a test set where only feature k is informative
    n_eff: np.ndarray  # (P, S) effective number of features used (participation ratio)
    floor: np.ndarray  # (P, S) the same on the shuffled-label sets (the noise floor)
    ranked: np.ndarray  # (P, S, K) each solution's feature accuracies, best first
    n_eff_1: float  # mean over seeds of each seed's mean over regime 1
    n_eff_1_se: float
    n_eff_a: float  # ... over 2A
    n_eff_a_se: float
    n_eff_b: float  # ... over 2B
    n_eff_b_se: float
    n_floor: float  # the noise floor, mean over every solution
    sparse: stats.SeedDiff  # regime 1 − 2A, paired by seed
    dense_b: stats.SeedDiff  # 2B − 2A, likewise: 2B is not sparse
    above_floor: stats.SeedDiff  # regime 1 − its noise floor, likewise: regime 1's count is not noise
    top_a: float  # accuracy with each solution's best single feature, mean over 2A's runs
    top_1: float  # ... over regime 1

    @property
    def n_eff_z(self) -> float:
        return self.sparse.z

    @property
    def n_eff_b_z(self) -> float:
        return self.dense_b.z

    @property
    def n_floor_z(self) -> float:
        return self.above_floor.z


def features(net: sphere.SphereNet, task: synthetic.PlantedTask, reg: PLRSweep, ft: sphere.Runs, samples: int) -> Features:
    """The solutions fine-tuned at the smallest FLR (first fine-tuning seed), tested on
    ``synthetic.isolated_sets(task, samples)`` and on the same sets with shuffled labels."""
    x_iso, y_iso = synthetic.isolated_sets(task, samples)
    y_null = np.random.default_rng(0).permuted(np.asarray(y_iso), axis=-1)  # no feature says anything about these
    w_ft = ft.w[:, :, 0, 0]  # smallest FLR, first fine-tuning seed: (P, S, D)
    iso, null = (np.stack([sphere.evaluate(net, w_ft, x_iso[k], y[k])[1] for k in range(task.num_features)], axis=-1)
                 for y in (y_iso, y_null))
    n_eff, floor = synthetic.effective_features(iso), synthetic.effective_features(null)
    s1, sa, sb, f1 = (stats.seed_means(v, m) for v, m in ((n_eff, reg.in1), (n_eff, reg.sub_a), (n_eff, reg.sub_b),
                                                       (floor, reg.in1)))
    (n1, n1_se), (na, na_se), (nb, nb_se) = (stats.mean_and_error(v) for v in (s1, sa, sb))
    ranked = -np.sort(-iso, axis=-1)  # each model's features from its best to its worst
    return Features(
        iso=iso, n_eff=n_eff, floor=floor, ranked=ranked, n_eff_1=n1, n_eff_1_se=n1_se, n_eff_a=na, n_eff_a_se=na_se,
        n_eff_b=nb, n_eff_b_se=nb_se, n_floor=float(np.nanmean(floor)), sparse=stats.paired(s1, sa),
        dense_b=stats.paired(sb, sa), above_floor=stats.paired(s1, f1),
        top_a=_best_feature(ranked, reg.sub_a), top_1=_best_feature(ranked, reg.in1),
    )


def _best_feature(ranked: np.ndarray, plrs: np.ndarray) -> float:
    """Accuracy with each solution's best single feature (``ranked`` (P, S, K), best first),
    averaged over the runs of the PLRs in the mask ``plrs`` (P,); NaN for an empty mask."""
    return float(ranked[plrs][..., 0].mean()) if plrs.any() else np.nan


class FeaturesReadout(NamedTuple):
    """The features results the prose quotes."""

    n_eff_1: float
    n_eff_1_se: float
    n_eff_a: float
    n_eff_a_se: float
    n_eff_b: float
    n_eff_b_se: float
    n_floor: float
    n_eff_z: float
    n_eff_b_z: float
    n_floor_z: float
    top_a: float
    top_1: float


def features_readout(f: Features) -> FeaturesReadout:
    return FeaturesReadout(*(getattr(f, name) for name in FeaturesReadout._fields))


# ------------------------------------------------------------------ back to the catapult


class Edge(NamedTuple):
    """The sharpness (top Hessian eigenvalue of the training loss) at initialization and at the
    end of pre-training, against the catapult's edge 2/λ0 (Lewkowycz et al. 2020, Sec. 2)."""

    lam_init: np.ndarray  # (S,)
    lam_end: np.ndarray  # (P, S)
    eta_crit: float  # 2/λ0, λ0 the mean over seeds at initialization
    edge: np.ndarray  # (P, S) PLR · λ at the end of pre-training
    catapult: np.ndarray  # (P,) PLRs above 2/λ0 that still converge (regime 1)


def edge(reg: PLRSweep, lam_init: np.ndarray, lam_end: np.ndarray) -> Edge:
    eta_crit = 2.0 / float(np.mean(lam_init))
    return Edge(lam_init=lam_init, lam_end=lam_end, eta_crit=eta_crit, edge=reg.plrs[:, None] * lam_end,
                catapult=(reg.plrs > eta_crit) & reg.in1)


class EdgeReadout(NamedTuple):
    """The sharpness results the prose quotes."""

    lam0: float
    eta_crit: float
    edge_1: float  # max PLR·λ_end over regime 1
    edge_2: float  # mean PLR·λ_end over regime 2
    thr_ratio: float  # convergence threshold over 2/λ0
    catapult_plrs: str


def edge_readout(reg: PLRSweep, e: Edge) -> EdgeReadout:
    in2 = reg.regime == 2
    return EdgeReadout(
        lam0=float(np.mean(e.lam_init)), eta_crit=e.eta_crit,
        edge_1=float(np.nanmax(e.edge[reg.in1])) if reg.in1.any() else np.nan,
        edge_2=float(np.nanmean(e.edge[in2])) if in2.any() else np.nan,
        thr_ratio=reg.threshold / e.eta_crit, catapult_plrs=_plr_list(reg.plrs[e.catapult]),
    )


# ------------------------------------------------------------------ CIFAR-10


class CifarSettings(NamedTuple):
    """The CIFAR-10 sweep's settings and network that the prose quotes."""

    c_head_norm: float
    c_dim: int
    c_n_train: int
    c_n_test: int
    c_image: int
    c_batch: int
    c_pt_steps: int
    c_seeds: int
    c_converged_below: float
    c_chance_below: float
    c_random_fraction: float
    c_flr: float
    c_flr_hi: float
    c_ft_steps: int
    c_ft_seeds: int
    c_net: str
    c_plrs: str


def cifar_settings(cc: CifarSweep, cnet: sphere.SphereNet) -> CifarSettings:
    return CifarSettings(
        c_head_norm=cc.head_norm, c_dim=cnet.dim, c_n_train=cc.n_train, c_n_test=cc.n_test, c_image=cc.image_size,
        c_batch=cc.batch_size, c_pt_steps=cc.pt_steps, c_seeds=cc.seeds, c_converged_below=cc.converged_below,
        c_chance_below=cc.chance_below, c_random_fraction=cc.random_fraction, c_flr=cc.flr, c_flr_hi=cc.flr_hi,
        c_ft_steps=cc.ft_steps,
        c_ft_seeds=cc.ft_seeds, c_net=cnet.name, c_plrs=", ".join(f"{p:g}" for p in cc.plrs),
    )


class CifarRegimesReadout(NamedTuple):
    """The CIFAR-10 sweep's regimes as the prose quotes them (Sec. 3, Fig. 1)."""

    c_random_above: float
    c_threshold: float
    c_random_walk: float
    c_plrs_2: str
    c_plrs_mixed: str


def cifar_regimes_readout(creg: PLRSweep) -> CifarRegimesReadout:
    return CifarRegimesReadout(
        c_random_above=creg.random_above, c_threshold=creg.threshold, c_random_walk=creg.random_walk,
        c_plrs_2=_plr_list(creg.plrs[creg.in2]), c_plrs_mixed=_plr_list(creg.plrs[creg.mixed]),
    )


class CifarFineTuning(NamedTuple):
    """CIFAR-10: test accuracy after fine-tuning at two FLRs, and the barrier between the two
    fine-tunes of one end point (Sec. 4, Fig. 2; Sec. 5). Standard errors are over seeds."""

    flrs: np.ndarray  # (F,) = (flr, flr_hi)
    ft_acc: np.ndarray  # (P, S, F) mean over fine-tuning seeds
    pt_acc: np.ndarray  # (P, S)
    acc_by_plr: np.ndarray  # (P, F) mean over seeds
    acc_err: np.ndarray  # (P, F) standard error over seeds
    acc_stats: np.ndarray  # (P, 2) mean and standard error over seeds of the FLR-averaged accuracy
    best: int  # the best PLR (FLR-averaged)
    best_2: int  # the best PLR of regime 2 (FLR-averaged)
    outside: int  # the best PLR outside regime 2 (FLR-averaged)
    best_diff: stats.SeedDiff  # best regime-2 PLR minus best PLR outside it, chosen per FLR, paired by seed, FLR-averaged
    margin: float  # best_diff in percentage points
    margin_z: float  # ... in standard errors over seeds
    flr_dep_1: stats.SeedDiff  # accuracy at the larger FLR minus at the smaller, regime 1's PLRs
    flr_dep_2: stats.SeedDiff  # ... regime 2's
    barrier: np.ndarray  # (P, S) between the fine-tunes at the two FLRs (first fine-tuning seed)
    bar_1: float  # mean barrier over regime 1 (seeds' means, then over seeds)
    bar_2: float  # ... regime 2
    bar_2_se: float
    bar_3: float  # ... regime 3
    angles: np.ndarray  # (P, S) degrees between the two fine-tuned solutions
    gain: np.ndarray  # (P, S) what fine-tuning (FLR-averaged) adds to each end point's test accuracy


def cifar_fine_tuning(cfg: LargeLRs, cnet: sphere.SphereNet, creg: PLRSweep, cpt: sphere.Runs, c_ft: sphere.Runs,
                      x_test: Any, y_test: Any) -> CifarFineTuning:
    """``c_ft``: ``sphere.finetune`` of ``cpt``'s end points at the FLRs (``cfg.cifar.flr``, ``cfg.cifar.flr_hi``)."""
    flrs = np.array([cfg.cifar.flr, cfg.cifar.flr_hi])
    if c_ft.w.shape[2] != flrs.size:
        raise ValueError(f"c_ft must be fine-tuned at the {flrs.size} FLRs {flrs}, got {c_ft.w.shape[2]}.")
    ft_acc = sphere.evaluate(cnet, c_ft.w, x_test, y_test)[1].mean(axis=-1)  # (P, S, F)
    pt_acc = sphere.evaluate(cnet, cpt.w, x_test, y_test)[1]
    n_seeds = ft_acc.shape[1]
    acc_by_plr = ft_acc.mean(axis=1)
    acc_err = ft_acc.std(axis=1, ddof=1) / np.sqrt(n_seeds) if n_seeds > 1 else np.full_like(acc_by_plr, np.nan)
    acc_stats = np.array([stats.mean_and_error(ft_acc[i].mean(-1)) for i in range(creg.plrs.size)])
    best_2, outside = [], []
    for j in range(flrs.size):
        i2, io, _, _ = stats.best_inside_vs_outside(acc_by_plr[:, j], acc_err[:, j], creg.in2)
        best_2.append(i2)
        outside.append(io)
    best_diff = stats.paired(np.mean([ft_acc[best_2[j], :, j] for j in range(flrs.size)], axis=0),
                        np.mean([ft_acc[outside[j], :, j] for j in range(flrs.size)], axis=0))
    i2, io, _, _ = stats.best_inside_vs_outside(acc_stats[:, 0], acc_stats[:, 1], creg.in2)
    dep = [stats.paired(stats.seed_means(ft_acc[..., -1], m), stats.seed_means(ft_acc[..., 0], m)) for m in (creg.in1, creg.in2)]
    w_lo, w_hi = c_ft.w[:, :, 0, 0], c_ft.w[:, :, -1, 0]
    alphas = np.linspace(0, 1, cfg.interpolation_points)
    barrier = sphere.barrier(sphere.interpolation_errors(cnet, w_lo, w_hi, x_test, y_test, alphas), alphas)
    (bar_1, _), (bar_2, bar_2_se), (bar_3, _) = (stats.mean_and_error(stats.seed_means(barrier, m))
                                                 for m in (creg.in1, creg.in2, creg.in3))
    return CifarFineTuning(
        flrs=flrs, ft_acc=ft_acc, pt_acc=pt_acc, acc_by_plr=acc_by_plr, acc_err=acc_err, acc_stats=acc_stats,
        best=int(np.argmax(acc_stats[:, 0])), best_2=i2, outside=io, best_diff=best_diff, margin=100 * best_diff.mean,
        margin_z=best_diff.z, flr_dep_1=dep[0], flr_dep_2=dep[1], barrier=barrier, bar_1=bar_1, bar_2=bar_2,
        bar_2_se=bar_2_se, bar_3=bar_3, angles=np.degrees(sphere.angle(w_lo, w_hi)), gain=ft_acc.mean(-1) - pt_acc,
    )


def cifar_fine_tuning_table(creg: PLRSweep, t: CifarFineTuning) -> str:
    """Per PLR the accuracy after fine-tuning at each FLR and the barrier; then the margin of regime 2."""
    lines = [f"PLR {p:8.3g} (regime {r}): test accuracy after fine-tuning "
             + ", ".join(f"{m:.3f} ± {e:.3f} (FLR {f:g})" for f, m, e in zip(t.flrs, t.acc_by_plr[i], t.acc_err[i]))
             + f"; barrier between the FLRs {100 * b:.2f} points"
             for i, (p, r, b) in enumerate(zip(creg.plrs, creg.regime, t.barrier.mean(1)))]
    lines.append(f"best regime-2 PLR minus best PLR outside regime 2, per FLR, paired by seed: {t.margin:+.2f} percentage "
                 f"points ({t.margin_z:.1f} standard errors over seeds)")
    return "\n".join(lines)


class CifarAccuracy(NamedTuple):
    """The CIFAR-10 accuracies the prose quotes (Sec. 4, Fig. 2)."""

    c_best_acc: float
    c_best_acc_se: float
    c_best_plr: float
    c_best_regime: int
    c_out_acc: float  # the best PLR outside regime 2
    c_out_plr: float
    c_out_regime: int
    c_margin: float  # percentage points
    c_margin_z: float
    c_acc_1: float  # mean over regime 1's PLRs
    c_acc_3: float  # ... regime 3's
    c_gain_1: float  # what fine-tuning adds, regime 1, percentage points
    c_gain_2: float  # ... regime 2
    c_acc_ceiling: float  # the best accuracy of any run, rounded up to a hundredth
    c_flr_dep_1: float  # larger FLR minus smaller, regime 1, percentage points
    c_flr_dep_1_z: float
    c_flr_dep_2: float  # ... regime 2
    c_flr_dep_2_z: float


def _mean_or_nan(values: np.ndarray, mask: np.ndarray) -> float:
    return float(np.mean(values[mask])) if mask.any() else np.nan


def cifar_accuracy(creg: PLRSweep, t: CifarFineTuning) -> CifarAccuracy:
    b, io = t.best, t.outside
    return CifarAccuracy(
        c_best_acc=float(t.acc_stats[b, 0]), c_best_acc_se=float(t.acc_stats[b, 1]), c_best_plr=float(creg.plrs[b]),
        c_best_regime=int(creg.regime[b]), c_out_acc=float(t.acc_stats[io, 0]), c_out_plr=float(creg.plrs[io]),
        c_out_regime=int(creg.regime[io]), c_margin=t.margin, c_margin_z=t.margin_z,
        c_acc_1=_mean_or_nan(t.acc_stats[:, 0], creg.in1), c_acc_3=_mean_or_nan(t.acc_stats[:, 0], creg.in3),
        c_gain_1=100 * float(np.mean(t.gain[creg.in1])) if creg.in1.any() else np.nan,
        c_gain_2=100 * float(np.mean(t.gain[creg.in2])) if creg.in2.any() else np.nan,
        c_acc_ceiling=float(np.ceil(100 * np.nanmax(t.ft_acc))) / 100,
        c_flr_dep_1=100 * t.flr_dep_1.mean, c_flr_dep_1_z=t.flr_dep_1.z, c_flr_dep_2=100 * t.flr_dep_2.mean,
        c_flr_dep_2_z=t.flr_dep_2.z,
    )


class CifarBarriers(NamedTuple):
    """The CIFAR-10 barriers (percentage points) and angle the prose quotes (Sec. 5)."""

    c_bar_1: float
    c_bar_2: float
    c_bar_2_se: float
    c_bar_3: float
    c_bar_max: float  # the largest mean barrier of any PLR
    c_angle_2: float  # degrees between the two fine-tuned runs of a regime-2 end point


def cifar_barriers(creg: PLRSweep, t: CifarFineTuning) -> CifarBarriers:
    return CifarBarriers(
        c_bar_1=100 * t.bar_1, c_bar_2=100 * t.bar_2, c_bar_2_se=100 * t.bar_2_se, c_bar_3=100 * t.bar_3,
        c_bar_max=100 * float(np.nanmax(t.barrier.mean(1))), c_angle_2=_mean_or_nan(t.angles, creg.in2),
    )


# ------------------------------------------------------------------ the paper's scale


class PaperGrid(NamedTuple):
    """The paper's own CIFAR-10 grid (isadrtdinov/understanding-large-lrs, ResNet18SI)."""

    paper_plrs: int
    paper_seeds: int
    paper_flrs: int
    paper_pt_epochs: int
    paper_ft_epochs: int


def paper_grid(cfg: LargeLRs) -> PaperGrid:
    return PaperGrid(*(getattr(cfg, name) for name in PaperGrid._fields))


class PaperCost(NamedTuple):
    """The CIFAR-10 part at paper scale, counted: XLA's FLOPs for one forward pass of one 32×32
    image, ×3 per image of an SGD step (forward + backward), ×1 per image of each logged
    training-set loss, at the throughput measured on one GPU (chapter 4's WRN-28-10 steps)."""

    paper_net: str
    paper_net_dim: int
    rn_gflops: float  # one forward pass of one image
    conv_tflops: float  # measured on the GPU
    gpu_name: str
    pp_n_train: int
    pp_plrs: int
    pp_seeds: int
    pp_pt_epochs: float
    pp_ft_epochs: float
    pp_ft_seeds: int
    pp_gpu_hours: float  # this book's paper scale
    cifar_gpu_hours: float  # the paper's grid


def paper_cost(cfg: LargeLRs, pc: CifarSweep, gpu: Mapping[str, Any]) -> PaperCost:
    """``pc``: the CIFAR-10 settings at paper scale; ``gpu``: ``gpu_cost.measured()``."""
    paper_net = sphere.build(pc.arch, head_norm=pc.head_norm, **pc.net.asdict())
    image = np.zeros((1, pc.image_size, pc.image_size, 3), np.float32)
    rn_flops = gpu_cost.forward_flops(paper_net.apply, paper_net.init(jax.random.PRNGKey(0)), image)
    tflops = gpu_cost.conv_tflops(gpu)
    epoch_steps = pc.n_train / pc.batch_size
    pp_runs = len(pc.plrs) * pc.seeds
    pp_hours = gpu_cost.sgd_hours(rn_flops, steps=pp_runs * (pc.pt_steps + 2 * pc.ft_seeds * pc.ft_steps), batch_size=pc.batch_size,
                                  n_train=pc.n_train, log_every=pc.log_every, tflops=tflops)
    full_runs = cfg.paper_plrs * cfg.paper_seeds
    full_hours = gpu_cost.sgd_hours(
        rn_flops, steps=full_runs * epoch_steps * (cfg.paper_pt_epochs + cfg.paper_flrs * cfg.paper_ft_epochs),
        batch_size=pc.batch_size, n_train=pc.n_train, log_every=epoch_steps, tflops=tflops)
    return PaperCost(
        paper_net=paper_net.name, paper_net_dim=paper_net.dim, rn_gflops=rn_flops / 1e9, conv_tflops=tflops,
        gpu_name=gpu["environment"]["device_kind"], pp_n_train=pc.n_train, pp_plrs=len(pc.plrs), pp_seeds=pc.seeds,
        pp_pt_epochs=pc.pt_steps / epoch_steps, pp_ft_epochs=pc.ft_steps / epoch_steps, pp_ft_seeds=2 * pc.ft_seeds,
        pp_gpu_hours=pp_hours, cifar_gpu_hours=full_hours,
    )


def paper_cost_table(cfg: LargeLRs, c: PaperCost) -> str:
    """The network, the measured throughput, and the GPU-hours of both grids."""
    pp_runs = c.pp_plrs * c.pp_seeds
    full_runs = cfg.paper_plrs * cfg.paper_seeds
    return "\n".join([
        f"{c.paper_net}: {c.paper_net_dim:,} weights, {c.rn_gflops:.3f} GFLOPs per 32×32 image (forward); "
        f"{c.conv_tflops:.0f} TFLOP/s measured on one {c.gpu_name}",
        f"this book's paper scale: {pp_runs} pre-training + {pp_runs * c.pp_ft_seeds} fine-tuning runs ≈ "
        f"{c.pp_gpu_hours:.1f} GPU-hours",
        f"the paper's grid: {full_runs} pre-training + {full_runs * cfg.paper_flrs} fine-tuning runs (logged every epoch) ≈ "
        f"{c.cifar_gpu_hours:.1f} GPU-hours",
    ])


# ------------------------------------------------------------------ claims


def claims(st: Stationarity, tuned: FineTuning, geo: Geometry, sw: Swa, feats: Features,
           ctuned: CifarFineTuning) -> list[_claims.Claim]:
    """The chapter's claims (Sadrtdinov et al. 2024, Secs. 3-6, Figs. 1, 2, 4, 6) from the
    measurement records. Each difference is a one-sided t test over seeds (each seed's PLRs
    averaged first; ``claims.se_claim``), whose chance to fail at another seed comes from the
    seeds' own spread. Which of them a scale does not claim is the report's business
    (``cfg.not_claimed``). What holds by construction is not claimed: three regimes in order, their
    separation in late loss (the regimes are thresholds on that loss) and a threshold above 2/λ0
    (the sharpness at initialization says nothing about convergence); ``tests/test_chapter6.py``
    shows why, and the page shows them as measurements."""

    def se(id: str, statement: str, source: str, d: stats.SeedDiff, control: str) -> _claims.Claim:
        return _claims.se_claim(id, statement, source, z=d.z, n=d.n, control=control, mean=d.mean, se=d.se)

    return [
        _claims.t_claim(
            "regime_2_stationary",
            "Regime 2 is stationary: each seed's mean |rise of the fitted line across the late window| over its "
            "regime-2 runs, in late standard deviations, lies below 2 (a steady trend gives about 3, stationary noise "
            "about 1)",
            "Sec. 3, Fig. 1", values=st.trend_2_seeds, bound=2.0, side="less", predicted="< 2",
            control="regime 1 in the same runs, still descending (about 3)",
        ),
        se(
            "best_finetuned_in_2A",
            "Test accuracy after fine-tuning: the best PLR of subregime 2A minus the best PLR outside 2A (chosen per FLR, "
            "averaged over FLRs), in standard errors over seeds",
            "Sec. 4, Fig. 2", tuned.best_diff,
            control="the best PLR outside 2A (regime 1 and 2B) in the same sweep",
        ),
        se(
            "best_finetuned_2A_beats_regime_1",
            "Test accuracy after fine-tuning: the best PLR of subregime 2A minus the best PLR of regime 1 (each chosen per "
            "FLR by its mean, averaged over FLRs), in standard errors over seeds",
            "Sec. 4, Fig. 2", tuned.above_1,
            control="regime 1's best PLR in the same sweep (training that never leaves convergence)",
        ),
        _claims.at_most(
            "same_quality_every_flr_in_2A",
            "Subregime 2A: test accuracy after fine-tuning at the largest FLR minus at the smallest, |difference| in "
            "percentage points (FLR-invariance)",
            "Sec. 4, Fig. 2", bound=1.0, measured=abs(100 * tuned.flr_dep_a.mean), predicted="< 1",
        ),
        se(
            "flr_above_plr_helps",
            "Regime 1: test-accuracy gain of fine-tuning with an FLR above the PLR minus with an FLR below it, in "
            "standard errors over seeds",
            "Sec. 4", tuned.gain,
            control="regime 1's fine-tunes with an FLR below the PLR",
        ),
        se(
            "flr_barrier_2A_below_2B",
            "Error barrier between the smallest-FLR and the largest-FLR fine-tunes of one end point: 2B minus 2A, in "
            "standard errors over seeds",
            "Sec. 5, Fig. 4", geo.flr.diff,
            control="2A's barrier in the same sweep (a convex region gives equal barriers)",
        ),
        se(
            "seed_barrier_2A_below_2B",
            "Error barrier between fine-tuned solutions from one end point (different fine-tuning seeds): 2B minus 2A, in "
            "standard errors over seeds",
            "Sec. 5, Fig. 4", geo.seed.diff,
            control="2A's barrier in the same sweep (a convex region gives equal barriers)",
        ),
        se(
            "checkpoint_barrier_2A_below_2B",
            "Error barrier between fine-tuned checkpoints of one run per radian the run travelled between them: 2B minus "
            "2A, in standard errors over seeds",
            "Sec. 5, Fig. 4", geo.ckpt_norm.diff,
            control="2A's barrier per radian in the same sweep",
        ),
        se(
            "swa_recovers_2A_not_2B",
            "Test accuracy of the average of pre-training checkpoints minus that of the fine-tuned end point: 2A minus "
            "2B, in standard errors over seeds (a 2A run bounces in one basin, a 2B run wanders between basins)",
            "Sec. 5; SWA as in the paper's code", sw.diff,
            control="2B's SWA gap (a convex visited region gives SWA ≈ fine-tuned at any distance)",
        ),
        se(
            "swa_barrier_2A_below_2B",
            "Error barrier between the average of pre-training checkpoints and the fine-tuned end point: 2B minus 2A, "
            "in standard errors over seeds",
            "Sec. 5; the fine-tune to SWA barrier of the paper's code", sw.barrier.diff,
            control="2A's barrier in the same sweep (a convex region gives equal barriers)",
        ),
        se(
            "features_sparser_in_2A",
            "Effective number of features used: regime 1 minus subregime 2A, in standard errors over seeds",
            "Sec. 6, Fig. 6", feats.sparse,
            control="regime 1's count in the same sweep",
        ),
        se(
            "features_not_sparse_in_2B",
            "Effective number of features used: subregime 2B minus 2A, in standard errors over seeds",
            "Sec. 6, Fig. 6", feats.dense_b,
            control="2A's count in the same sweep",
        ),
        se(
            "features_above_noise_floor",
            "Effective number of features used in regime 1 minus the same count on shuffled labels (features no solution "
            "reads), in standard errors over seeds",
            "Sec. 6, Fig. 6", feats.above_floor,
            control="the same count on shuffled labels (no feature informative)",
        ),
        se(
            "cifar_best_finetuned_in_regime_2",
            "CIFAR-10, scale-invariant ConvNet: test accuracy after fine-tuning, best PLR of regime 2 minus best PLR of "
            "regimes 1 and 3 (chosen per FLR, averaged over FLRs), in standard errors over seeds",
            "Sec. 4, Fig. 2", ctuned.best_diff,
            control="the best PLR of regimes 1 and 3 in the same sweep",
        ),
    ]
