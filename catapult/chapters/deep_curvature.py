"""Chapter 4, curvature dynamics of deep networks (Sec. 3.1 of the paper; Fig. 3, S10, App. C.4):
what its cells measure and the claims it checks.

The chapter sweeps the learning rate of two fully connected networks on MNIST (ReLU and tanh,
:func:`sweep_fc`) and of a Wide ResNet on CIFAR-10 (:func:`sweep_wrn`), and reads off λ_t.
Records whose fields are the names the prose glues (``claims.glue_all(record, ...)``):
:class:`ProseSettings`, :class:`Lambda0s`, :class:`FCReadout`, :class:`WRNSettings`,
:class:`WRNReadout`, :class:`PaperCost`. :class:`FCChecks` and :class:`WRNChecks` hold the
per-run outcomes the readouts and the claims are computed from. :func:`claims` builds the
chapter's claims from the two.
"""

from __future__ import annotations

import time
from typing import Any, Mapping, NamedTuple

import jax
import numpy as np

from .. import claims as _claims
from .. import data, models, ntk, train
from ..scales import DeepCurvature

__all__ = [
    "NETWORKS",
    "ProseSettings",
    "prose_settings",
    "FCSweep",
    "sweep_fc",
    "Lambda0s",
    "lambda0s",
    "FCChecks",
    "fc_checks",
    "FCReadout",
    "fc_readout",
    "WRNSweep",
    "sweep_wrn",
    "WRNSettings",
    "wrn_settings",
    "WRNChecks",
    "wrn_checks",
    "WRNReadout",
    "wrn_readout",
    "PaperCost",
    "paper_cost",
    "claims",
]

#: The fully connected networks of the chapter (Fig. 3a–c: ReLU; Fig. S10: tanh), in this order.
NETWORKS = ("relu", "tanh")

#: λ_t/λ0 above this over the first steps of a catapult run counts as a rise (the WRN of Sec. 3.1).
RISE_SEEN = 1.02


class ProseSettings(NamedTuple):
    """Settings of the fully connected sweep that the prose quotes."""

    width: int
    depth: int
    n_train: int
    batch: int
    eig_samples: int
    eig_iters: int
    measure_c: float  # λ is read off at t·η = measure_c/λ0
    lazy_max: float  # η/η_crit up to which runs count as lazy
    cat_lo: float  # η·λ0 range of the "λ below 2/η" claim
    cat_hi: float


def prose_settings(cfg: DeepCurvature) -> ProseSettings:
    return ProseSettings(
        width=cfg.width, depth=cfg.depth, n_train=cfg.n_train, batch=cfg.batch_size, eig_samples=cfg.eig_samples,
        eig_iters=cfg.eig_iters, measure_c=cfg.measure_c, lazy_max=cfg.lazy_max,
        cat_lo=2 * cfg.catapult_range[0], cat_hi=2 * cfg.catapult_range[1],
    )


class FCSweep(NamedTuple):
    """One fully connected network's learning-rate sweep from one initialization (Sec. 3.1)."""

    lam0: float  # top NTK eigenvalue at initialization, on cfg.eig_samples training images
    tau: float  # the measuring time t·η = measure_c/λ0
    run: train.Run  # the vmapped SGD sweep over η = eta_over_crit · η_crit
    steps: int  # steps of every run
    seconds: float  # wall time of the sweep


def sweep_fc(cfg: DeepCurvature, ds: data.Dataset, nonlinearity: str) -> FCSweep:
    """λ0 of a fully connected net (NTK parameterization) and one ``train.sweep`` over the
    learning rates ``cfg.eta_over_crit`` × η_crit, λ_t recorded on a common schedule and
    exactly at t·η = ``cfg.measure_c``/λ0 (Fig. 3a–c, S10)."""
    x_eig = ds.x_train[: cfg.eig_samples]
    factors = np.asarray(cfg.eta_over_crit)
    init_fn, apply_fn, _ = models.fully_connected(cfg.width, cfg.depth, ds.num_classes, nonlinearity=nonlinearity)
    _, params = init_fn(jax.random.PRNGKey(cfg.seed), ds.x_train.shape)
    lam0 = ntk.top_eigenvalue(apply_fn, params, x_eig)
    etas = factors * ntk.eta_crit(lam0)
    tau = cfg.measure_c / lam0
    steps = max(cfg.min_steps, int(np.ceil(tau / etas.min())))
    start = time.perf_counter()
    run = train.sweep(
        apply_fn, params, ds.x_train, ds.y_train, etas, steps, batch_size=cfg.batch_size, seed=cfg.seed,
        x_test=ds.x_test, y_test=ds.y_test,
        eig=train.Curvature(x_eig, every=cfg.eig_every, times=(tau,), iters=cfg.eig_iters),
    )
    return FCSweep(lam0=lam0, tau=tau, run=run, steps=steps, seconds=time.perf_counter() - start)


class Lambda0s(NamedTuple):
    """λ0, η_crit = 2/λ0 and the steps of each fully connected network's sweep."""

    relu_lam0: float
    relu_eta_crit: float
    relu_steps: int
    tanh_lam0: float
    tanh_eta_crit: float
    tanh_steps: int


def lambda0s(sweeps: Mapping[str, FCSweep]) -> Lambda0s:
    """``sweeps``: :func:`sweep_fc` of each of :data:`NETWORKS`."""
    values = {}
    for name in NETWORKS:
        m = sweeps[name]
        values.update({f"{name}_lam0": m.lam0, f"{name}_eta_crit": ntk.eta_crit(m.lam0), f"{name}_steps": m.steps})
    return Lambda0s(**values)


class FCChecks(NamedTuple):
    """Per-run outcomes of the fully connected sweeps (Sec. 3.1, Fig. 3c, S10, App. C.4)."""

    eta_max: dict[str, float]  # per network: the largest trainable η, in units of 1/λ0
    first_div: dict[str, float]  # per network: the first divergent η, in units of 1/λ0 (NaN if none)
    lazy_dev: np.ndarray  # lazy runs (η ≤ lazy_max η_crit) of both nets: max |λ_t/λ0 − 1| up to the measuring time
    cat_ratio: np.ndarray  # ReLU catapult runs in catapult_range (trainable): η·λ/2 at the measuring time
    tanh_ratio: np.ndarray  # tanh runs with 1 < η/η_crit ≤ 2 (trainable): η·λ/2 at the measuring time
    spike_steps: np.ndarray  # every trainable run above η_crit: steps until the loss is back below L0


def fc_checks(cfg: DeepCurvature, sweeps: Mapping[str, FCSweep]) -> FCChecks:
    """What the sweeps of :data:`NETWORKS` show: lazy runs keep λ_t ≈ λ0, catapult runs end with
    λ < 2/η, the loss spike is short, and where training diverges."""
    factors = np.asarray(cfg.eta_over_crit)
    eta_max, first_div = {}, {}
    lazy_dev, cat_ratio, spike, tanh_ratio = [], [], [], []
    for name in NETWORKS:
        m = sweeps[name]
        run, lam0 = m.run, m.lam0
        eta_max[name] = train.max_trainable(run) * lam0
        first_div[name] = float(run.etas[run.divergent].min() * lam0) if run.divergent.any() else np.nan
        ok = ~run.divergent
        lazy_dev += list(train.lambda_drift(run, lam0, m.tau)[factors <= cfg.lazy_max])
        ratio = run.lam_at[:, 0] * run.etas / 2
        if name == "tanh":
            tanh_ratio += list(ratio[(factors > 1) & (factors <= 2) & ok])
        else:
            cat_ratio += list(ratio[(factors >= cfg.catapult_range[0]) & (factors <= cfg.catapult_range[1]) & ok])
        spike += list(train.spike_steps(run)[(factors > 1) & ok])
    return FCChecks(
        eta_max=eta_max, first_div=first_div, lazy_dev=np.asarray(lazy_dev), cat_ratio=np.asarray(cat_ratio),
        tanh_ratio=np.asarray(tanh_ratio), spike_steps=np.asarray(spike),
    )


class FCReadout(NamedTuple):
    """What the prose reads off the fully connected sweeps (Sec. 3.1, App. C.4)."""

    relu_eta_max: float  # largest trainable η·λ0
    relu_first_div: float  # first divergent η·λ0
    tanh_eta_max: float
    tanh_first_div: float
    lazy_dev_max: float  # percent
    cat_ratio_max: float
    spike_max: float
    n_lazy: int
    n_cat: int
    tanh_ratio: str  # "lo–hi" of the tanh runs' η·λ/2, or "n/a"
    n_spike: int


def fc_readout(c: FCChecks) -> FCReadout:
    tanh = list(c.tanh_ratio)
    return FCReadout(
        relu_eta_max=c.eta_max["relu"], relu_first_div=c.first_div["relu"],
        tanh_eta_max=c.eta_max["tanh"], tanh_first_div=c.first_div["tanh"],
        lazy_dev_max=100 * c.lazy_dev.max(), cat_ratio_max=c.cat_ratio.max(), spike_max=c.spike_steps.max(),
        n_lazy=c.lazy_dev.size, n_cat=c.cat_ratio.size,
        tanh_ratio=f"{min(tanh):.2f}–{max(tanh):.2f}" if tanh else "n/a", n_spike=c.spike_steps.size,
    )


class WRNSweep(NamedTuple):
    """The Wide ResNet's learning-rate sweep on CIFAR-10 (Sec. 3.1, Fig. 3d–f)."""

    params: Any  # the initialization
    lam0: float
    factors: np.ndarray  # η/η_crit of the runs
    tau: float  # the measuring time t·η = measure_c/λ0
    steps: int
    run: train.Run  # with the final parameters (keep_params)
    seconds: float


def sweep_wrn(cfg: DeepCurvature, cifar: data.Dataset) -> WRNSweep:
    """λ0 of ``models.wide_resnet`` on ``cifar`` (pooled to ``cfg.wrn.image_size``) and one sweep
    long enough for the smallest η to reach the measuring time; λ at every step up to
    ``cfg.wrn.early`` to catch a rise. On CPU the sweep steps from a Python loop (XLA:CPU runs
    convolutions inside ``lax.scan`` 10–20× slower)."""
    wcfg = cfg.wrn
    x_wrn, x_wrn_test = data.pool(cifar.x_train, wcfg.image_size), data.pool(cifar.x_test, wcfg.image_size)
    wrn_init, wrn_apply, _ = models.wide_resnet(wcfg.depth, wcfg.widening, cifar.num_classes)
    _, params = wrn_init(jax.random.PRNGKey(cfg.seed), (1,) + x_wrn.shape[1:])
    x_eig = x_wrn[: wcfg.eig_samples]
    lam0 = ntk.top_eigenvalue(wrn_apply, params, x_eig)
    factors = np.asarray(wcfg.eta_over_crit)
    tau = wcfg.measure_c / lam0
    steps = int(np.ceil(tau / (factors.min() * ntk.eta_crit(lam0))))
    start = time.perf_counter()
    run = train.sweep(
        wrn_apply, params, x_wrn, cifar.y_train, factors * ntk.eta_crit(lam0), steps,
        batch_size=wcfg.batch_size, seed=cfg.seed, x_test=x_wrn_test, y_test=cifar.y_test, keep_params=True,
        loop=train.conv_loop(),
        eig=train.Curvature(x_eig, every=wcfg.eig_every, times=(tau,), iters=wcfg.eig_iters, early=wcfg.early),
    )
    return WRNSweep(params=params, lam0=lam0, factors=factors, tau=tau, steps=steps, run=run,
                    seconds=time.perf_counter() - start)


class WRNSettings(NamedTuple):
    """The WRN's settings and λ0 that the prose quotes."""

    wrn_depth: int
    wrn_widening: int
    wrn_n_train: int
    wrn_image: int
    wrn_batch: int
    wrn_eig_samples: int
    wrn_early: int
    wrn_eig_every: int
    wrn_measure_c: float
    wrn_lam0: float
    wrn_eta_crit: float
    wrn_steps: int
    wrn_seconds: float


def wrn_settings(cfg: DeepCurvature, wrn: WRNSweep) -> WRNSettings:
    w = cfg.wrn
    return WRNSettings(
        wrn_depth=w.depth, wrn_widening=w.widening, wrn_n_train=w.n_train, wrn_image=w.image_size,
        wrn_batch=w.batch_size, wrn_eig_samples=w.eig_samples, wrn_early=w.early, wrn_eig_every=w.eig_every,
        wrn_measure_c=w.measure_c, wrn_lam0=wrn.lam0, wrn_eta_crit=ntk.eta_crit(wrn.lam0), wrn_steps=wrn.steps,
        wrn_seconds=wrn.seconds,
    )


class WRNChecks(NamedTuple):
    """Per-run outcomes of the WRN sweep (Sec. 3.1, Fig. 3d–f)."""

    ok: np.ndarray  # (n,) trainable
    lazy_dev: np.ndarray  # lazy runs: max |λ_t/λ0 − 1| up to the measuring time
    cat: np.ndarray  # (n,) trainable runs in catapult_range
    cat_ratio: np.ndarray  # those runs' η·λ/2 at the measuring time
    spike_steps: np.ndarray  # trainable runs above η_crit: steps until the loss is back below L0
    rise: np.ndarray  # trainable runs above η_crit: largest λ_t/λ0 over the first `early` steps
    norm: np.ndarray  # (n,) ‖θ_T‖/‖θ_0‖
    eta_max: float  # largest trainable η, in units of 1/λ0


def wrn_checks(cfg: DeepCurvature, wrn: WRNSweep) -> WRNChecks:
    wcfg, run, f = cfg.wrn, wrn.run, wrn.factors
    ok = ~run.divergent
    cat = (f >= wcfg.catapult_range[0]) & (f <= wcfg.catapult_range[1]) & ok
    return WRNChecks(
        ok=ok,
        lazy_dev=train.lambda_drift(run, wrn.lam0, wrn.tau)[f <= cfg.lazy_max],
        cat=cat,
        cat_ratio=run.lam_at[cat, 0] * run.etas[cat] / 2,
        spike_steps=train.spike_steps(run)[(f > 1) & ok],
        rise=train.early_rise(run, wrn.lam0, wcfg.early)[(f > 1) & ok],
        norm=train.param_norm_ratio(run, wrn.params),
        eta_max=train.max_trainable(run) * wrn.lam0,
    )


class WRNReadout(NamedTuple):
    """What the prose reads off the WRN sweep (Sec. 3.1, Fig. 3d–f)."""

    wrn_lazy_dev: float  # percent
    wrn_n_lazy: int
    wrn_cat_lo: float  # η·λ0 range of the claim
    wrn_cat_hi: float
    wrn_cat_ratio: float  # largest η·λ/2 at the measuring time there
    wrn_n_cat: int
    wrn_spike: float
    wrn_rise_max: float
    wrn_rise_verdict: str  # whether λ rises before the catapult (the paper sees it in its WRN-28-10)
    wrn_n_rates: int
    wrn_fast_steps: str  # steps to the measuring time at the rates above catapult_range
    wrn_n_div: int
    wrn_eta_max: float
    wrn_norm_lo: float  # ‖θ_T‖/‖θ_0‖ at the smallest η
    wrn_norm_hi: float  # ... at the largest trainable η
    wrn_test_acc: str  # "lo–hi" over the trainable runs


def wrn_readout(cfg: DeepCurvature, wrn: WRNSweep, c: WRNChecks) -> WRNReadout:
    wcfg, run = cfg.wrn, wrn.run
    rise_max = np.nanmax(c.rise)
    fast = wrn.factors > wcfg.catapult_range[1]
    acc = run.test_accuracy[c.ok]
    return WRNReadout(
        wrn_lazy_dev=100 * c.lazy_dev.max(), wrn_n_lazy=c.lazy_dev.size,
        wrn_cat_lo=2 * wcfg.catapult_range[0], wrn_cat_hi=2 * wcfg.catapult_range[1],
        wrn_cat_ratio=c.cat_ratio.max(), wrn_n_cat=int(c.cat.sum()), wrn_spike=c.spike_steps.max(),
        wrn_rise_max=rise_max,
        wrn_rise_verdict=(
            "λ rises before the catapult brings it down, as the paper observes for its WRN-28-10."
            if rise_max > RISE_SEEN else
            "λ does not rise before it falls here. The paper sees the rise in a much wider network with batch "
            "normalization; this small LayerNorm network, at this scale, does not show it."),
        wrn_n_rates=wrn.factors.size,
        wrn_fast_steps=", ".join(str(int(round(wrn.tau / e))) for e in run.etas[fast]) or "n/a",
        wrn_n_div=int(run.divergent.sum()), wrn_eta_max=c.eta_max,
        wrn_norm_lo=c.norm[c.ok].min(), wrn_norm_hi=c.norm[c.ok][-1],
        wrn_test_acc=f"{np.nanmin(acc):.2f}–{np.nanmax(acc):.2f}",
    )


class PaperCost(NamedTuple):
    """What the chapter costs at paper scale on one GPU, read from ``benchmarks/paper_cost.py``'s
    shipped measurement (``gpu_cost.measured("paper_cost")``), and what this build's sweeps took."""

    cpu_sweep_seconds: float
    gpu_name: str
    gpu_jax: str
    gpu_date: str
    gpu_fc_s: float  # one fully connected sweep at width 2048
    gpu_fc_compile_s: float
    gpu_fc_tflops: float
    gpu_wrn_step_ms: float  # one WRN-28-10 SGD step
    gpu_wrn_lam_s: float  # one λ of the WRN, one rate
    gpu_wrn_lam10_s: float  # ... ten rates vmapped
    gpu_wrn_lam10_gb: float  # ... and its temporary memory
    gpu_wrn_steps: int
    gpu_wrn_lams: int
    gpu_wrn_min: float  # the ten-rate WRN sweep, one rate at a time
    gpu_wrn_lam_share: float  # percent of it in λ
    gpu_total_min: float


def paper_cost(cost: Mapping[str, Any], cpu_seconds: float) -> PaperCost:
    """``cost``: ``gpu_cost.measured("paper_cost")``; ``cpu_seconds``: this build's three sweeps."""
    env, ext, meas = cost["environment"], cost["extrapolated"], cost["measurements"]
    wrn_one = ext["wrn_options"]["1"]
    return PaperCost(
        cpu_sweep_seconds=cpu_seconds,
        gpu_name=env["device_kind"], gpu_jax=env["jax"], gpu_date=env["started_utc"][:10],
        gpu_fc_s=ext["fc_relu_s"], gpu_fc_compile_s=ext["fc_relu_compile_s"],
        gpu_fc_tflops=meas["fc_relu_sweep_400_steps"]["model_tflop_per_s"],
        gpu_wrn_step_ms=1e3 * meas["wrn_step_1_rates"]["per_step_s"],
        gpu_wrn_lam_s=meas["wrn_lambda_1_rates"]["median_s"],
        gpu_wrn_lam10_s=meas["wrn_lambda_10_rates"]["median_s"],
        gpu_wrn_lam10_gb=meas["wrn_lambda_10_rates"]["temp_bytes"] / 1e9,
        gpu_wrn_steps=cost["settings"]["wrn"]["steps"], gpu_wrn_lams=cost["settings"]["wrn"]["lambdas_per_rate"],
        gpu_wrn_min=wrn_one["total_s"] / 60, gpu_wrn_lam_share=100 * wrn_one["lambda_s"] / wrn_one["total_s"],
        gpu_total_min=ext["chapter4_total_with_compile_min"],
    )


def claims(cfg: DeepCurvature, fc: FCChecks, wrn: WRNChecks) -> list[_claims.Claim]:
    """The chapter's claims (Sec. 3.1, Fig. 3, S10, App. C.4) from the two sweeps' outcomes."""
    wcfg = cfg.wrn
    return [
        _claims.at_most(
            "lazy_lambda_constant",
            f"Lazy phase (η ≤ {cfg.lazy_max:g} η_crit, ReLU and tanh): λ_t within 10% of λ0 up to t·η = "
            f"{cfg.measure_c:g}/λ0 (largest relative change)",
            "Sec. 3.1, Fig. 3b", bound=0.10, measured=float(fc.lazy_dev.max()),
        ),
        _claims.fraction(
            "catapult_lambda_below_2_over_eta",
            f"Catapult phase (ReLU, {2 * cfg.catapult_range[0]:g} ≤ ηλ0 ≤ {2 * cfg.catapult_range[1]:g}): "
            f"λ at t·η = {cfg.measure_c:g}/λ0 is below 2/η",
            "Sec. 3.1, Fig. 3c", passed=fc.cat_ratio < 1.0,
        ),
        _claims.at_most(
            "spike_short",
            "The catapult's loss spike is over (loss back below L0) in fewer than 100 steps, every trainable η > η_crit",
            "Sec. 3.1, Fig. 3a", bound=99, measured=float(fc.spike_steps.max()),
        ),
        _claims.at_least(
            "relu_trains_above_4", "ReLU net: the largest trainable η exceeds 4/λ0 (in units of 1/λ0)",
            "Sec. 3.1, App. C.4", bound=4.0, measured=fc.eta_max["relu"], predicted="≈ 12 (paper)",
        ),
        _claims.at_most(
            "relu_diverges_below_20", "ReLU net: the sweep diverges below 20/λ0 (first divergent η, units of 1/λ0)",
            "Sec. 3.1, App. C.4", bound=20.0, measured=fc.first_div["relu"], predicted="≈ 12 (paper)",
        ),
        _claims.at_most(
            "tanh_max_below_relu", "tanh net: largest trainable η·λ0 is smaller than the ReLU net's",
            "Fig. S10, App. C.4", bound=fc.eta_max["relu"], measured=fc.eta_max["tanh"], predicted="< ReLU's",
        ),
        _claims.at_most(
            "wrn_lazy_lambda_constant",
            f"WRN, lazy phase (η ≤ {cfg.lazy_max:g} η_crit): λ_t within 10% of λ0 up to t·η = {wcfg.measure_c:g}/λ0",
            "Sec. 3.1, Fig. 3e", bound=0.10, measured=float(wrn.lazy_dev.max()),
        ),
        _claims.fraction(
            "wrn_catapult_lambda_below_2_over_eta",
            f"WRN, catapult phase ({2 * wcfg.catapult_range[0]:g} ≤ ηλ0 ≤ {2 * wcfg.catapult_range[1]:g}): "
            f"λ at t·η = {wcfg.measure_c:g}/λ0 is below 2/η",
            "Sec. 3.1, Fig. 3f", passed=wrn.cat_ratio < 1.0,
        ),
        _claims.at_most(
            "wrn_spike_short",
            "WRN: the loss spike is over (loss back below L0) in fewer than 100 steps, every trainable η > η_crit",
            "Sec. 3.1, Fig. 3d", bound=99, measured=float(wrn.spike_steps.max()), predicted="< 10 steps (paper)",
        ),
        _claims.at_least(
            "wrn_trains_above_4", "WRN: the largest trainable η exceeds 4/λ0 (in units of 1/λ0)",
            "Sec. 3.1, Fig. 3f", bound=4.0, measured=wrn.eta_max,
        ),
    ]
