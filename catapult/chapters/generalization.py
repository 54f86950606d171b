"""Chapter 5, do the best learning rates lie in the catapult phase? (Sec. 3.2 of the paper; Figs. 4, 5,
S3, S6, S7): what its cells measure and the claims it checks.

Every model is trained at multiples of each seed's η_crit = 2/λ0 under both protocols of
Sec. 3.2 at once (``protocols.compare``; :func:`train_fc` for Fig. 4's network, stopped at
training accuracy 1, :func:`train_cifar` for the CIFAR-10 models). :func:`summary` reduces one
model's runs to band comparisons (:func:`band`: the mean test accuracy over the catapult band
(η_crit, 12/λ0] minus over the lazy band η < η_crit, per seed, with its standard error over
seeds), the best single rate of each protocol, and the collapse at the first rate above
12/λ0; :func:`dead_units` measures Fig. S7's dead ReLU units there. The records
:class:`FCReadout`, :class:`CNNReadout` and :class:`PaperCost` hold the names the prose glues
(``claims.glue_all(record, ...)``), and :func:`claims` builds the chapter's claims.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping, NamedTuple

import jax
import numpy as np

from .. import claims as _claims
from .. import data, gpu_cost, linearize, models, protocols, stats
from ..scales import Generalization

__all__ = [
    "CHANCE",
    "filled",
    "Best",
    "best_rel",
    "Band",
    "bands",
    "band",
    "at_train_accuracy",
    "target_band",
    "first_beyond_max",
    "Summary",
    "summary",
    "DeadUnits",
    "dead_units",
    "FCReadout",
    "fc_readout",
    "load_mnist",
    "train_fc",
    "build",
    "train_cifar",
    "CNNReadout",
    "cnn_readout",
    "PaperCost",
    "paper_cost",
    "claims",
]

#: Chance accuracy (ten classes): divergent runs count at this level.
CHANCE = 0.1


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


class Band(NamedTuple):
    """Mean test accuracy over the catapult band of learning rates minus the mean over the lazy
    band, per seed; its mean and standard error over independent seeds (``stats.band_difference``)."""

    diff: float
    err: float  # standard error over seeds (ddof = 1)
    seeds: int

    @property
    def z(self) -> float:
        """The difference in standard errors (NaN where the error is 0 or undefined)."""
        return self.diff / self.err if self.err > 0 else float("nan")

    def text(self) -> str:
        return f"{self.diff:+.3f} ± {self.err:.3f} ({self.z:.1f} SE, {self.seeds} seeds)"


def bands(cfg: Generalization) -> tuple[tuple[float, float], tuple[float, float]]:
    """The catapult band (η_crit, η_max ≈ relu_max_factor/λ0] and the lazy band (0, η_crit), in η/η_crit."""
    return (1.0 + 1e-9, cfg.relu_max_factor / 2), (0.0, 1.0 - 1e-9)


def band(cfg: Generalization, rel: np.ndarray, acc: np.ndarray) -> Band:
    """Catapult band minus lazy band of ``acc`` (seeds, rates); divergent runs count at chance."""
    above, below = bands(cfg)
    return Band(*stats.band_difference(rel, acc, CHANCE, above, below))


def first_beyond_max(cfg: Generalization, rel: np.ndarray) -> int:
    """Index of the first rate of ``rel`` above η_max ≈ relu_max_factor/λ0 (the paper's prediction
    for ReLU networks, Sec. 3, Fig. S7): where collapse is tested."""
    beyond = np.flatnonzero(np.asarray(rel) > cfg.relu_max_factor / 2)
    if not beyond.size:
        raise ValueError(f"no learning rate above {cfg.relu_max_factor / 2:g} η_crit in {list(rel)}.")
    return int(beyond[0])


def at_train_accuracy(run: protocols.Comparison, target: float) -> tuple[np.ndarray, np.ndarray]:
    """Test accuracy of every run at the first accuracy record where its training accuracy is at
    least ``target`` (Fig. 4 compares rates at training accuracy 1), and that step; NaN and -1
    for a run that never got there (or diverged first)."""
    reached = np.nan_to_num(run.train_acc_t, nan=-1.0) >= target  # (s, n, E)
    first = reached.argmax(-1)
    got = reached.any(-1)
    acc = np.take_along_axis(run.test_acc_t, first[..., None], -1)[..., 0]
    return np.where(got, acc, np.nan), np.where(got, run.eval_steps[first], -1)


def target_band(cfg: Generalization, rel: np.ndarray, run: protocols.Comparison) -> Band:
    """Catapult band − lazy band of the test accuracy at training accuracy ``cfg.fit_target``;
    NaN (the claim fails) if any run of either band never reached it."""
    acc, _ = at_train_accuracy(run, cfg.fit_target)
    above, below = bands(cfg)
    inside = ((rel >= above[0]) & (rel <= above[1])) | ((rel >= below[0]) & (rel <= below[1]))
    if np.isnan(acc[:, inside]).any():
        return Band(float("nan"), float("nan"), acc.shape[0])
    return band(cfg, rel, acc)


class Summary(NamedTuple):
    """One model's sweep under both protocols of Sec. 3.2 (Figs. 4, 5)."""

    fixed: Best  # protocol (a), test accuracy
    phys: Best  # protocol (b), test accuracy
    fixed_band: Band  # protocol (a): catapult band − lazy band
    target_band: Band  # ... at training accuracy fit_target (Fig. 4's rule)
    phys_band: Band  # protocol (b)
    collapsed: np.ndarray  # (seeds,) at the first η above η_max: divergent, or at most collapse_fraction of the gain
    collapse_rel: float  # that η/η_crit


def summary(cfg: Generalization, rel: np.ndarray, run: protocols.Comparison) -> Summary:
    """``rel``: the sweep's η/η_crit; ``run``: ``protocols.compare`` at them."""
    acc = run.fixed_test_acc
    i = first_beyond_max(cfg, rel)
    top = CHANCE + cfg.collapse_fraction * (filled(acc).mean(0).max() - CHANCE)
    return Summary(
        fixed=best_rel(rel, run.fixed_test_acc),
        phys=best_rel(rel, run.phys_test_acc),
        fixed_band=band(cfg, rel, run.fixed_test_acc),
        target_band=target_band(cfg, rel, run),
        phys_band=band(cfg, rel, run.phys_test_acc),
        collapsed=run.divergent[:, i] | (np.nan_to_num(acc[:, i], nan=CHANCE) <= top),
        collapse_rel=float(rel[i]),
    )


class DeadUnits(NamedTuple):
    """Fig. S7's explanation of the collapse, measured: the fraction of the FC net's hidden ReLU
    units dead on every training input after protocol (a), per seed."""

    beyond: np.ndarray  # (seeds,) at the first η above η_max
    catapult: np.ndarray  # (seeds,) at the largest η of the catapult band
    lazy: np.ndarray  # (seeds,) at the largest η below η_crit (the control: no catapult)
    beyond_rel: float
    catapult_rel: float
    lazy_rel: float


def dead_units(cfg: Generalization, rel: np.ndarray, run: protocols.Comparison, x: Any) -> DeadUnits:
    """``run``: ``protocols.compare(..., keep_params=True)`` of ``models.fully_connected``; ``x``: the training inputs."""
    if run.fixed_params is None:
        raise ValueError("dead_units needs protocols.compare(..., keep_params=True).")
    i = first_beyond_max(cfg, rel)
    above, _ = bands(cfg)
    j = int(np.flatnonzero((rel >= above[0]) & (rel <= above[1]))[-1])
    k = int(np.flatnonzero(rel < 1)[-1])
    n = run.fixed_test_acc.shape[0]  # seeds
    flat = jax.tree_util.tree_map(lambda a: np.asarray(a).reshape((-1,) + np.shape(a)[2:]), run.fixed_params)
    dead = linearize.dead_fraction(flat, x).reshape(n, -1)
    return DeadUnits(beyond=dead[:, i], catapult=dead[:, j], lazy=dead[:, k], beyond_rel=float(rel[i]),
                     catapult_rel=float(rel[j]), lazy_rel=float(rel[k]))


class FCReadout(NamedTuple):
    """Fig. 4: the one-hidden-layer ReLU network on MNIST, as the prose quotes it."""

    fc_width: int
    mnist_train: int
    mnist_size: int
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
    fc_band_fitted: str  # "k of n" runs of both bands that reached it
    fc_slowest_fit: int  # the most steps a run of the bands took to reach it
    fc_fit_target: float  # the training accuracy at which rates are compared
    fc_target_reached: str  # "k of n" runs of both bands that reached it
    fc_band: str  # at that training accuracy: catapult band − lazy band, ± SE over seeds
    fc_cap_band: str  # protocol (a), at training accuracy 1 or the step cap
    fc_phys_band: str  # protocol (b)
    fc_collapse_rel: float  # the first η/η_crit above η_max, where collapse is tested
    fc_collapse_acc: float  # mean test accuracy there, protocol (a)
    fc_dead_beyond: str  # dead hidden units there, mean over seeds
    fc_dead_catapult: str  # ... at the largest rate of the catapult band
    fc_dead_catapult_rel: float
    fc_dead_lazy: str  # ... at the largest rate below η_crit


def fc_readout(cfg: Generalization, lam0: np.ndarray, rel: np.ndarray, run: protocols.Comparison,
               s: Summary, dead: DeadUnits) -> FCReadout:
    """``lam0``: λ0 per seed; ``s``: :func:`summary` of ``run``; ``dead``: :func:`dead_units` of it."""
    above, below = bands(cfg)
    in_bands = ((rel >= above[0]) & (rel <= above[1])) | ((rel >= below[0]) & (rel <= below[1]))
    fit = np.where(run.fit_step[:, in_bands] >= 0, run.fit_step[:, in_bands], cfg.fc_steps)
    reached = at_train_accuracy(run, cfg.fit_target)[1][:, in_bands] >= 0
    i = first_beyond_max(cfg, rel)
    return FCReadout(
        fc_width=cfg.fc_width, mnist_train=cfg.mnist_train, mnist_size=cfg.mnist_size, n_seeds=cfg.fc_seeds, fc_steps=cfg.fc_steps,
        fc_tau=rel.min() * cfg.fc_steps,
        fc_lam0=f"{lam0.mean():.3g} ± {lam0.std():.2g}", fc_eta_crit=(2 / lam0).mean(),
        fc_fixed_best=s.fixed.rel, fc_fixed_acc=f"{s.fixed.mean:.3f} ± {s.fixed.spread:.3f}",
        fc_phys_best=s.phys.rel, fc_phys_acc=f"{s.phys.mean:.3f} ± {s.phys.spread:.3f}",
        fc_lazy_fixed=filled(run.fixed_test_acc).mean(0)[rel < 1].max(),
        fc_fitted=f"{int((run.fit_step >= 0).sum())} of {run.fit_step.size}",
        fc_band_fitted=f"{int((run.fit_step[:, in_bands] >= 0).sum())} of {fit.size}", fc_slowest_fit=int(fit.max()),
        fc_fit_target=cfg.fit_target, fc_target_reached=f"{int(reached.sum())} of {reached.size}",
        fc_band=s.target_band.text(), fc_cap_band=s.fixed_band.text(), fc_phys_band=s.phys_band.text(),
        fc_collapse_rel=s.collapse_rel, fc_collapse_acc=float(filled(run.fixed_test_acc)[:, i].mean()),
        fc_dead_beyond=f"{100 * dead.beyond.mean():.0f} %", fc_dead_catapult=f"{100 * dead.catapult.mean():.0f} %",
        fc_dead_catapult_rel=dead.catapult_rel, fc_dead_lazy=f"{100 * dead.lazy.mean():.0f} %",
    )


def load_mnist(cfg: Generalization) -> data.Dataset:
    """Fig. 4's MNIST subset, images average-pooled to ``cfg.mnist_size`` (28: the paper's) and flattened."""
    mnist = data.load("mnist", cfg.mnist_train, cfg.mnist_test, seed=cfg.data_seed)
    flat = lambda x: data.pool(x, cfg.mnist_size).reshape(x.shape[0], -1)  # noqa: E731
    return mnist._replace(x_train=flat(mnist.x_train), x_test=flat(mnist.x_test))


def train_fc(cfg: Generalization, mnist: data.Dataset) -> tuple[np.ndarray, protocols.Comparison]:
    """λ0 per seed of Fig. 4's network and full-batch GD at ``cfg.fc_rel_etas`` × each seed's η_crit,
    every run stopped at training accuracy 1 or after ``fc_steps`` (its final parameters kept for
    :func:`dead_units`)."""
    init_fn, apply_fn, _ = models.fully_connected(cfg.fc_width, cfg.fc_depth, mnist.num_classes)
    params = protocols.init_seeds(init_fn, (-1, mnist.x_train.shape[1]), cfg.fc_seeds, cfg.seed)
    lam0 = protocols.lambda0_per_seed(apply_fn, params, mnist.x_train[: cfg.eig_samples])
    rel = np.asarray(cfg.fc_rel_etas)
    run = protocols.compare(
        apply_fn, params, mnist.x_train, mnist.y_train, mnist.x_test, mnist.y_test,
        rel[None, :] * (2 / lam0)[:, None], cfg.fc_steps,
        batch_size=None, eval_every=cfg.fc_eval_every, stop_at_fit=True, keep_params=True,
    )
    return lam0, run


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
        # CPU: each (seed, η) run its own compiled step (vmapped convolutions are grouped ones,
        # several times slower on XLA:CPU); elsewhere the vmapped step from a Python loop
        loop="each" if jax.default_backend() == "cpu" else "python",
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
    cnn_seeds: int
    weight_decay: float
    final_rel: float
    cnn_lam0: str  # mean and per seed
    cnn_fixed_best: float
    cnn_fixed_acc: str
    cnn_phys_best: float
    cnn_phys_acc: str
    cnn_band: str  # protocol (a): catapult band − lazy band, ± SE over seeds
    cnn_phys_band: str  # protocol (b)
    cnn_collapse_rel: float  # the first η/η_crit above η_max, where collapse is tested
    cnn_first_div: str  # the smallest η/η_crit at which a seed diverged, or "none"
    match_margin: float  # protocol (b)'s non-inferiority margin, in test accuracy


def cnn_readout(cfg: Generalization, lam0: np.ndarray, rel: np.ndarray, run: protocols.Comparison,
                s: Summary) -> CNNReadout:
    div = rel[run.divergent.any(0)]
    return CNNReadout(
        batch_size=cfg.batch_size, cifar_train=cfg.cifar_train, cifar_test=cfg.cifar_test, image_size=cfg.image_size,
        final_steps=cfg.final_steps, cnn_steps=cfg.steps, cnn_seeds=int(lam0.size), weight_decay=cfg.weight_decay,
        final_rel=cfg.final_rel,
        cnn_lam0=f"{lam0.mean():.3g} (seeds: {', '.join(f'{v:.3g}' for v in lam0)})",
        cnn_fixed_best=s.fixed.rel, cnn_fixed_acc=f"{s.fixed.mean:.3f} ± {s.fixed.spread:.3f}",
        cnn_phys_best=s.phys.rel, cnn_phys_acc=f"{s.phys.mean:.3f} ± {s.phys.spread:.3f}",
        cnn_band=s.fixed_band.text(), cnn_phys_band=s.phys_band.text(), cnn_collapse_rel=s.collapse_rel,
        cnn_first_div=f"{div.min():g}" if div.size else "none", match_margin=cfg.match_margin,
    )


class PaperCost(NamedTuple):
    """What this page's sweep costs at paper scale on one GPU (App. A's CNN and WRN-28-10), at the
    throughput measured once on the GPU (``gpu_cost.conv_tflops``, as chapters 4 and 6 price theirs)."""

    paper_cost: float  # GPU-hours
    conv_tflops: float  # measured model TFLOP/s
    gpu_name: str
    paper_runs: int  # runs per model


def paper_cost(paper: Generalization, gpu: Mapping[str, Any]) -> PaperCost:
    """``paper``: the chapter's settings at paper scale; ``gpu``: ``gpu_cost.measured()``. FLOPs of
    one image's forward pass from XLA's analysis of the uncompiled program (``gpu_cost.lowered_flops``); every run's steps of both
    protocols, plus the accuracies on the training and test sets every ``eval_every`` steps."""
    tflops = gpu_cost.conv_tflops(gpu)
    image = np.zeros((1, 32, 32, 3), np.float32)
    n_runs = paper.seeds * len(paper.rel_etas)
    hours = 0.0
    for name in paper.models:
        (init_fn, apply_fn, _), over = build(paper, name, 10)
        params = jax.eval_shape(lambda k: init_fn(k, image.shape)[1], jax.random.PRNGKey(0))  # noqa: B023
        flops = gpu_cost.lowered_flops(apply_fn, params, jax.ShapeDtypeStruct(image.shape, image.dtype))
        steps = over.get("steps", paper.steps) + over.get("final_steps", paper.final_steps)
        hours += gpu_cost.sgd_hours(flops, steps=n_runs * steps, batch_size=over.get("batch_size", paper.batch_size),
                                    n_train=paper.cifar_train + paper.cifar_test, log_every=paper.eval_every,
                                    tflops=tflops)
    return PaperCost(paper_cost=hours, conv_tflops=tflops, gpu_name=gpu["environment"]["device_kind"],
                     paper_runs=n_runs)


def _seeds(b: Band) -> int | None:
    """The seeds behind a band difference, for its chance to fail at another seed (None: a record
    built by hand without them)."""
    return int(b.seeds) if b.seeds is not None and b.seeds > 1 else None


def claims(cfg: Generalization, fc: Summary, dead: DeadUnits, cifar: Mapping[str, Summary]) -> list[_claims.Claim]:
    """The chapter's claims (Sec. 3.2, Figs. 4, 5, S7): ``fc``, :func:`summary` of the MNIST network
    and ``dead`` its :func:`dead_units`; ``cifar``, :func:`summary` of each CIFAR-10 model (with
    "cnn"). The band comparisons are the mean test accuracy over the catapult band (η_crit, η_max]
    minus the lazy band (0, η_crit), in standard errors over independent seeds; which claims a
    scale does not make is the report's business (``cfg.not_claimed``)."""
    cnn = cifar["cnn"]
    (_, hi), _ = bands(cfg)
    band = f"mean test accuracy over η ∈ (1, {hi:g}] η_crit minus over η < η_crit, in standard errors over seeds"
    keeps = (f"every run diverges or keeps at most {cfg.collapse_fraction:g} of the best mean test accuracy's gain "
             "over chance (protocol a)")
    return [
        _claims.se_claim(
            "fig4_catapult_band_beats_lazy",
            f"one-hidden-layer ReLU net, MNIST, full-batch GD, compared at training accuracy {cfg.fit_target:g}: {band}",
            "Sec. 3.2, Fig. 4", z=fc.target_band.z, n=_seeds(fc.target_band), mean=fc.target_band.diff, se=fc.target_band.err,
            control="the lazy band in the same runs (none without the catapult: the curve rises smoothly through η_crit)",
        ),
        _claims.fraction(
            "fig4_collapse_beyond_max_rate",
            f"ReLU net: at the first rate above η_max ≈ {cfg.relu_max_factor:g}/λ0 ({fc.collapse_rel:g} η_crit) {keeps}",
            "Sec. 3.2, Fig. 4, S7", passed=fc.collapsed,
        ),
        _claims.t_claim(
            "dead_units_beyond_max_rate",
            f"ReLU net: fraction of hidden units dead on every training input at {dead.beyond_rel:g} η_crit "
            f"(beyond η_max) minus at {dead.lazy_rel:g} η_crit (lazy phase, the control), seed by seed, above "
            f"{cfg.dead_gap:g}",
            "App. C.1, Fig. S7", values=dead.beyond - dead.lazy, bound=cfg.dead_gap, predicted=f"> {cfg.dead_gap:g}",
            control=f"the lazy phase at {dead.lazy_rel:g} η_crit",
        ),
        _claims.se_claim(
            "fig5_cnn_fixed_step_band_beats_lazy",
            f"CNN, CIFAR-10, SGD, protocol (a) (a fixed number of steps): {band}",
            "Sec. 3.2, Fig. 5a", z=cnn.fixed_band.z, n=_seeds(cnn.fixed_band), mean=cnn.fixed_band.diff, se=cnn.fixed_band.err,
            control="the lazy band in the same runs",
        ),
        _claims.se_claim(
            "fig5_cnn_physical_time_band_matches_lazy",
            f"CNN, protocol (b) (equal physical time, then a small final rate): mean test accuracy over η ∈ (1, {hi:g}] "
            f"η_crit minus over η < η_crit, plus a margin of {cfg.match_margin:g}, in standard errors over seeds "
            "(non-inferiority: the paper finds accuracy flat up to η_max here)",
            "Sec. 3.2 (\"either matches or exceeds\"), Fig. 5b",
            z=(cnn.phys_band.diff + cfg.match_margin) / cnn.phys_band.err if cnn.phys_band.err > 0 else float("nan"),
            n=_seeds(cnn.phys_band), mean=cnn.phys_band.diff + cfg.match_margin, se=cnn.phys_band.err,
            control=f"the lazy band in the same runs, lowered by {cfg.match_margin:g}",
        ),
        _claims.fraction(
            "fig5_collapse_beyond_max_rate",
            f"CIFAR-10 models: at the first rate above η_max ≈ {cfg.relu_max_factor:g}/λ0 ({cnn.collapse_rel:g} η_crit) "
            f"{keeps}",
            "Sec. 3.2, Fig. 5", passed=np.concatenate([s_.collapsed for s_ in cifar.values()]),
        ),
    ]
