"""Chapter 3, linearization after the catapult (Sec. 4.1 of the paper; Fig. 6 and S13; Sec. 3.1, App. C.1):
what its cells measure and the claims it checks.

Each measurement function reduces what :mod:`catapult.train` and :mod:`catapult.linearize`
computed to a record whose fields are the names the prose glues (``claims.glue_all(record,
...)``). :func:`claims` builds the chapter's claims from these records; :func:`rebuild` measures
the sweep's claims afresh at other seeds, and :func:`repeats` collects them for their chances.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import numpy as np

from .. import claims as _claims
from .. import data, fits, linearize, models, ntk, train
from ..scales import Linearization

__all__ = [
    "ProseSettings",
    "prose_settings",
    "Bounds",
    "bounds",
    "Curvature",
    "curvature",
    "FunctionSpaceCheck",
    "function_space_check",
    "compared_later",
    "gap_to_network",
    "ThreeModels",
    "three_models",
    "sweep_table",
    "describe",
    "KernelDrift",
    "kernel_drift",
    "describe_drift",
    "unexplained_by",
    "claims",
    "rebuild",
    "repeats",
    "TRAINS",
]


class ProseSettings(NamedTuple):
    """Settings the prose quotes (glued, so the text matches what ran)."""

    width: int  # hidden units
    n_train: int  # training images
    n_test: int  # test images
    steps: int  # steps of GD of every model
    linearize_step: int  # the second linearization is taken after this many steps
    drift_n: int  # training images of Fig. S13c
    drift_c: float  # η·λ0 of Fig. S13c in the catapult phase
    drift_lazy_c: float  # and in the lazy phase
    drift_seeds: int  # initializations per width and phase
    drift_start: int  # the drift is measured from this step ...
    drift_steps: int  # ... to this one
    drift_widths: str  # "a, b and c"


def prose_settings(cfg: Linearization) -> ProseSettings:
    widths = [str(w) for w in cfg.drift_widths]
    return ProseSettings(
        width=cfg.width,
        n_train=cfg.n_train,
        n_test=cfg.n_test,
        steps=cfg.steps,
        linearize_step=cfg.linearize_step,
        drift_n=cfg.drift_n_train,
        drift_c=cfg.drift_c,
        drift_lazy_c=cfg.drift_lazy_c,
        drift_seeds=cfg.drift_seeds,
        drift_start=cfg.drift_start,
        drift_steps=cfg.drift_steps,
        drift_widths=", ".join(widths[:-1]) + " and " + widths[-1],
    )


class Bounds(NamedTuple):
    """The claims' bounds (``cfg``), glued so the prose quotes what the claims use."""

    unexplained_bound: float  # ‖f_net − f_lin‖/‖f_net − f_net(k)‖: "explains most of the move" below
    drift_slope_bound: float  # the drift ∝ n^s falls with width: s below this
    control_c: float  # the control: η·λ0 at least this
    max_trainable_factor: float  # largest trainable η·λ0 within this factor of 12
    dead_bound: float  # dead units at the collapse: at least this fraction
    dead_catapult_bound: float  # and in the catapult phase: at most this one
    loss_drop_bound: float  # the catapult phase "trains": final training loss below this times L0
    peak_slope_bound: float  # the catapult's peak loss ∝ n^p: p above this
    settle_drop_bound: float  # the loss after it grows with width slower than the peak: p_peak − p_T above this
    trains_threshold: float  # the network "trains" where its training accuracy reaches this


def bounds(cfg: Linearization) -> Bounds:
    return Bounds(*(getattr(cfg, name) for name in Bounds._fields[:-1]), trains_threshold=TRAINS)


class Curvature(NamedTuple):
    """λ0 of the network and the learning rate where its linearization turns unstable (Sec. 4.1)."""

    lam0: float  # top eigenvalue of the empirical NTK at initialization
    eta_crit: float  # 2/λ0


def curvature(lam0: float) -> Curvature:
    return Curvature(lam0=lam0, eta_crit=2 / lam0)


class FunctionSpaceCheck(NamedTuple):
    """GD on the linearized model in function space against GD on its parameters (Sec. 4.1), and,
    as the control, against the network itself."""

    check_dev: float  # the larger of the two below
    check_dev_train: float  # max relative deviation of the training loss over the run
    check_dev_test: float  # relative deviation of the final test loss
    check_dev_network: float  # the same (larger of the two) against the network, not linearized: the control


def _deviation(a: Any, b: Any) -> tuple[float, float]:
    """Max relative deviation of ``a``'s training losses from ``b``'s, and of its final test losses."""
    on_train = float(np.max(np.abs(a.loss / b.loss - 1)))
    on_test = float(np.max(np.abs(a.test_loss / b.test_loss - 1)))
    return on_train, on_test


def function_space_check(in_function_space: Any, in_parameter_space: Any, network: Any) -> FunctionSpaceCheck:
    """``in_function_space``: ``linearize.gd``; ``in_parameter_space``: ``train.sweep`` of
    ``linearize.tangent_model``; ``network``: ``train.sweep`` of the network itself, all at the same
    learning rates and steps (anything with ``loss`` and ``test_loss``)."""
    on_train, on_test = _deviation(in_function_space, in_parameter_space)
    return FunctionSpaceCheck(check_dev=max(on_train, on_test), check_dev_train=on_train, check_dev_test=on_test,
                              check_dev_network=max(_deviation(in_function_space, network)))


#: The network "trains" at a learning rate where it does not diverge and reaches this training accuracy.
TRAINS = 0.9


def _trains(net: Any) -> np.ndarray:
    return (~net.divergent) & (net.train_accuracy >= TRAINS)


def _phases(cs: np.ndarray, net: Any, control_c: float = 8.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Masks of the lazy phase (η·λ0 < 2), the catapult phase (2 < η·λ0 < 4) and the control:
    η·λ0 ≥ ``control_c`` (far beyond 4/λ0) where the network still trains."""
    cs = np.asarray(cs)
    return cs < 2, (cs > 2) & (cs < 4), (cs >= control_c) & _trains(net)


def gap_to_network(f_net: np.ndarray, lin: Any) -> np.ndarray:
    """``linearize.function_gap`` of a linearized run (``linearize.gd``) to the network's test
    outputs ``f_net``: infinite where the linearization diverged, NaN where it was not run."""
    gap = linearize.function_gap(f_net, np.nan_to_num(lin.test_outputs, nan=np.inf))
    return np.where(np.isnan(lin.lam), np.nan, np.where(lin.divergent, np.inf, gap))


def compared_later(cs: np.ndarray, net: Any) -> np.ndarray:
    """The rates whose later linearization the chapter compares with the network: η·λ0 > 2 where
    the network trains (below 2 the step-0 linearization is the lazy model; where the network
    does not train there is nothing to track). Linearizing only these saves half the sweep."""
    return (np.asarray(cs) > 2) & _trains(net)


class ThreeModels(NamedTuple):
    """The network and its linearizations at step 0 and step k across learning rates (Sec. 4.1,
    Fig. 6), compared in function space on the test inputs after training: gap = ‖f_net − f_lin‖/‖f_net‖,
    and the share of the network's own move since step 0 (or k) that the linearization misses,
    u = ‖f_net − f_lin‖/‖f_net − f_net(0 or k)‖ (``linearize.unexplained``; infinite for a diverged one)."""

    gap_lazy: float  # lazy phase: max gap of lin@0
    gap_catapult: float  # catapult phase: max gap of lin@k
    gap_beyond: float  # η·λ0 ≥ control_c, where the network trains: min gap of lin@k
    unexplained_lazy: float  # lazy phase: max u of lin@0
    unexplained_catapult: float  # catapult phase: max u of lin@k
    unexplained_beyond: float  # η·λ0 ≥ control_c, where the network trains: min u of lin@k (the control)
    lin0_diverged_catapult: float  # catapult phase: fraction of rates where lin@0 diverged (the control of the two above)
    loss_drop_catapult: float  # catapult phase: max final training loss / initial loss of the network (∞ if diverged)
    acc_gap_lazy: float  # lazy phase: max |test accuracy of lin@0 − network|, points
    acc_gap_catapult: float  # catapult phase: max |test accuracy of lin@k − network|, points
    max_lam10: float  # catapult phase: max η·λ_k (stable below 2)
    max_trainable: float  # largest η·λ0 where the network trains
    collapse_c: float  # smallest η·λ0 with test accuracy below twice chance, or divergence (NaN: none)
    dead_catapult: float  # catapult phase: max fraction of dead hidden units after training
    dead_catapult_units: int  # catapult phase: dead hidden units, summed over its rates
    catapult_units: int  # catapult phase: hidden units, summed over its rates
    dead_collapse: float  # at the first η·λ0 above max_trainable: fraction of dead units (NaN: none)
    dead_jump: float  # that fraction minus the one at max_trainable (NaN: none above)
    best_c: float  # η·λ0 of the network's best test accuracy
    best_acc: float  # that accuracy
    lin0_best_acc: float  # the best test accuracy of lin@0 (diverged runs count 0)
    lin10_best_acc: float  # the best test accuracy of lin@k (diverged runs count 0)


def unexplained_by(f_net: np.ndarray, f_start: np.ndarray, lin: Any) -> np.ndarray:
    """``linearize.unexplained`` of a linearized run (``linearize.gd``) started at the network's
    test outputs ``f_start`` (one set, or one per rate): infinite where it diverged, NaN where it
    was not run."""
    u = linearize.unexplained(f_net, np.broadcast_to(f_start, f_net.shape), np.nan_to_num(lin.test_outputs, nan=np.inf))
    return np.where(np.isnan(lin.lam), np.nan, np.where(lin.divergent, np.inf, u))


def three_models(
    cs: np.ndarray, etas: np.ndarray, net: Any, lin0: Any, lin10: Any, gap0: np.ndarray, gap10: np.ndarray,
    u0: np.ndarray, u10: np.ndarray, dead: np.ndarray, chance: float, control_c: float,
) -> ThreeModels:
    """``cs``, ``etas``: η·λ0 and η of the sweep; ``net``: ``train.sweep``; ``lin0``, ``lin10``:
    ``linearize.gd`` at initialization and after ``linearize_step`` steps; ``gap0``, ``gap10``:
    their ``linearize.function_gap`` to the network on the test inputs, ``u0``, ``u10`` their
    :func:`unexplained_by`; ``dead``: ``linearize.dead_fraction`` of the trained network (one hidden
    layer); ``chance``: 1/classes; ``control_c``: the smallest η·λ0 of the control."""
    cs = np.asarray(cs)
    lazy, catapult_phase, beyond = _phases(cs, net, control_c)
    width = int(np.shape(net.params[0][0])[-1])
    drop = np.where(net.divergent, np.inf, net.train_loss / net.loss[:, 0])
    acc_lazy = np.abs(lin0.test_accuracy[lazy] - net.test_accuracy[lazy])
    acc_catapult = np.abs(lin10.test_accuracy[catapult_phase] - net.test_accuracy[catapult_phase])
    collapse = cs[(net.test_accuracy < 2 * chance) | net.divergent]
    best = int(np.argmax(np.where(net.divergent, -1, net.test_accuracy)))
    trains = _trains(net)
    max_trainable = float(cs[trains].max()) if trains.any() else float("nan")
    above = np.flatnonzero(cs > max_trainable)
    return ThreeModels(
        gap_lazy=float(np.max(gap0[lazy])),
        gap_catapult=float(np.max(gap10[catapult_phase])),
        gap_beyond=float(np.min(gap10[beyond])) if beyond.any() else float("nan"),
        unexplained_lazy=float(np.max(u0[lazy])),
        unexplained_catapult=float(np.max(u10[catapult_phase])),
        unexplained_beyond=float(np.min(u10[beyond])) if beyond.any() else float("nan"),
        lin0_diverged_catapult=float(np.mean(lin0.divergent[catapult_phase])),
        loss_drop_catapult=float(np.max(drop[catapult_phase])),
        acc_gap_lazy=100 * float(acc_lazy.max()),
        acc_gap_catapult=100 * float(acc_catapult.max()),
        max_lam10=float((etas * lin10.lam)[catapult_phase].max()),
        max_trainable=max_trainable,
        collapse_c=float(collapse.min()) if collapse.size else float("nan"),
        dead_catapult=float(np.max(dead[catapult_phase])),
        dead_catapult_units=int(round(float(np.sum(dead[catapult_phase])) * width)),
        catapult_units=int(catapult_phase.sum()) * width,
        dead_collapse=float(dead[above[0]]) if above.size else float("nan"),
        dead_jump=float(dead[above[0]] - dead[np.flatnonzero(cs == max_trainable)[0]]) if above.size else float("nan"),
        best_c=float(cs[best]),
        best_acc=float(net.test_accuracy[best]),
        lin0_best_acc=float(np.max(np.where(lin0.divergent, 0, lin0.test_accuracy))),
        lin10_best_acc=float(np.nanmax(np.where(lin10.divergent, 0, lin10.test_accuracy))),
    )


def sweep_table(cs: np.ndarray, etas: np.ndarray, net: Any, lin0: Any, lin10: Any, u0: np.ndarray,
                u10: np.ndarray, dead: np.ndarray, k: int) -> str:
    """The sweep as a text table, one row per η·λ0, narrow enough for a page: test accuracy of the
    network and its two linearizations, the share of the network's move each misses (u:
    :func:`unexplained_by`) and the fraction of dead hidden units."""
    lk = f"lin@{k}"
    rows = [f"{'η·λ0':>6} {'η·λ' + str(k):>6} | test acc.: net  lin@0 {lk:>6} | missed: lin@0 {lk:>6} | dead"]
    for i, c in enumerate(cs):
        rows.append(f"{c:6.2f} {etas[i] * lin10.lam[i]:6.2f} | {net.test_accuracy[i]:14.3f} {lin0.test_accuracy[i]:6.3f} "
                    f"{lin10.test_accuracy[i]:6.3f} | {u0[i]:13.3f} {u10[i]:6.3f} | {dead[i]:4.2f}")
    return "\n".join(rows)


def describe(m: ThreeModels, k: int) -> str:
    """The sweep's summary in words (the numbers the claims use)."""
    return "\n".join([
        f"lazy phase: lin@0 misses at most {m.unexplained_lazy:.3f} of the network's move (‖f_net − f_lin0‖/‖f_net‖ ≤ "
        f"{m.gap_lazy:.3f}; test accuracy within {m.acc_gap_lazy:.1f} points)",
        f"catapult phase: lin@0 diverges at {m.lin0_diverged_catapult:.0%} of the rates; lin@{k} misses at most "
        f"{m.unexplained_catapult:.3f} of the move after step {k} (‖f_net − f_lin{k}‖/‖f_net‖ ≤ {m.gap_catapult:.3f}; "
        f"test accuracy within {m.acc_gap_catapult:.1f} points); max η·λ{k} = {m.max_lam10:.2f}",
        f"far beyond 4/λ0 where the network trains: lin@{k} misses at least {m.unexplained_beyond:.3f} of the move",
        f"the network trains up to η·λ0 = {m.max_trainable:g}; chance level or divergence from η·λ0 = "
        f"{m.collapse_c:g}; dead units: ≤ {m.dead_catapult:.2f} in the catapult phase, {m.dead_collapse:.2f} "
        f"at the next rate above the largest trainable one ({m.dead_jump:+.2f} from the largest trainable one)",
    ])


class KernelDrift(NamedTuple):
    """How far the kernel moves after step ``drift_start`` against width (Fig. S13c). An exponent s
    (drift ∝ n^s) is fitted per initialization index (the i-th initialization of every width: an
    independent draw at each width) and averaged over them; its per-seed values decide the claims."""

    drift_slope: float  # mean exponent s of the drift ∝ n^s, catapult phase
    drift_lazy_slope: float  # the same in the lazy phase
    early_slope: float  # mean exponent of the move over the first drift_start steps, catapult phase (the control)
    drift_slopes: tuple[float, ...]  # per initialization index, catapult phase
    drift_lazy_slopes: tuple[float, ...]  # ... lazy phase
    early_slopes: tuple[float, ...]  # ... the move over the catapult
    drift_ratio: float  # median drift at the smallest width over that at the largest, catapult phase
    early_min: float  # the smallest median move over the first steps, catapult phase, any width
    max_lam_start: float  # max η·λ at drift_start over the catapult-phase runs (the catapult is over below 2)
    lam_start: tuple[float, ...]  # η·λ at drift_start of every catapult-phase run
    # Sec. 4.1: the outputs grow with width during the catapult and settle back to O(1) after it
    peak_slope: float  # mean exponent of the peak training loss max_t L_t ∝ n^p, catapult phase
    peak_slopes: tuple[float, ...]  # per initialization index
    peak_lazy_slope: float  # the same in the lazy phase (the control: no catapult, no growth)
    settle_slope: float  # mean exponent of the loss at drift_steps, L_T ∝ n^p, catapult phase
    settle_slopes: tuple[float, ...]  # per initialization index
    settle_drop: float  # mean of p_peak − p_T per initialization index: how much of the peak's growth is undone
    settle_drops: tuple[float, ...]  # per initialization index
    settle_lazy_drop: float  # the same in the lazy phase (the control: nothing grew, nothing to undo)


def _slopes(widths: np.ndarray, values: np.ndarray) -> tuple[float, ...]:
    """The exponent of values ∝ n^s of every initialization index (``values``: (widths, seeds))."""
    return tuple(fits.power_law(widths, values[:, i]).slope for i in range(values.shape[-1]))


def kernel_drift(widths: np.ndarray, drift: Any, cs: tuple[float, float]) -> KernelDrift:
    """``drift``: ``linearize.drift_versus_width`` at η·λ0 = ``cs`` (catapult, lazy)."""
    med = np.median(drift.drift, axis=-1)  # (widths, phases)
    early = np.median(drift.drift_early[:, 0], axis=-1)
    eta_lam = cs[0] * drift.lam_start[:, 0] / drift.lam0[:, 0]
    catapult, lazy, move = (_slopes(widths, a) for a in (drift.drift[:, 0], drift.drift[:, 1], drift.drift_early[:, 0]))
    peak, settle = _slopes(widths, np.max(drift.loss[:, 0], axis=-1)), _slopes(widths, drift.loss[:, 0, :, -1])
    peak_lazy, settle_lazy = _slopes(widths, np.max(drift.loss[:, 1], axis=-1)), _slopes(widths, drift.loss[:, 1, :, -1])
    drops = tuple(p - s for p, s in zip(peak, settle))
    return KernelDrift(
        drift_slope=float(np.mean(catapult)),
        drift_lazy_slope=float(np.mean(lazy)),
        early_slope=float(np.mean(move)),
        drift_slopes=catapult,
        drift_lazy_slopes=lazy,
        early_slopes=move,
        drift_ratio=float(med[0, 0] / med[-1, 0]),
        early_min=float(early.min()),
        max_lam_start=float(np.max(eta_lam)),
        lam_start=tuple(float(v) for v in np.ravel(eta_lam)),
        peak_slope=float(np.mean(peak)),
        peak_slopes=peak,
        peak_lazy_slope=float(np.mean(peak_lazy)),
        settle_slope=float(np.mean(settle)),
        settle_slopes=settle,
        settle_drop=float(np.mean(drops)),
        settle_drops=drops,
        settle_lazy_drop=float(np.mean(peak_lazy) - np.mean(settle_lazy)),
    )


def describe_drift(widths: np.ndarray, drift: Any, kernel: KernelDrift, start: int) -> str:
    """The drift measurement in words: medians per width and the fitted exponents."""
    med, early = np.median(drift.drift, axis=-1), np.median(drift.drift_early[:, 0], axis=-1)
    rows = [f"width {w:6d}: median drift after step {start}: catapult {med[i, 0]:.2e}, lazy {med[i, 1]:.2e}; "
            f"move over steps 0-{start}, catapult: {early[i]:.2f}" for i, w in enumerate(widths)]
    rows.append(f"exponents s (drift ∝ n^s), mean over initializations: after the catapult {kernel.drift_slope:.2f} "
                f"(sd {np.std(kernel.drift_slopes, ddof=1):.2f}), lazy {kernel.drift_lazy_slope:.2f}, "
                f"over the catapult {kernel.early_slope:.2f}; max η·λ at step {start}: {kernel.max_lam_start:.2f}")
    rows.append(f"training loss against width, catapult phase: its peak ∝ n^{kernel.peak_slope:.2f} (lazy phase: "
                f"n^{kernel.peak_lazy_slope:.2f}), at step {drift.loss.shape[-1] - 1} ∝ n^{kernel.settle_slope:.2f}")
    return "\n".join(rows)


def claims(cfg: Linearization, check: FunctionSpaceCheck, models: ThreeModels, drift: KernelDrift | None,
           reps: _claims.Repeats = _claims.NO_REPEATS) -> list[_claims.Claim]:
    """The chapter's claims (Sec. 3, 3.1, 4.1, App. C.1, Fig. 6, S13c). ``reps``: :func:`repeats`; with
    them every claim of the sweep carries its chance to fail at another seed, and the drift claims theirs
    from the build's own initializations. ``drift=None`` (a rebuild): the sweep's claims only."""
    k, m, u = cfg.linearize_step, models, cfg.unexplained_bound
    rep = reps.of
    alive = np.arange(m.catapult_units) >= m.dead_catapult_units  # one entry per unit and catapult-phase run
    out = [
        _claims.at_most(
            "function_space_exact",
            "GD on the linearized model in function space equals GD on neural_tangents.linearize's parameters "
            "(max relative deviation of the losses)",
            "Sec. 4.1", bound=cfg.exact_bound, measured=check.check_dev, predicted="exact (0)", log=True,
            replicates=rep("function_space_exact", check.check_dev),
            control=f"the network itself, not linearized, at the same rates and steps: {check.check_dev_network:.1e}",
        ),
        _claims.at_most(
            "network_trains_in_catapult",
            "The network trains where the step-0 linearization diverges: for 2 < η·λ0 < 4 the final training loss "
            f"is below {cfg.loss_drop_bound:g} L0 at every rate (the largest L_T/L0; a divergent run is ∞)",
            "Sec. 3, Fig. 6", bound=cfg.loss_drop_bound, measured=m.loss_drop_catapult, predicted="trains", log=True,
            replicates=rep("network_trains_in_catapult", m.loss_drop_catapult),
            control=f"the step-0 linearization at the same rates: diverged at {m.lin0_diverged_catapult:.0%} of them",
        ),
        _claims.at_most(
            "lin0_explains_lazy",
            "Lazy phase (η·λ0 < 2): the step-0 linearization reproduces most of the network's move on the test "
            "inputs (max ‖f_net − f_lin0‖/‖f_net − f_net(0)‖)",
            "Sec. 4.1, Fig. 6", bound=u, measured=m.unexplained_lazy, predicted="≈ 0 (O(n^-1/2))",
            replicates=rep("lin0_explains_lazy", m.unexplained_lazy),
            control=f"the same linearization in the catapult phase diverges ({m.lin0_diverged_catapult:.0%} of its "
                    "rates): ∞",
        ),
        _claims.at_most(
            "lin10_explains_catapult",
            f"Catapult phase (2 < η·λ0 < 4): the linearization after {k} steps, trained from there, reproduces most "
            f"of the network's move after step {k} (max ‖f_net − f_lin{k}‖/‖f_net − f_net({k})‖)",
            "Sec. 4.1, Fig. 6", bound=u, measured=m.unexplained_catapult, predicted="small",
            replicates=rep("lin10_explains_catapult", m.unexplained_catapult),
            control=f"the step-0 linearization at the same rates diverges ({m.lin0_diverged_catapult:.0%} of them): ∞",
        ),
        _claims.at_least(
            "lin10_departs_where_units_die",
            f"Far beyond 4/λ0 (η·λ0 ≥ {cfg.control_c:g}), where the network still trains but units die, the "
            f"linearization after {k} steps misses most of the network's move (min ‖f_net − f_lin{k}‖/‖f_net − "
            f"f_net({k})‖ over those rates; a diverged one counts as ∞)",
            "Sec. 3.1, 4.1", bound=u, measured=min(m.unexplained_beyond, 1e9), predicted="far from the network",
            replicates=rep("lin10_departs_where_units_die", min(m.unexplained_beyond, 1e9)),
            control=f"the catapult phase: at most {m.unexplained_catapult:.2f}",
        ),
        _claims.at_most(
            "lin10_stable",
            f"Catapult phase: the kernel after {k} steps is already flat enough for its linearization to be "
            f"stable (max η·λ{k})",
            "Sec. 4.1", bound=2.0, measured=m.max_lam10, predicted="< 2", replicates=rep("lin10_stable", m.max_lam10),
            control="the kernel at step 0 at the same rates: η·λ0 > 2 by construction",
        ),
        _claims.within(
            "relu_max_trainable",
            f"ReLU networks train (training accuracy ≥ {TRAINS}, no divergence) far beyond 4/λ0, up to about "
            f"12/λ0: log2 of the largest such η·λ0 on the grid over 12 (within a factor {cfg.max_trainable_factor:g})",
            "Sec. 3.1, App. C.1", predicted=0.0, measured=np.log2(m.max_trainable / 12),
            tolerance=float(np.log2(cfg.max_trainable_factor)),
            replicates=rep("relu_max_trainable", np.log2(m.max_trainable / 12)),
            control="a limit at 4/λ0, as for a linear or tanh network (chapter 4), is log2(1/3) = −1.6: outside",
        ),
        _claims.at_least(
            "units_die_at_collapse",
            "At the first grid rate above the largest trainable one most hidden units are dead (fraction of units "
            "with a negative pre-activation on every training image)",
            "App. C.1, Fig. S7", bound=cfg.dead_bound, measured=m.dead_collapse, predicted="most units",
            replicates=rep("units_die_at_collapse", m.dead_collapse),
            control=f"the catapult phase: at most {m.dead_catapult:.2f} dead",
        ),
        _claims.fraction(
            "units_live_in_catapult",
            f"In the catapult phase almost every hidden unit stays alive (live units over its runs; at least "
            f"{1 - cfg.dead_catapult_bound:.0%})",
            "App. C.1", passed=alive, required=1 - cfg.dead_catapult_bound, pooled=reps.pooled("units_live_in_catapult", alive),
            cases="hidden units",
            control=f"the first rate above the largest trainable one: {m.dead_collapse:.2f} dead",
        ),
    ]
    if drift is None:
        return out
    runs = len(drift.lam_start)
    return out + [
        _claims.at_most(
            "drift_falls_with_width",
            f"After the catapult (η·λ0 = {cfg.drift_c:g}, from step {cfg.drift_start} to {cfg.drift_steps}) the "
            f"kernel's drift ‖Θ_T − Θ_{cfg.drift_start}‖/‖Θ_{cfg.drift_start}‖ falls with width n as n^s "
            f"(s fitted per initialization, mean over {cfg.drift_seeds})",
            "Sec. 4.1, Fig. S13c", bound=cfg.drift_slope_bound, measured=drift.drift_slope,
            predicted="< 0, like the lazy phase", replicates=drift.drift_slopes, statistic="mean", over="inits",
            control=f"the move over the catapult itself: s = {drift.early_slope:.2f}",
        ),
        _claims.at_most(
            "lazy_drift_falls_with_width",
            f"Lazy phase (η·λ0 = {cfg.drift_lazy_c:g}): the same drift falls as n^s",
            "Sec. 4.1, Fig. S13c", bound=cfg.drift_slope_bound, measured=drift.drift_lazy_slope,
            predicted="−0.5 (NTK theory)", replicates=drift.drift_lazy_slopes, statistic="mean", over="inits",
            control=f"the move over the catapult: s = {drift.early_slope:.2f}",
        ),
        _claims.at_most(
            "drift_starts_after_catapult",
            f"The drift is measured after the catapult: at step {cfg.drift_start} η·λ < 2 in every catapult-phase "
            "run (max η·λ at that step)",
            "Sec. 4.1", bound=2.0, measured=drift.max_lam_start, predicted="< 2",
            replicates=drift.lam_start, draws=runs, over="inits",
            control=f"step 0 of the same runs: η·λ0 = {cfg.drift_c:g}",
        ),
        _claims.at_least(
            "catapult_move_does_not_fall",
            f"Control: over the catapult itself (steps 0 to {cfg.drift_start}) the kernel moves by an amount that "
            "does not fall with width like the drift after it (mean exponent s of the move)",
            "Sec. 4.1, Fig. S13c", bound=cfg.drift_slope_bound, measured=drift.early_slope, predicted="≈ 0 (O(1) move)",
            replicates=drift.early_slopes, statistic="mean", over="inits",
            control=f"the drift after the catapult: s = {drift.drift_slope:.2f}",
        ),
        _claims.at_least(
            "outputs_grow_in_catapult",
            f"During the catapult (η·λ0 = {cfg.drift_c:g}) the outputs grow with width: the peak training loss "
            f"max_t L_t ∝ n^p (p fitted per initialization, mean over {cfg.drift_seeds})",
            "Sec. 4.1 (Sec. 2: f² ∝ n at the peak)", bound=cfg.peak_slope_bound, measured=drift.peak_slope,
            predicted="≈ 1 (warmup model)", replicates=drift.peak_slopes, statistic="mean", over="inits",
            control=f"the lazy phase (η·λ0 = {cfg.drift_lazy_c:g}): its peak, the initial loss, ∝ n^{drift.peak_lazy_slope:.2f}",
        ),
        _claims.at_least(
            "outputs_settle_after_catapult",
            f"After the catapult the outputs settle back to O(1): the training loss at step {cfg.drift_steps} grows "
            f"with width by a smaller power than the catapult's peak (p_peak − p_T, fitted per initialization, mean "
            f"over {cfg.drift_seeds})", "Sec. 4.1", bound=cfg.settle_drop_bound, measured=drift.settle_drop,
            predicted="≈ 1 (an n¹ peak, O(1) after)", replicates=drift.settle_drops, statistic="mean", over="inits",
            control=f"the lazy phase (η·λ0 = {cfg.drift_lazy_c:g}), where nothing grew to settle: "
                    f"p_peak − p_T = {drift.settle_lazy_drop:.2f}",
        ),
    ]



def rebuild(cfg: Linearization) -> list[_claims.Claim]:
    """The sweep's claims of :func:`claims`, measured afresh at ``cfg``'s seeds: the chapter's cells
    of the check and the three models in one function, figures aside, as a rebuild at those seeds
    runs them (the drift's claims take their chance from the build's own initializations)."""
    key = jax.random.PRNGKey(cfg.seed)
    ds = data.load("mnist", cfg.n_train, cfg.n_test, seed=cfg.data_seed, flatten=True)
    init_fn, apply_fn, _ = models.fully_connected(cfg.width, 1, ds.num_classes)
    _, params = init_fn(key, ds.x_train.shape)
    lam0 = ntk.top_eigenvalue(apply_fn, params, ds.x_train)
    cs = np.asarray(cfg.cs)
    etas = cs / lam0
    check_etas = np.asarray(cfg.check_cs) / lam0
    in_function_space = linearize.gd(apply_fn, params, ds.x_train, ds.y_train, ds.x_test, ds.y_test, check_etas,
                                     cfg.check_steps)
    in_parameter_space = train.sweep(linearize.tangent_model(apply_fn, params), params, ds.x_train, ds.y_train,
                                     check_etas, cfg.check_steps, x_test=ds.x_test, y_test=ds.y_test)
    in_network = train.sweep(apply_fn, params, ds.x_train, ds.y_train, check_etas, cfg.check_steps, x_test=ds.x_test,
                             y_test=ds.y_test)
    net = train.sweep(apply_fn, params, ds.x_train, ds.y_train, etas, cfg.steps, x_test=ds.x_test, y_test=ds.y_test,
                      keep_params=True)
    lin0 = linearize.gd(apply_fn, params, ds.x_train, ds.y_train, ds.x_test, ds.y_test, etas, cfg.steps)
    early = train.sweep(apply_fn, params, ds.x_train, ds.y_train, etas, cfg.linearize_step, keep_params=True)
    lin10 = linearize.gd(apply_fn, early.params, ds.x_train, ds.y_train, ds.x_test, ds.y_test, etas, cfg.steps,
                         per_eta=True, where=compared_later(cs, net))
    f_net = linearize.stacked_outputs(apply_fn, net.params, ds.x_test)
    f_early = linearize.stacked_outputs(apply_fn, early.params, ds.x_test)
    f_init = np.asarray(apply_fn(params, ds.x_test))
    models_ = three_models(cs, etas, net, lin0, lin10, gap_to_network(f_net, lin0), gap_to_network(f_net, lin10),
                           unexplained_by(f_net, f_init, lin0), unexplained_by(f_net, f_early, lin10),
                           linearize.dead_fraction(net.params, ds.x_train), 1 / ds.num_classes, cfg.control_c)
    return claims(cfg, function_space_check(in_function_space, in_parameter_space, in_network), models_, None)


def repeats(cfg: Linearization) -> _claims.Repeats:
    """Each sweep claim's decisive value in ``cfg.repeats`` rebuilds at other seeds
    (:func:`catapult.claims.repeat` of :func:`rebuild`): the draws its chance to fail there comes from."""
    return _claims.repeat(rebuild, cfg, cfg.repeats)
