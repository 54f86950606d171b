"""Chapter 3, linearization after the catapult (Sec. 4.1 of the paper; Fig. 6 and S13; Sec. 3.1):
what its cells measure and the claims it checks.

Each measurement function reduces what :mod:`catapult.train` and :mod:`catapult.linearize`
computed to a record whose fields are the names the prose glues (``claims.glue_all(record,
...)``); :class:`Outcomes` holds the per-run outcomes that only the claims use. :func:`claims`
builds the chapter's claims from these records.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from .. import claims as _claims
from .. import fits
from ..scales import Linearization

__all__ = [
    "ProseSettings",
    "prose_settings",
    "Curvature",
    "curvature",
    "FunctionSpaceCheck",
    "function_space_check",
    "ThreeModels",
    "three_models",
    "KernelVelocity",
    "kernel_velocity",
    "Outcomes",
    "outcomes",
    "claims",
    "TRAINS",
]


class ProseSettings(NamedTuple):
    """Settings the prose quotes (glued, so the text matches what ran)."""

    width: int  # hidden units
    n_train: int  # training images
    n_test: int  # test images
    steps: int  # steps of GD of every model
    linearize_step: int  # the second linearization is taken after this many steps
    velocity_n: int  # training images of Fig. S13c
    velocity_c: float  # η·λ0 of Fig. S13c in the catapult phase
    velocity_lazy_c: float  # and in the lazy phase
    velocity_window: str  # the steps the kernel change is averaged over, "a to b"


def prose_settings(cfg: Linearization) -> ProseSettings:
    return ProseSettings(
        width=cfg.width,
        n_train=cfg.n_train,
        n_test=cfg.n_test,
        steps=cfg.steps,
        linearize_step=cfg.linearize_step,
        velocity_n=cfg.velocity_n_train,
        velocity_c=cfg.velocity_c,
        velocity_lazy_c=cfg.velocity_lazy_c,
        velocity_window=f"{cfg.velocity_start} to {cfg.velocity_start + cfg.velocity_window}",
    )


class Curvature(NamedTuple):
    """λ0 of the network and the learning rate where its linearization turns unstable (Sec. 4.1)."""

    lam0: float  # top eigenvalue of the empirical NTK at initialization
    eta_crit: float  # 2/λ0


def curvature(lam0: float) -> Curvature:
    return Curvature(lam0=lam0, eta_crit=2 / lam0)


class FunctionSpaceCheck(NamedTuple):
    """GD on the linearized model in function space against GD on its parameters (Sec. 4.1)."""

    check_dev: float  # the larger of the two below
    check_dev_train: float  # max relative deviation of the training loss over the run
    check_dev_test: float  # relative deviation of the final test loss


def function_space_check(in_function_space: Any, in_parameter_space: Any) -> FunctionSpaceCheck:
    """``in_function_space``: ``linearize.gd``; ``in_parameter_space``: ``train.sweep`` of
    ``linearize.tangent_model``, at the same learning rates (anything with ``loss`` and ``test_loss``)."""
    train = float(np.max(np.abs(in_function_space.loss / in_parameter_space.loss - 1)))
    test = float(np.max(np.abs(in_function_space.test_loss / in_parameter_space.test_loss - 1)))
    return FunctionSpaceCheck(check_dev=max(train, test), check_dev_train=train, check_dev_test=test)


#: The network "trains" at a learning rate where it does not diverge and reaches this training accuracy.
TRAINS = 0.9


def _trains(net: Any) -> np.ndarray:
    return (~net.divergent) & (net.train_accuracy >= TRAINS)


class ThreeModels(NamedTuple):
    """The network and its linearizations at steps 0 and 10 across learning rates (Sec. 4.1, Fig. 6)."""

    gap_lazy: float  # lazy phase: max |test accuracy of lin@0 − network|, points
    gap_catapult: float  # catapult phase: max |test accuracy of lin@10 − network|, points
    max_lam10: float  # catapult phase: max η·λ10 (stable below 2)
    max_trainable: float  # largest η·λ0 where the network trains
    collapse_c: float  # smallest η·λ0 with test accuracy below twice chance, or divergence (NaN: none)
    best_c: float  # η·λ0 of the network's best test accuracy
    best_acc: float  # that accuracy
    lin0_best_acc: float  # the best test accuracy of lin@0 (diverged runs count 0)


def three_models(cs: np.ndarray, etas: np.ndarray, net: Any, lin0: Any, lin10: Any, chance: float) -> ThreeModels:
    """``cs``, ``etas``: η·λ0 and η of the sweep; ``net``: ``train.sweep``; ``lin0``, ``lin10``:
    ``linearize.gd`` at initialization and after ``linearize_step`` steps; ``chance``: 1/classes."""
    lazy = cs < 2
    catapult_phase = (cs > 2) & (cs < 4)
    gap_lazy = float(np.max(np.abs(lin0.test_accuracy[lazy] - net.test_accuracy[lazy])))
    gap_catapult = np.abs(lin10.test_accuracy[catapult_phase] - net.test_accuracy[catapult_phase])
    collapse = cs[(net.test_accuracy < 2 * chance) | net.divergent]
    best = int(np.argmax(np.where(net.divergent, -1, net.test_accuracy)))
    return ThreeModels(
        gap_lazy=100 * gap_lazy,
        gap_catapult=100 * float(gap_catapult.max()),
        max_lam10=float((etas * lin10.lam)[catapult_phase].max()),
        max_trainable=float(cs[_trains(net)].max()),
        collapse_c=float(collapse.min()) if collapse.size else float("nan"),
        best_c=float(cs[best]),
        best_acc=float(net.test_accuracy[best]),
        lin0_best_acc=float(np.max(np.where(lin0.divergent, 0, lin0.test_accuracy))),
    )


class KernelVelocity(NamedTuple):
    """The kernel's step-to-step change after the catapult against width (Fig. S13c)."""

    velocity_slope: float  # exponent s of the change ∝ n^s, catapult phase
    velocity_lazy_slope: float  # the same in the lazy phase
    velocity_ratio: float  # change at the smallest width over that at the largest, catapult phase


def kernel_velocity(widths: np.ndarray, catapult: np.ndarray, lazy: np.ndarray) -> KernelVelocity:
    """``catapult``, ``lazy``: the mean step-to-step change per width (``linearize.kernel_velocity``)."""
    return KernelVelocity(
        velocity_slope=fits.power_law(widths, catapult).slope,
        velocity_lazy_slope=fits.power_law(widths, lazy).slope,
        velocity_ratio=float(catapult[0] / catapult[-1]),
    )


class Outcomes(NamedTuple):
    """Per-learning-rate and per-width outcomes the claims count (Sec. 3, 4.1, Fig. 6, S13c)."""

    lin0_diverges_iff_above_crit: np.ndarray  # per η: lin@0 diverged exactly when η·λ0 > 2
    trains_in_catapult: np.ndarray  # per η with 2 < η·λ0 < 4: the network trains
    kernel_change_falls: np.ndarray  # per pair of consecutive widths: the catapult-phase change fell


def outcomes(cs: np.ndarray, net: Any, lin0: Any, velocity_catapult: np.ndarray) -> Outcomes:
    catapult_phase = (cs > 2) & (cs < 4)
    return Outcomes(
        lin0_diverges_iff_above_crit=lin0.divergent == (cs > 2),
        trains_in_catapult=_trains(net)[catapult_phase],
        kernel_change_falls=np.diff(velocity_catapult) < 0,
    )


def claims(cfg: Linearization, check: FunctionSpaceCheck, models: ThreeModels, out: Outcomes) -> list[_claims.Claim]:
    """The chapter's claims (Sec. 3, 3.1, 4.1, Fig. 6, S13c)."""
    k = cfg.linearize_step
    return [
        _claims.at_most(
            "function_space_exact",
            "GD on the linearized model in function space equals GD on neural_tangents.linearize's parameters "
            "(max relative deviation of the losses)",
            "Sec. 4.1", bound=1e-3, measured=check.check_dev, predicted="exact (0)",
        ),
        _claims.fraction(
            "lin0_diverges_above_crit",
            "The linearization at initialization diverges exactly for η > 2/λ0 on the grid (fraction of learning "
            "rates where it diverges iff η·λ0 > 2)",
            "Sec. 4.1, Fig. 6", passed=out.lin0_diverges_iff_above_crit,
        ),
        _claims.fraction(
            "network_trains_in_catapult",
            "The network trains where the step-0 linearization diverges: 2 < η·λ0 < 4 gives no divergence and "
            "training accuracy ≥ 0.9",
            "Sec. 3, Fig. 6", passed=out.trains_in_catapult,
        ),
        _claims.at_most(
            "lin0_tracks_lazy",
            "Lazy phase (η·λ0 < 2): the step-0 linearization's test accuracy is within 2 points of the network's "
            "(max gap, points)",
            "Sec. 4.1, Fig. 6", bound=2.0, measured=models.gap_lazy, predicted="≈ 0",
        ),
        _claims.at_most(
            "lin10_tracks_catapult",
            f"Catapult phase (2 < η·λ0 < 4): the linearization after {k} steps is within 2 points of the "
            "network's test accuracy (max gap, points)",
            "Sec. 4.1, Fig. 6", bound=2.0, measured=models.gap_catapult, predicted="≈ 0",
        ),
        _claims.at_most(
            "lin10_stable",
            f"Catapult phase: the kernel after {k} steps is already flat enough for its linearization to be "
            f"stable (max η·λ{k})",
            "Sec. 4.1", bound=2.0, measured=models.max_lam10, predicted="< 2",
        ),
        _claims.fraction(
            "kernel_change_falls_with_width",
            f"After the catapult (η·λ0 = {cfg.velocity_c:g}) the step-to-step kernel change decreases "
            "monotonically with width",
            "Fig. S13c", passed=out.kernel_change_falls,
        ),
        _claims.at_least(
            "relu_trains_beyond_4",
            "ReLU networks train (training accuracy ≥ 0.9, no divergence) beyond 4/λ0: largest such η·λ0 on "
            "the grid",
            "Sec. 3.1", bound=4.0, measured=models.max_trainable, predicted="≈ 12",
        ),
    ]
