"""Benchmark: what chapter 4's ``paper`` scale costs on one GPU, measured rather than estimated.

    python3 benchmarks/paper_cost.py --out paper_cost.json [--budget 240] [--tiny]

(run from the repository root with it on PYTHONPATH; neural-tangents is not needed.)

A. The FC nets of Fig. 3a-c / S10 at the ``paper`` settings of ``04_deep_curvature``
   (catapult/scales.py): 3 hidden layers of width 2048, NTK parameterization, no biases,
   ReLU (σ_w² = 2) and tanh (σ_w² = 1), 784 inputs, 10 outputs; SGD with batch 512 on 8192
   samples, every learning rate of the paper grid vmapped, λ_max(Θ) by 20 Lanczos steps on
   512 samples every 10 steps and at t·η = measure_c/λ0, train and test sets evaluated at
   the end: exactly ``catapult.train.sweep(..., eig=train.Curvature(x_eig, every, (τ,), iters))``
   on a plain-JAX copy of ``catapult.models.fully_connected`` (same math, a list of weights).
   Timed at a short run (20 steps) and at the paper's step count (400), so the
   per-step cost and the fixed cost (final λ, evaluations) are separated, and the paper
   sweep is measured directly when the budget allows.
B. The Wide ResNet of Fig. 3d-f: WRN-28-10, standard parameterization, LeCun init,
   pre-activation blocks with a per-sample LayerNorm over (H, W, C) (a plain-JAX copy of
   ``catapult.models.wide_resnet``), CIFAR-10-shaped 32×32×3 inputs, batch 128. Measured
   apart: an SGD step of the vmapped sweep (``train.sweep`` with ``loop="scan"``, no λ) and
   one vmapped Lanczos λ (the function the sweep calls), first at one learning rate, then at
   as many of the grid's rates as fit in memory; the paper WRN sweep is extrapolated as
   ceil(rates/n) × (steps · t_step(n) + n_λ · t_λ(n)) + an estimate of the final evaluation.
   Its sizes (grid, steps = ⌈measure_c/(2·min η/η_crit)⌉, λ schedule with ``early``, train
   and test sizes) come from the chapter's paper ``wrn`` settings in catapult/scales.py;
   ``--wrn-*`` options override them.

Synthetic inputs (no dataset needed), fixed seeds, float32. Each program's first call
(compilation + one run) is timed apart from the median of the repeats. Measurements run in
priority order and are skipped when the ``--budget`` (seconds) would be exceeded; the json
is rewritten after every measurement, so a killed run still leaves its numbers.
Not a test: the numbers depend on the machine.

The json: ``environment`` (device_kind, jax, memory, ...), ``settings`` (fc, wrn: every size),
``measurements`` (per program: first_call_s, repeats_s, median_s, compile_s_est; the WRN λ also
XLA's memory and FLOP counts), ``extrapolated`` (fc_relu_s, fc_tanh_s, wrn_s, chapter4_total_s,
the per-option WRN breakdown), ``skipped`` and ``errors`` (out of memory is recorded, not raised).
"""

from __future__ import annotations

import argparse
import functools
import json
import math
import os
import platform
import statistics
import sys
import time
from typing import Any, Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from catapult import ntk, train
from catapult.scales import settings

# ------------------------------------------------------------------ the networks (plain JAX)


def _act(name: str) -> Callable[[jax.Array], jax.Array]:
    return {"relu": jax.nn.relu, "tanh": jnp.tanh}[name]


def fc_apply(params: Sequence[jax.Array], x: jax.Array, nonlinearity: str = "relu", w_std: float | None = None):
    """``models.fully_connected``'s forward pass: NTK parameterization, no biases.

    ``params``: the weight matrices in order (784×w, w×w, …, w×k), each N(0, 1); a layer is
    h ↦ (σ_w/√fan_in)·h W, followed by the nonlinearity except at the readout.
    """
    act = _act(nonlinearity)
    w_std = (math.sqrt(2.0) if nonlinearity == "relu" else 1.0) if w_std is None else w_std
    h = x
    for i, w in enumerate(params):
        h = (w_std / math.sqrt(w.shape[0])) * (h @ w)
        if i < len(params) - 1:
            h = act(h)
    return h


def fc_init(seed: int, inputs: int, width: int, depth: int, outputs: int) -> list[jax.Array]:
    """N(0, 1) weights (NTK parameterization) of ``fc_apply`` (numpy RNG: nothing to compile)."""
    rng = np.random.default_rng(seed)
    sizes = [inputs] + [width] * depth + [outputs]
    return [jnp.asarray(rng.standard_normal((a, b), np.float32)) for a, b in zip(sizes[:-1], sizes[1:])]


def wrn_blocks(depth: int, widening: int) -> list[tuple[int, int, bool]]:
    """(channels, stride, has a 1×1 projection) of each residual block of WRN-depth-widening."""
    if (depth - 4) % 6 or depth < 10:
        raise ValueError(f"a Wide ResNet has depth = 6n + 4 with n >= 1, got {depth}.")
    n = (depth - 4) // 6
    blocks, in_channels = [], 16
    for channels, stride in ((16 * widening, 1), (32 * widening, 2), (64 * widening, 2)):
        for i in range(n):
            s = stride if i == 0 else 1
            blocks.append((channels, s, i == 0 and (stride != 1 or channels != in_channels)))
            in_channels = channels
    return blocks


def _conv(h: jax.Array, w: jax.Array, stride: int) -> jax.Array:
    return jax.lax.conv_general_dilated(h, w, (stride, stride), "SAME", dimension_numbers=("NHWC", "HWIO", "NHWC"))


def _layer_norm(h: jax.Array, eps: float = 1e-12) -> jax.Array:
    """stax.LayerNorm(axis=(1, 2, 3)): per sample over height, width and channels."""
    mean = jnp.mean(h, (1, 2, 3), keepdims=True)
    var = jnp.var(h, (1, 2, 3), keepdims=True)
    return (h - mean) / jnp.sqrt(eps + var)


def wrn_apply(params: Sequence[jax.Array], x: jax.Array, depth: int = 28, widening: int = 10):
    """``models.wide_resnet(depth, widening)``'s forward pass (standard parameterization, norm="layer").

    ``params``: the weights in the order of ``jax.tree_util.tree_leaves`` of the stax
    parameters: stem 3×3 conv; per block conv1, conv2, then the 1×1 shortcut if any; the
    dense readout. Block: LN → ReLU → conv3×3(stride) → LN → ReLU → conv3×3, plus identity
    or projection; then LN → ReLU → global average pool → dense.
    """
    it = iter(params)
    h = _conv(x, next(it), 1)
    for _, stride, project in wrn_blocks(depth, widening):
        w1, w2 = next(it), next(it)
        main = _conv(jax.nn.relu(_layer_norm(h)), w1, stride)
        main = _conv(jax.nn.relu(_layer_norm(main)), w2, 1)
        h = main + (_conv(h, next(it), stride) if project else h)
    h = jnp.mean(jax.nn.relu(_layer_norm(h)), (1, 2))
    return h @ next(it)


def wrn_shapes(depth: int, widening: int, channels_in: int = 3, outputs: int = 10) -> list[tuple[int, ...]]:
    """Shapes of ``wrn_apply``'s weights, in order (HWIO convolutions, then the dense readout)."""
    shapes = [(3, 3, channels_in, 16)]
    c_in = 16
    for channels, _, project in wrn_blocks(depth, widening):
        shapes += [(3, 3, c_in, channels), (3, 3, channels, channels)]
        if project:
            shapes.append((1, 1, c_in, channels))
        c_in = channels
    return shapes + [(c_in, outputs)]


def wrn_init(seed: int, depth: int, widening: int) -> list[jax.Array]:
    """LeCun weights N(0, 1/fan_in) (standard parameterization, σ_w = 1) of ``wrn_apply``."""
    rng = np.random.default_rng(seed)
    return [jnp.asarray(rng.standard_normal(s, np.float32) / np.float32(math.sqrt(math.prod(s[:-1]))))
            for s in wrn_shapes(depth, widening)]


def wrn_forward_flops(depth: int, widening: int, image: int = 32, outputs: int = 10) -> int:
    """Multiply-adds × 2 of one sample's forward pass through ``wrn_apply`` (convolutions and readout)."""
    shapes, size, flops = wrn_shapes(depth, widening, outputs=outputs), image, 0
    flops += 2 * size * size * math.prod(shapes[0])
    i = 1
    for _, stride, project in wrn_blocks(depth, widening):
        out = -(-size // stride)
        flops += 2 * out * out * (math.prod(shapes[i]) + math.prod(shapes[i + 1]))
        i += 2
        if project:
            flops += 2 * out * out * math.prod(shapes[i])
            i += 1
        size = out
    return flops + 2 * math.prod(shapes[i])


# Cost model in forward passes per sample: an SGD step 3 (forward, backward for inputs and
# weights); one NTK-vector product 6 (vjp 3, jvp 3: primal and two tangent terms per layer).
STEP_FWD, NTK_VP_FWD = 3, 6


def model_flops(fwd: float, rates: int, steps: int, batch: int, lambdas: int, iters: int, eig_samples: int,
                evaluated: int = 0) -> float:
    """FLOPs of a sweep by the cost model above: steps, Lanczos products, final evaluations."""
    return rates * fwd * (steps * STEP_FWD * batch + lambdas * iters * eig_samples * NTK_VP_FWD + evaluated)


# ------------------------------------------------------------------ settings


def fc_settings(tiny: bool) -> dict[str, Any]:
    """Chapter 4's ``paper`` FC settings (from catapult.scales), or a tiny stand-in for tests."""
    if tiny:
        c = dict(depth=3, width=16, n_train=128, n_test=32, batch=32, eig_samples=32, eig_iters=4, eig_every=5,
                 measure_c=4.0, min_steps=20, eta_over_crit=(0.5, 1.0, 2.0))
        short = 10
    else:
        p = settings("04_deep_curvature", "paper")  # all of them, recorded in the report; "batch": this script's name
        c = dict(p.asdict(), wrn=p.wrn.asdict(), batch=p.batch_size)
        short = 20
    c["steps"] = max(c["min_steps"], math.ceil(c["measure_c"] / (2 * min(c["eta_over_crit"]))))
    c["short_steps"] = short
    return c


WRN_OPTIONS = ("depth", "widening", "batch", "rates", "steps", "eig_samples", "eig_iters", "eig_every", "early",
               "n_eval", "timing_steps")


def wrn_settings(args: argparse.Namespace) -> dict[str, Any]:
    """The WRN's sizes: chapter 4's paper ``wrn`` settings (WRN-28-10, batch 128, λ on 256 samples,
    t·η = 30 ≈ 333/λ0 for the paper's η_crit = 0.18), then any ``--wrn-*`` option given;
    steps = ⌈measure_c/(2·min η/η_crit)⌉ as in the chapter."""
    if args.tiny:
        return dict(depth=10, widening=1, image=8, batch=8, rates=2, steps=20, eig_samples=8, eig_iters=3,
                    eig_every=5, early=2, times=1, n_eval=64, eta_crit=0.18, timing_steps=3, source="tiny")
    base = settings("04_deep_curvature", "paper").wrn
    w = dict(depth=base.depth, widening=base.widening, image=base.image_size, batch=base.batch_size,
             rates=len(base.eta_over_crit),
             steps=math.ceil(base.measure_c / (2 * min(base.eta_over_crit))),
             eig_samples=base.eig_samples, eig_iters=base.eig_iters, eig_every=base.eig_every,
             early=base.early, times=1, n_eval=base.n_train + base.n_test, eta_crit=0.18,
             timing_steps=16, source="catapult.scales paper wrn")
    for key in WRN_OPTIONS:
        value = getattr(args, "wrn_" + key)
        if value is not None:
            w[key] = value
            w["source"] += f", --wrn-{key.replace('_', '-')}"
    return w


def lambda_count(steps: int, every: int | None, times: int, early: int = 0) -> int:
    """Lanczos evaluations per learning rate in one ``train.sweep``: the common schedule
    (t = 0, every, 2·every, … and every t ≤ early) at the steps t < steps inside the scan,
    one at t = steps (always computed when ``every`` is set), one per physical time."""
    if not every:
        return times
    scheduled = np.union1d(np.arange(0, steps + 1, every), np.arange(0, min(early, steps) + 1))
    return int(np.sum(scheduled < steps)) + 1 + times


# ------------------------------------------------------------------ bookkeeping


class Report:
    """The json result, rewritten (atomically) after every measurement."""

    def __init__(self, path: str, budget: float):
        self.path, self.start, self.budget = path, time.perf_counter(), budget
        self.data: dict[str, Any] = dict(measurements={}, skipped=[], errors=[], finished=False)

    def elapsed(self) -> float:
        return time.perf_counter() - self.start

    def left(self) -> float:
        return self.budget - self.elapsed()

    def save(self) -> None:
        self.data["elapsed_s"] = round(self.elapsed(), 2)
        tmp = self.path + ".tmp"
        with open(tmp, "w") as f:
            json.dump(self.data, f, indent=2, default=_jsonable)
        os.replace(tmp, self.path)

    def record(self, name: str, value: dict[str, Any]) -> None:
        self.data["measurements"][name] = value
        print(f"[{self.elapsed():6.1f} s] {name}: " + json.dumps(value, default=_jsonable), flush=True)
        self.save()

    def skip(self, name: str, why: str) -> None:
        self.data["skipped"].append(f"{name}: {why}")
        print(f"[{self.elapsed():6.1f} s] skipped {name}: {why}", flush=True)
        self.save()

    def error(self, name: str, exc: BaseException) -> None:
        msg = f"{name}: {type(exc).__name__}: {str(exc)[:600]}"
        self.data["errors"].append(msg)
        print(f"[{self.elapsed():6.1f} s] error {msg}", flush=True)
        self.save()


def _rounded(v):
    """Floats to 4 significant digits, recursively."""
    if isinstance(v, dict):
        return {k: _rounded(u) for k, u in v.items()}
    return float(f"{v:.4g}") if isinstance(v, float) else v


def _jsonable(v):
    if isinstance(v, (np.floating, np.integer)):
        return v.item()
    if isinstance(v, np.ndarray):
        return v.tolist()
    return str(v)


def timed(fn: Callable[[], Any], report: Report, repeats: int) -> dict[str, Any]:
    """First call (compile + run) timed apart, then up to ``repeats`` calls while the budget
    allows another; ``fn`` must block until its result is ready."""
    start = time.perf_counter()
    fn()
    first = time.perf_counter() - start
    times: list[float] = []
    for _ in range(repeats):
        last = times[-1] if times else first
        if times and report.left() < 1.2 * last:
            break
        if not times and report.left() < first:  # the first call is an upper bound for a run
            break
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    out = dict(first_call_s=round(first, 4), repeats_s=[round(t, 4) for t in times])
    if times:
        out["median_s"] = round(statistics.median(times), 4)
        out["compile_s_est"] = round(max(first - statistics.median(times), 0.0), 4)
    return out


def device_memory() -> dict[str, Any]:
    try:
        stats = jax.devices()[0].memory_stats() or {}
    except Exception:  # noqa: BLE001  (CPU devices may not report)
        stats = {}
    return {k: stats[k] for k in ("bytes_limit", "peak_bytes_in_use", "bytes_in_use") if k in stats}


def environment() -> dict[str, Any]:
    dev = jax.devices()[0]
    try:
        import jaxlib

        jaxlib_version = jaxlib.__version__
    except Exception:  # noqa: BLE001
        jaxlib_version = None
    return dict(
        device_kind=dev.device_kind, platform=dev.platform, devices=jax.device_count(), jax=jax.__version__,
        jaxlib=jaxlib_version, python=platform.python_version(), cpu_cores=os.cpu_count(),
        default_matmul_precision=str(getattr(jax.config, "jax_default_matmul_precision", "?")),
        xla_flags=os.environ.get("XLA_FLAGS", ""), mem_fraction=os.environ.get("XLA_PYTHON_CLIENT_MEM_FRACTION"),
        memory=device_memory(), started_utc=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    )


# ------------------------------------------------------------------ A. the FC sweeps


def fc_problem(c: dict[str, Any], seed: int = 0):
    rng = np.random.default_rng(seed)
    d, k = 784, 10

    def data(n):
        x = rng.normal(size=(n, d)).astype(np.float32)
        y = np.eye(k, dtype=np.float32)[rng.integers(0, k, n)]
        return x, y

    x, y = data(c["n_train"])
    x_test, y_test = data(c["n_test"])
    return x, y, x_test, y_test, x[: c["eig_samples"]]


def run_fc(report: Report, c: dict[str, Any], repeats: int) -> Callable[[str, int], Callable[[], Any]]:
    """λ0 (one jitted Lanczos) and a short ReLU sweep; returns ``sweep_fn(net, steps)``, a thunk maker."""
    x, y, x_test, y_test, x_eig = fc_problem(c)
    factors = np.asarray(c["eta_over_crit"], float)
    nets = {}
    for name in ("relu", "tanh"):
        apply_fn = functools.partial(fc_apply, nonlinearity=name)
        params = fc_init(0, 784, c["width"], c["depth"], 10)
        nets[name] = (apply_fn, params)

    # λ0 (sets the grid; the cost does not depend on it) and the time of one λ
    name = "fc_relu_lambda_single"
    apply_fn, params = nets["relu"]
    lam_fn = jax.jit(lambda p, xe: ntk.lanczos_top_eigenvalue(apply_fn, p, xe, iters=c["eig_iters"]))
    lam = {}

    def one_lambda():
        lam["v"] = float(jax.block_until_ready(lam_fn(params, x_eig)))

    try:
        out = timed(one_lambda, report, repeats)
        out["lambda0"] = lam["v"]
        report.record(name, out)
        lam0 = lam["v"]
    except Exception as exc:  # noqa: BLE001
        report.error(name, exc)
        lam0 = 1.0
    etas = factors * 2.0 / lam0
    tau = c["measure_c"] / lam0

    def sweep_fn(net: str, steps: int):
        apply_fn, params = nets[net]

        def go():
            return train.sweep(
                apply_fn, params, x, y, etas, steps, batch_size=c["batch"], seed=0, x_test=x_test, y_test=y_test,
                eig=train.Curvature(x_eig, every=c["eig_every"], times=(tau,), iters=c["eig_iters"]), loop="scan",
            )

        return go

    short = c["short_steps"]
    # short run (ReLU): an upper bound for the per-step cost and a compile-time estimate
    name = f"fc_relu_sweep_{short}_steps"
    try:
        report.record(name, _with_flops(c, short, timed(sweep_fn("relu", short), report, repeats)))
    except Exception as exc:  # noqa: BLE001
        report.error(name, exc)
    return sweep_fn


def _with_flops(c: dict[str, Any], steps: int, out: dict[str, Any]) -> dict[str, Any]:
    """A FC sweep's timing with its size and its FLOPs by the cost model (``model_flops``)."""
    rates = len(c["eta_over_crit"])
    flops = model_flops(2 * c["parameters"], rates, steps, c["batch"], lambda_count(steps, c["eig_every"], 1),
                        c["eig_iters"], c["eig_samples"], evaluated=c["n_train"] + c["n_test"] + c["batch"])
    out = dict(steps=steps, rates=rates, **out, model_tflop=_rounded(flops / 1e12))
    if "median_s" in out:
        out["model_tflop_per_s"] = _rounded(flops / out["median_s"] / 1e12)
    return out


def fc_full(report: Report, c: dict[str, Any], sweep_fn, net: str, repeats: int) -> None:
    """The paper sweep of one FC net, measured directly when the short run predicts it fits."""
    full, short = c["steps"], c["short_steps"]
    name = f"fc_{net}_sweep_{full}_steps"
    m = report.data["measurements"].get(f"fc_relu_sweep_{short}_steps", {})
    if "median_s" in m:
        predicted = m["compile_s_est"] + m["median_s"] * full / short
        if predicted > report.left():
            report.skip(name, f"predicted {predicted:.0f} s (compile + run) > {report.left():.0f} s left")
            return
    try:
        report.record(name, _with_flops(c, full, timed(sweep_fn(net, full), report, repeats)))
    except Exception as exc:  # noqa: BLE001
        report.error(name, exc)


# ------------------------------------------------------------------ B. the WRN


def wrn_problem(w: dict[str, Any], seed: int = 1):
    rng = np.random.default_rng(seed)
    shape = (w["image"], w["image"], 3)
    x = rng.normal(size=(w["batch"],) + shape).astype(np.float32)
    y = np.eye(10, dtype=np.float32)[rng.integers(0, 10, w["batch"])]
    x_eig = rng.normal(size=(w["eig_samples"],) + shape).astype(np.float32)
    return x, y, x_eig


def _memory_of(compiled) -> dict[str, Any]:
    try:
        m = compiled.memory_analysis()
        return dict(temp_bytes=int(m.temp_size_in_bytes), argument_bytes=int(m.argument_size_in_bytes),
                    output_bytes=int(m.output_size_in_bytes))
    except Exception:  # noqa: BLE001
        return {}


def wrn_lambda(report: Report, w: dict[str, Any], apply_fn, params, x_eig, n: int, repeats: int) -> dict | None:
    """One vmapped Lanczos λ over ``n`` learning rates' parameters (what the sweep evaluates)."""
    name = f"wrn_lambda_{n}_rates"
    stacked = jax.tree_util.tree_map(lambda a: jnp.broadcast_to(a, (n,) + a.shape) + 0.0, params)
    fn = jax.vmap(lambda p, xe: ntk.lanczos_top_eigenvalue(apply_fn, p, xe, iters=w["eig_iters"]), in_axes=(0, None))
    xe = jnp.asarray(x_eig)
    start = time.perf_counter()
    compiled = jax.jit(fn).lower(stacked, xe).compile()
    compile_s = time.perf_counter() - start
    mem = _memory_of(compiled)
    limit = device_memory().get("bytes_limit")
    need = mem.get("temp_bytes", 0) + mem.get("argument_bytes", 0) + mem.get("output_bytes", 0)
    if limit and need > 0.97 * limit:
        report.skip(name, f"needs {need / 2**30:.1f} GiB > device limit {limit / 2**30:.1f} GiB "
                          f"(compile {compile_s:.0f} s)")
        return None
    out = timed(lambda: jax.block_until_ready(compiled(stacked, xe)), report, repeats)
    out.update(rates=n, eig_samples=w["eig_samples"], eig_iters=w["eig_iters"], compile_s=round(compile_s, 3), **mem)
    flops = model_flops(w["forward_flops"], n, 0, 0, 1, w["eig_iters"], w["eig_samples"])
    out.update(model_tflop=_rounded(flops / 1e12))
    if "median_s" in out:
        out["model_tflop_per_s"] = _rounded(flops / out["median_s"] / 1e12)
    report.record(name, out)
    return out


def wrn_step(report: Report, w: dict[str, Any], apply_fn, params, x, y, n: int, repeats: int) -> dict | None:
    """``timing_steps`` SGD steps of the vmapped sweep at ``n`` rates (loop="scan", no λ);
    per step = time/steps, an upper bound (it includes the final loss and a one-batch evaluation)."""
    name = f"wrn_step_{n}_rates"
    s = w["timing_steps"]
    etas = w["eta_crit"] * np.linspace(0.5, 3.0, n) if n > 1 else np.array([w["eta_crit"]])

    def go():
        return train.sweep(apply_fn, params, x, y, etas, s, batch_size=w["batch"], seed=0, loop="scan")

    out = timed(go, report, repeats)
    out.update(rates=n, steps=s, batch=w["batch"], memory_after=device_memory())
    flops = model_flops(w["forward_flops"], n, s, w["batch"], 0, 0, 0, evaluated=2 * w["batch"])
    out.update(model_tflop=_rounded(flops / 1e12))
    if "median_s" in out:
        out["per_step_s"] = round(out["median_s"] / s, 5)
        out["model_tflop_per_s"] = _rounded(flops / out["median_s"] / 1e12)
    report.record(name, out)
    return out


def _rate_counts(rates: int) -> list[int]:
    """1, then the whole grid, then halves of it (tried while the larger ones do not fit)."""
    order, k = [1, rates], rates
    while k > 2:
        k = math.ceil(k / 2)
        order.append(k)
    return list(dict.fromkeys(order))


# ------------------------------------------------------------------ extrapolation


def extrapolate(report: Report) -> None:
    """Totals for the paper-scale chapter-4 sweeps from whatever has been measured."""
    m = report.data["measurements"]
    c, w = report.data["settings"]["fc"], report.data["settings"].get("wrn")
    ex: dict[str, Any] = {}
    short, full = c["short_steps"], c["steps"]
    ms, mf = m.get(f"fc_relu_sweep_{short}_steps", {}), m.get(f"fc_relu_sweep_{full}_steps", {})
    if "median_s" in ms and "median_s" in mf:
        per_step = (mf["median_s"] - ms["median_s"]) / (full - short)
        ex["fc_per_step_s"] = per_step
        ex["fc_fixed_s"] = ms["median_s"] - short * per_step
    for net in ("relu", "tanh"):
        mf = m.get(f"fc_{net}_sweep_{full}_steps", {})
        if "median_s" in mf:
            ex[f"fc_{net}_s"], ex[f"fc_{net}_method"] = mf["median_s"], f"measured: {full}-step paper sweep"
            ex[f"fc_{net}_compile_s"] = mf.get("compile_s_est")
        elif net == "tanh" and "fc_relu_s" in ex and ex["fc_relu_method"].startswith("measured"):
            ex["fc_tanh_s"], ex["fc_tanh_compile_s"] = ex["fc_relu_s"], ex["fc_relu_compile_s"]
            ex["fc_tanh_method"] = "assumed equal to the measured ReLU sweep (same FLOPs)"
        elif "median_s" in ms:
            ex[f"fc_{net}_s"] = ms["median_s"] * full / short
            ex[f"fc_{net}_method"] = f"upper bound: {short}-step relu sweep × {full}/{short}"
            ex[f"fc_{net}_compile_s"] = ms.get("compile_s_est")
    ex["fc_paper_model_tflop_per_net"] = model_flops(
        2 * c["parameters"], len(c["eta_over_crit"]), full, c["batch"], lambda_count(full, c["eig_every"], 1),
        c["eig_iters"], c["eig_samples"], evaluated=c["n_train"] + c["n_test"] + c["batch"]) / 1e12
    if w:
        n_lam = lambda_count(w["steps"], w["eig_every"], w["times"], w["early"])
        ex["wrn_paper_model_tflop"] = model_flops(w["forward_flops"], w["rates"], w["steps"], w["batch"], n_lam,
                                                  w["eig_iters"], w["eig_samples"], evaluated=w["n_eval"]) / 1e12
        options = {}
        for key, lam in m.items():
            if not key.startswith("wrn_lambda_") or "median_s" not in lam:
                continue
            n = lam["rates"]
            step = m.get(f"wrn_step_{n}_rates", {})
            if "per_step_s" not in step:
                continue
            chunks = math.ceil(w["rates"] / n)
            per_sweep = w["steps"] * step["per_step_s"] + n_lam * lam["median_s"]
            # final evaluation on n_eval samples: ≈ a third of a step per batch (forward only); an estimate
            evaluation = w["n_eval"] / w["batch"] * step["per_step_s"] / 3
            options[n] = dict(rates_per_sweep=n, sweeps=chunks, lambdas_per_rate=n_lam,
                              steps_s=chunks * w["steps"] * step["per_step_s"],
                              lambda_s=chunks * n_lam * lam["median_s"],
                              evaluation_s_est=chunks * evaluation, total_s=chunks * (per_sweep + evaluation),
                              compile_s_est=(lam.get("compile_s") or 0) + (step.get("compile_s_est") or 0))
        if options:
            best = min(options.values(), key=lambda o: o["total_s"])
            ex["wrn_options"] = {str(k): v for k, v in options.items()}
            ex["wrn_s"] = best["total_s"]
            ex["wrn_compile_s"] = best["compile_s_est"]
            ex["wrn_method"] = (f"extrapolated: {best['sweeps']} sweep(s) of {best['rates_per_sweep']} rates × "
                                f"({w['steps']} steps + {n_lam} λ per rate) + evaluation estimate")
    if all(k in ex for k in ("fc_relu_s", "fc_tanh_s")):
        ex["fc_total_s"] = ex["fc_relu_s"] + ex["fc_tanh_s"]
        if "wrn_s" in ex:
            ex["chapter4_total_s"] = ex["fc_total_s"] + ex["wrn_s"]
            ex["chapter4_total_min"] = ex["chapter4_total_s"] / 60
            compile_s = sum(ex.get(k) or 0.0 for k in ("fc_relu_compile_s", "fc_tanh_compile_s", "wrn_compile_s"))
            ex["chapter4_total_with_compile_min"] = (ex["chapter4_total_s"] + compile_s) / 60
    ex["note"] = "steady-state seconds (compilation apart: *_compile_s); wrn per-step time is an upper bound"
    report.data["extrapolated"] = _rounded(ex)
    report.save()


# ------------------------------------------------------------------ main


def parse(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default="paper_cost.json")
    p.add_argument("--budget", type=float, default=240.0, help="seconds for the measurements (after imports)")
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--tiny", action="store_true", help="tiny sizes (seconds on a CPU; for tests)")
    p.add_argument("--skip-fc", action="store_true")
    p.add_argument("--skip-wrn", action="store_true")
    # WRN sizes: default from catapult.scales (04_deep_curvature, paper, wrn)
    for key in WRN_OPTIONS:
        p.add_argument("--wrn-" + key.replace("_", "-"), type=int, default=None)
    return p.parse_args(argv)


def wrn_setup(report: Report, w: dict[str, Any]) -> dict[str, Any]:
    """The WRN, its weights and synthetic data; records the sizes."""
    ctx = dict(apply_fn=functools.partial(wrn_apply, depth=w["depth"], widening=w["widening"]),
               params=wrn_init(0, w["depth"], w["widening"]))
    ctx["x"], ctx["y"], ctx["x_eig"] = wrn_problem(w)
    w["parameters"] = int(sum(p.size for p in ctx["params"]))
    w["forward_flops"] = wrn_forward_flops(w["depth"], w["widening"], w["image"])
    w["lambdas_per_rate"] = lambda_count(w["steps"], w["eig_every"], w["times"], w["early"])
    report.data["settings"]["wrn"] = w
    report.save()
    return ctx


def wrn_at(report: Report, w: dict[str, Any], ctx: dict[str, Any], n: int, repeats: int) -> bool:
    """λ and step at ``n`` rates; False when either failed or was skipped (e.g. out of memory)."""
    apply_fn, params = ctx["apply_fn"], ctx["params"]
    for kind, fn in (("lambda", lambda: wrn_lambda(report, w, apply_fn, params, ctx["x_eig"], n, repeats)),
                     ("step", lambda: wrn_step(report, w, apply_fn, params, ctx["x"], ctx["y"], n, repeats))):
        try:
            if fn() is None:
                return False
        except Exception as exc:  # noqa: BLE001  (out of memory is a result, not a crash)
            report.error(f"wrn_{kind}_{n}_rates", exc)
            return False
    return True


def wrn_more(report: Report, w: dict[str, Any], ctx: dict[str, Any], repeats: int) -> None:
    """The whole grid vmapped, else the largest of its halves that fits in memory and budget."""
    m = report.data["measurements"]
    one = {"lam": m["wrn_lambda_1_rates"], "step": m["wrn_step_1_rates"]}
    need1 = sum(one["lam"].get(k, 0) for k in ("temp_bytes", "argument_bytes", "output_bytes"))
    limit = device_memory().get("bytes_limit")
    for n in _rate_counts(w["rates"])[1:]:
        # compile as at one rate, then at least two runs n times as long as at one rate
        pred = sum(v.get("compile_s", v.get("compile_s_est", 0)) + 2 * v.get("median_s", v["first_call_s"]) * n
                   for v in one.values())
        if pred > report.left():
            report.skip(f"wrn_{n}_rates", f"predicted {pred:.0f} s > {report.left():.0f} s left")
            continue
        if limit and need1 and n * need1 > 0.95 * limit:
            report.skip(f"wrn_{n}_rates", f"predicted memory {n} × {need1 / 2**30:.1f} GiB > {limit / 2**30:.1f} GiB")
            continue
        ok = wrn_at(report, w, ctx, n, repeats)
        extrapolate(report)
        if ok:
            return


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Measurements in priority order: FC λ0 and a short FC sweep; the WRN at one rate; the
    ReLU FC paper sweep; the WRN at the whole grid (or the most rates that fit); the tanh FC
    paper sweep."""
    args = parse(argv)
    report = Report(args.out, args.budget)
    report.data["environment"] = environment()
    c = fc_settings(args.tiny)
    c["parameters"] = 784 * c["width"] + (c["depth"] - 1) * c["width"] ** 2 + 10 * c["width"]
    c["lambdas_per_rate"] = lambda_count(c["steps"], c["eig_every"], 1)
    report.data["settings"] = dict(fc=c, tiny=args.tiny, budget_s=args.budget, repeats=args.repeats)
    report.save()
    print(f"device {report.data['environment']['device_kind']}, jax {jax.__version__}, budget {args.budget:.0f} s",
          flush=True)
    sweep_fn = None
    if not args.skip_fc:
        sweep_fn = run_fc(report, c, args.repeats)
        extrapolate(report)
    w, one_ok = wrn_settings(args), False
    if not args.skip_wrn:
        ctx = wrn_setup(report, w)
        if report.left() > 30:
            one_ok = wrn_at(report, w, ctx, 1, args.repeats)
        else:
            report.skip("wrn_1_rates", f"{report.left():.0f} s left")
        extrapolate(report)
    if sweep_fn is not None:
        fc_full(report, c, sweep_fn, "relu", min(args.repeats, 1))
        extrapolate(report)
    if one_ok:
        wrn_more(report, w, ctx, args.repeats)
    if sweep_fn is not None:  # last: the same FLOPs as ReLU's sweep
        fc_full(report, c, sweep_fn, "tanh", min(args.repeats, 1))
        extrapolate(report)
    report.data["finished"] = True
    extrapolate(report)
    print(json.dumps(report.data.get("extrapolated", {}), indent=2, default=_jsonable), flush=True)
    return report.data


if __name__ == "__main__":
    # Room for the vmapped WRN (JAX preallocates 75% of GPU memory by default); read when the
    # GPU client starts, i.e. at the first device use inside main().
    os.environ.setdefault("XLA_PYTHON_CLIENT_MEM_FRACTION", "0.92")
    main()
    sys.exit(0)
