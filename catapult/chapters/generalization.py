"""Chapter 5, the best learning rates lie in the catapult phase (Sec. 3.2 of the paper; Figs. 4, 5,
S3, S6): what its cells measure and the claims it checks.

Every model is trained at multiples of each seed's η_crit = 2/λ0 under both protocols of
Sec. 3.2 at once (``protocols.compare``; :func:`train_cifar` for the CIFAR-10 models).
:func:`summary` reduces one model's runs to the best learning rate of each protocol, the
physical-time gap above vs below η_crit and the collapse at the largest rates; the records
:class:`FCReadout`, :class:`CNNReadout` and :class:`PaperCost` hold the names the prose glues
(``claims.glue_all(record, ...)``), and :func:`claims` builds the chapter's claims from the
summaries.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from .. import claims as _claims
from .. import data, models, protocols, stats
from ..scales import Generalization

__all__ = [
    "CHANCE",
    "ASSUMED_TFLOPS",
    "filled",
    "Best",
    "best_rel",
    "Summary",
    "summary",
    "FCReadout",
    "fc_readout",
    "build",
    "train_cifar",
    "CNNReadout",
    "cnn_readout",
    "train_flops",
    "PaperCost",
    "paper_cost",
    "claims",
]

#: Chance accuracy (ten classes): divergent runs count at this level.
CHANCE = 0.1
#: Sustained model TFLOP/s on one GPU assumed for the paper-scale cost estimate.
ASSUMED_TFLOPS = 20.0


def filled(acc: Any) -> np.ndarray:
    """Accuracies with divergent runs (NaN) counted at chance level."""
    return stats.at_chance(acc, CHANCE)


class Best(NamedTuple):
    """The learning rate with the best mean accuracy over seeds."""

    rel: float  # η/η_crit
    mean: float
    spread: float  # std over seeds


def best_rel(rel: np.ndarray, acc: np.ndarray) -> Best:
    """``acc``: (seeds, learning rates); divergent runs count at chance."""
    i, mean, spread = stats.best(rel, filled(acc))
    return Best(float(rel[i]), mean, spread)


class Summary(NamedTuple):
    """One model's sweep under both protocols of Sec. 3.2 (Figs. 4, 5)."""

    fixed: Best  # protocol (a), test accuracy
    phys: Best  # protocol (b), test accuracy
    gap: tuple[float, float]  # protocol (b): best mean test accuracy above η_crit − best below; larger seed spread
    collapsed: np.ndarray  # (seeds,) at the largest η: divergent, or at most collapse_fraction of the best gain over chance
    largest_rel: float  # that largest η/η_crit


def summary(cfg: Generalization, rel: np.ndarray, run: protocols.Comparison) -> Summary:
    """``rel``: the sweep's η/η_crit (the last the largest); ``run``: ``protocols.compare`` at them."""
    acc = run.fixed_test_acc
    top = CHANCE + cfg.collapse_fraction * (filled(acc).mean(0).max() - CHANCE)
    return Summary(
        fixed=best_rel(rel, run.fixed_test_acc),
        phys=best_rel(rel, run.phys_test_acc),
        gap=stats.above_vs_below(rel, run.phys_test_acc, CHANCE),
        collapsed=run.divergent[:, -1] | (np.nan_to_num(acc[:, -1], nan=CHANCE) <= top),
        largest_rel=rel[-1],
    )


class FCReadout(NamedTuple):
    """Fig. 4: the one-hidden-layer ReLU network on MNIST, as the prose quotes it."""

    fc_width: int
    mnist_train: int
    n_seeds: int
    fc_steps: int
    fc_tau: float  # protocol (b)'s physical time, in units of η_crit
    fc_lam0: str  # "mean ± spread" over seeds
    fc_eta_crit: float  # mean over seeds
    fc_fixed_best: float  # η/η_crit of the best mean test accuracy, protocol (a)
    fc_fixed_acc: str  # "mean ± spread"
    fc_phys_best: float  # ... protocol (b)
    fc_phys_acc: str
    fc_lazy_fixed: float  # best mean test accuracy below η_crit, protocol (a)
    fc_fitted: str  # "k of n" runs that reached training accuracy 1


def fc_readout(cfg: Generalization, lam0: np.ndarray, rel: np.ndarray, run: protocols.Comparison,
               s: Summary) -> FCReadout:
    """``lam0``: λ0 per seed; ``s``: :func:`summary` of ``run``."""
    return FCReadout(
        fc_width=cfg.fc_width, mnist_train=cfg.mnist_train, n_seeds=cfg.seeds, fc_steps=cfg.fc_steps,
        fc_tau=rel.min() * cfg.fc_steps,
        fc_lam0=f"{lam0.mean():.3g} ± {lam0.std():.2g}", fc_eta_crit=(2 / lam0).mean(),
        fc_fixed_best=s.fixed.rel, fc_fixed_acc=f"{s.fixed.mean:.3f} ± {s.fixed.spread:.3f}",
        fc_phys_best=s.phys.rel, fc_phys_acc=f"{s.phys.mean:.3f} ± {s.phys.spread:.3f}",
        fc_lazy_fixed=filled(run.fixed_test_acc).mean(0)[rel < 1].max(),
        fc_fitted=f"{int((run.fit_step >= 0).sum())} of {run.fit_step.size}",
    )


def build(cfg: Generalization, name: str, num_classes: int) -> tuple[tuple[Callable, Callable, Callable], dict[str, Any]]:
    """The CIFAR-10 network ``name`` ("cnn": App. A's CNN; "wrn": a Wide ResNet) and the
    training settings that override the chapter's for it."""
    if name == "cnn":
        return models.cnn(num_classes, **cfg.cnn.asdict()), {}
    over = {k: v for k, v in cfg.wrn.asdict().items() if k not in ("depth", "widening") and v is not None}
    return models.wide_resnet(cfg.wrn.depth, cfg.wrn.widening, num_classes), over


def train_cifar(cfg: Generalization, name: str, cifar: data.Dataset) -> tuple[np.ndarray, protocols.Comparison]:
    """λ0 per seed of the network ``name`` and SGD at ``cfg.rel_etas`` × each seed's η_crit under
    both protocols (Fig. 5, S6): (a) ``steps`` steps; (b) the same physical time, then
    ``final_steps`` at ``final_rel`` × min η_crit. Images pooled to ``cfg.image_size``; a Python
    loop over one compiled step (convolutions inside XLA:CPU loop bodies run 10–20× slower, jax#12868)."""
    x, x_test = data.pool(cifar.x_train, cfg.image_size), data.pool(cifar.x_test, cfg.image_size)
    rel = np.asarray(cfg.rel_etas)
    (init_fn, apply_fn, _), over = build(cfg, name, cifar.num_classes)
    params = protocols.init_seeds(init_fn, (-1,) + x.shape[1:], cfg.seeds, cfg.seed)
    lam0 = protocols.lambda0_per_seed(apply_fn, params, x[: cfg.eig_samples])
    eta_crit = 2 / lam0
    run = protocols.compare(
        apply_fn, params, x, cifar.y_train, x_test, cifar.y_test,
        rel[None, :] * eta_crit[:, None], over.get("steps", cfg.steps),
        batch_size=over.get("batch_size", cfg.batch_size), seed=cfg.seed,
        final_eta=float(over.get("final_rel", cfg.final_rel) * eta_crit.min()),
        final_steps=over.get("final_steps", cfg.final_steps), eval_every=cfg.eval_every,
        weight_decay=cfg.weight_decay,
        loop="python",
    )
    return lam0, run


class CNNReadout(NamedTuple):
    """Fig. 5 and S6: the CNN on CIFAR-10, as the prose quotes it."""

    batch_size: int
    cifar_train: int
    cifar_test: int
    image_size: int
    final_steps: int
    cnn_steps: int
    weight_decay: float
    final_rel: float
    cnn_lam0: str  # mean and per seed
    cnn_fixed_best: float
    cnn_fixed_acc: str
    cnn_phys_best: float
    cnn_phys_acc: str
    cnn_phys_gap: str  # protocol (b): best above η_crit − best below, with the seed spread
    cnn_first_div: str  # the smallest η/η_crit at which a seed diverged, or "none"


def cnn_readout(cfg: Generalization, lam0: np.ndarray, rel: np.ndarray, run: protocols.Comparison,
                s: Summary) -> CNNReadout:
    div = rel[run.divergent.any(0)]
    return CNNReadout(
        batch_size=cfg.batch_size, cifar_train=cfg.cifar_train, cifar_test=cfg.cifar_test, image_size=cfg.image_size,
        final_steps=cfg.final_steps, cnn_steps=cfg.steps, weight_decay=cfg.weight_decay, final_rel=cfg.final_rel,
        cnn_lam0=f"{lam0.mean():.3g} (seeds: {', '.join(f'{v:.3g}' for v in lam0)})",
        cnn_fixed_best=s.fixed.rel, cnn_fixed_acc=f"{s.fixed.mean:.3f} ± {s.fixed.spread:.3f}",
        cnn_phys_best=s.phys.rel, cnn_phys_acc=f"{s.phys.mean:.3f} ± {s.phys.spread:.3f}",
        cnn_phys_gap=f"{s.gap[0]:+.3f} (seed spread {s.gap[1]:.3f})",
        cnn_first_div=f"{div.min():g}" if div.size else "none",
    )


def train_flops(apply_fn: Callable, init_fn: Callable, shape1: tuple, batch: int) -> float:
    """FLOPs of one SGD step (≈ 3 forward passes) on ``batch`` samples, from XLA's cost analysis."""
    p = jax.eval_shape(lambda k: init_fn(k, shape1)[1], jax.random.PRNGKey(0))
    x = jax.ShapeDtypeStruct((1,) + tuple(shape1[1:]), jnp.float32)
    cost = jax.jit(apply_fn).lower(p, x).cost_analysis()  # no compile needed
    cost = cost[0] if isinstance(cost, (list, tuple)) else cost
    return 3.0 * float(cost.get("flops", 0.0)) * batch


class PaperCost(NamedTuple):
    """What this page's sweep costs at paper scale on one GPU (App. A's CNN and WRN-28-10)."""

    paper_cost: float  # GPU-hours
    assumed_tflops: float
    paper_runs: int  # runs per model


def paper_cost(paper: Generalization) -> PaperCost:
    """``paper``: the chapter's settings at paper scale; FLOPs from the compiled programs at
    :data:`ASSUMED_TFLOPS` sustained."""
    pc_init, pc_apply, _ = models.cnn(10, **paper.cnn.asdict())
    pw_init, pw_apply, _ = models.wide_resnet(paper.wrn.depth, paper.wrn.widening, 10)
    n_runs = paper.seeds * len(paper.rel_etas)
    flops = (
        train_flops(pc_apply, pc_init, (-1, 32, 32, 3), paper.batch_size) * (paper.steps + paper.final_steps)
        + train_flops(pw_apply, pw_init, (-1, 32, 32, 3), paper.wrn.batch_size)
        * (paper.wrn.steps + paper.wrn.final_steps)
    ) * n_runs
    return PaperCost(paper_cost=flops / (ASSUMED_TFLOPS * 1e12) / 3600, assumed_tflops=ASSUMED_TFLOPS, paper_runs=n_runs)


def claims(cfg: Generalization, fc: Summary, cifar: Mapping[str, Summary]) -> list[_claims.Claim]:
    """The chapter's claims (Sec. 3.2, Figs. 4, 5): ``fc``, :func:`summary` of the MNIST network;
    ``cifar``, of each CIFAR-10 model (with "cnn")."""
    cnn = cifar["cnn"]
    return [
        _claims.at_least(
            "fig4_fixed_step_best_above_crit",
            "one-hidden-layer ReLU net, fixed step budget: the best mean test accuracy is at η > 2/λ0",
            "Sec. 3.2, Fig. 4", bound=1.0, measured=fc.fixed.rel, predicted="η/η_crit > 1",
        ),
        _claims.at_least(
            "fig4_physical_time_best_not_below_crit",
            "ReLU net, equal physical time: best mean test accuracy above η_crit minus best below, plus seed spread, ≥ 0",
            "Sec. 3.2, Fig. 4", bound=0.0, measured=fc.gap[0] + fc.gap[1],
        ),
        _claims.at_least(
            "fig5_cnn_fixed_step_best_above_crit",
            "CNN, CIFAR-10, SGD, protocol (a): the best mean test accuracy is at η > 2/λ0",
            "Sec. 3.2, Fig. 5a", bound=1.0, measured=cnn.fixed.rel, predicted="η/η_crit > 1",
        ),
        _claims.at_least(
            "fig5_cnn_physical_time_best_not_below_crit",
            "CNN, protocol (b): best mean test accuracy above η_crit minus best below, plus seed spread, ≥ 0",
            "Sec. 3.2, Fig. 5b", bound=0.0, measured=cnn.gap[0] + cnn.gap[1],
        ),
        _claims.fraction(
            "collapse_beyond_max_rate",
            f"at the largest rates ({fc.largest_rel:g} and {cnn.largest_rel:g} η_crit, beyond 12/λ0) every run diverges "
            f"or keeps at most {cfg.collapse_fraction:g} of the best mean test accuracy's gain over chance (protocol a)",
            "Sec. 3.2, Figs. 4, 5",
            passed=np.concatenate([fc.collapsed, *[s.collapsed for s in cifar.values()]]),
        ),
    ]
