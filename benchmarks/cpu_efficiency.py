"""Benchmark: the book's heaviest computations at the ``ci`` scale against this CPU's matmul peak.

    .venv/bin/python benchmarks/cpu_efficiency.py [--only wrn cnn ...] [--repeats 1] [--json out.json]

For each computation (what a chapter calls, with the ``ci`` settings and the chapter's data):

- **first call**: wall time, and the compilation inside it (the sum of jax's
  ``/jax/core/compile/*_duration`` events: tracing, lowering, backend compilation);
- **execution**: the median wall time of ``--repeats`` further calls with the same network
  (``catapult.models`` builders are cached, so the compiled programs are reused);
- **FLOPs**: counted by XLA's cost analysis (``jit(f).lower(...).compile().cost_analysis()``) of
  the single-run pieces (one SGD step, one Lanczos λ with its iterations unrolled, one forward
  pass over the evaluated sets), times how often the computation runs each. A whole program's
  own count is useless here: XLA counts a loop body once.
- **GFLOP/s** = FLOPs / execution, and its share of the **peak**, a 4096² float32 matmul in jax
  measured in the same run (median of 5).

Computations: ``fc`` chapter 4's ReLU sweep, ``wrn`` chapter 4's Wide ResNet sweep, ``cnn``
chapter 5's CNN under both protocols, ``mlp`` chapter 6's pre-training of the SI-MLP,
``convnet`` chapter 6's pre-training of the CIFAR-10 ConvNet. Not a test: the numbers depend
on the machine; the README's benchmark section quotes a run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np

from catapult import data, models, ntk, protocols, settings, sphere, train
from catapult.chapters import deep_curvature, generalization

COMPILE_EVENTS = ("/jax/core/compile/jaxpr_trace_duration", "/jax/core/compile/jaxpr_to_mlir_module_duration",
                  "/jax/core/compile/backend_compile_duration")
_compile_seconds = {"total": 0.0}


def _listen(event: str, seconds: float, **_: Any) -> None:
    if event in COMPILE_EVENTS:
        _compile_seconds["total"] += seconds


jax.monitoring.register_event_duration_secs_listener(_listen)


def flops(fn: Callable, *args: Any) -> float:
    """XLA's count of the floating-point operations of one call of ``fn(*args)``."""
    cost = jax.jit(fn).lower(*args).compile().cost_analysis()
    cost = cost[0] if isinstance(cost, (list, tuple)) else cost
    return float(cost["flops"])


def peak(size: int = 4096, repeats: int = 5) -> float:
    """GFLOP/s of a size² float32 matmul in jax (median of ``repeats`` after a warm-up)."""
    a = jax.random.normal(jax.random.PRNGKey(0), (size, size), jnp.float32)
    mm = jax.jit(lambda a: a @ a)
    mm(a).block_until_ready()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        mm(a).block_until_ready()
        times.append(time.perf_counter() - start)
    return 2 * size**3 / statistics.median(times) / 1e9


# ------------------------------------------------------------------ the computations
# Each returns (a function running it once, a function giving its FLOPs from the result).


def _sweep_flops(apply_fn, params, x, batch_size, x_eig, eig_iters, run: train.Run, n_eval: int) -> float:
    """FLOPs of a ``train.sweep``: every rate's steps, its λ measurements and its final evaluation."""
    xb = x[:batch_size]
    out = apply_fn(params, xb)
    y = jnp.zeros(out.shape, out.dtype)
    step = flops(lambda p: jax.value_and_grad(lambda q: train.mse(apply_fn(q, xb), y))(p), params)
    lam = flops(lambda p: ntk.lanczos_top_eigenvalue(apply_fn, p, x_eig, iters=eig_iters, unroll=True), params)
    forward = flops(lambda p: apply_fn(p, x[:1]), params) * n_eval
    rates = run.etas.size
    per_rate_lams = max(run.lam_steps.size - 1, 0) + run.lam_times.size  # t = 0 is shared by every rate
    return rates * (run.steps * step + per_rate_lams * lam + forward) + lam


def fc():
    cfg = settings("04_deep_curvature", "ci")
    ds = data.load("mnist", cfg.n_train, cfg.n_test, seed=cfg.data_seed, flatten=True)

    def count(res):
        init_fn, apply_fn, _ = models.fully_connected(cfg.width, cfg.depth, ds.num_classes, nonlinearity="relu")
        _, params = init_fn(jax.random.PRNGKey(cfg.seed), ds.x_train.shape)
        return _sweep_flops(apply_fn, params, ds.x_train, cfg.batch_size, ds.x_train[: cfg.eig_samples], cfg.eig_iters,
                            res.run, ds.x_train.shape[0] + ds.x_test.shape[0] + cfg.batch_size)

    return (lambda: deep_curvature.sweep_fc(cfg, ds, "relu")), count


def wrn():
    cfg = settings("04_deep_curvature", "ci")
    w = cfg.wrn
    cifar = data.load("cifar10", w.n_train, w.n_test, seed=cfg.data_seed)

    def count(res):
        x = data.pool(cifar.x_train, w.image_size)
        _, apply_fn, _ = models.wide_resnet(w.depth, w.widening, cifar.num_classes)
        return _sweep_flops(apply_fn, res.params, x, w.batch_size, x[: w.eig_samples], w.eig_iters, res.run,
                            x.shape[0] + cifar.x_test.shape[0] + w.batch_size)

    return (lambda: deep_curvature.sweep_wrn(cfg, cifar)), count


def cnn():
    cfg = settings("05_generalization", "ci")
    cifar = data.load("cifar10", cfg.cifar_train, cfg.cifar_test, seed=cfg.data_seed)

    def count(res):
        _, run = res
        (init_fn, apply_fn, _), over = generalization.build(cfg, "cnn", cifar.num_classes)
        x = data.pool(cifar.x_train, cfg.image_size)
        params = jax.tree_util.tree_map(lambda a: a[0], protocols.init_seeds(init_fn, (-1,) + x.shape[1:], 1, cfg.seed))
        batch = over.get("batch_size", cfg.batch_size)
        xb = x[:batch]
        y = jnp.zeros((batch, cifar.num_classes))
        step = flops(lambda p: jax.value_and_grad(lambda q: train.mse(apply_fn(q, xb), y))(p), params)
        forward = flops(lambda p: apply_fn(p, x[:1]), params)
        runs = run.etas.size
        steps = over.get("steps", cfg.steps) + over.get("final_steps", cfg.final_steps)
        evals = run.eval_steps.size
        n_train, n_test = x.shape[0], cifar.x_test.shape[0]
        # every step; the accuracies on both sets at each record; protocol (b): test at the budget, both sets at the end
        return runs * (steps * step + forward * (evals * (n_train + n_test) + n_test + n_train + n_test + batch))

    return (lambda: generalization.train_cifar(cfg, "cnn", cifar)), count


def _pretrain_flops(net, x, y, runs: int, steps: int, batch: int, logs: int) -> float:
    w = net.init(jax.random.PRNGKey(0))
    step = flops(lambda v: jax.grad(lambda u: sphere.loss_and_accuracy(net.apply(u, x[:batch]), y[:batch])[0])(v), w)
    observe = flops(lambda v: sphere.loss_and_accuracy(net.apply(v, x), y), w)
    return runs * (steps * step + logs * observe)


def mlp():
    from catapult import synthetic

    cfg = settings("06_where_large_lrs_lead", "ci")
    task = synthetic.make_task([cfg.usefulness] * cfg.num_features, cfg.n_train, cfg.n_test, margin=cfg.margin,
                               seed=cfg.data_seed, shape=cfg.shape)
    net = sphere.mlp(task.input_dim, cfg.hidden, cfg.depth, head_norm=cfg.head_norm)
    plrs = np.asarray(cfg.plrs, dtype=float)
    key = jax.random.PRNGKey(cfg.seed)

    def once():
        return sphere.pretrain(net, task.x_train, task.y_train, plrs, cfg.seeds, cfg.pt_steps, batch_size=cfg.batch_size,
                               log_every=cfg.log_every, key=key)

    def count(res):
        return _pretrain_flops(net, jnp.asarray(task.x_train), jnp.asarray(task.y_train), plrs.size * cfg.seeds,
                               cfg.pt_steps, cfg.batch_size, cfg.pt_steps // cfg.log_every + 1)

    return once, count


def convnet():
    cfg = settings("06_where_large_lrs_lead", "ci")
    cc = cfg.cifar
    cifar = data.load("cifar10", cc.n_train, cc.n_test, seed=cc.data_seed)
    xc, yc = data.pool(cifar.x_train, cc.image_size), cifar.labels_train
    net = sphere.build(cc.arch, head_norm=cc.head_norm, **cc.net.asdict())
    plrs = np.asarray(cc.plrs, dtype=float)
    key = jax.random.PRNGKey(cfg.seed)

    def once():
        return sphere.pretrain(net, xc, yc, plrs, cc.seeds, cc.pt_steps, batch_size=cc.batch_size, log_every=cc.log_every,
                               key=key, loop=train.conv_loop())

    def count(res):
        return _pretrain_flops(net, jnp.asarray(xc), jnp.asarray(yc), plrs.size * cc.seeds, cc.pt_steps, cc.batch_size,
                               cc.pt_steps // cc.log_every + 1)

    return once, count


COMPUTATIONS = {"fc": fc, "wrn": wrn, "cnn": cnn, "mlp": mlp, "convnet": convnet}


def measure(name: str, repeats: int, peak_gflops: float) -> dict:
    once, count = COMPUTATIONS[name]()
    _compile_seconds["total"] = 0.0
    start = time.perf_counter()
    res = jax.block_until_ready(once())
    first = time.perf_counter() - start
    compile_s = _compile_seconds["total"]
    times = []
    for _ in range(repeats):  # what a repeat still compiles (a network built anew) is not execution
        _compile_seconds["total"] = 0.0
        start = time.perf_counter()
        jax.block_until_ready(once())
        times.append(time.perf_counter() - start - _compile_seconds["total"])
    execution = statistics.median(times)
    total = count(res)
    gflops = total / execution / 1e9
    return dict(name=name, first_s=round(first, 2), compile_s=round(compile_s, 2), execution_s=round(execution, 2),
                tflop=round(total / 1e12, 3), gflops=round(gflops, 1), share_of_peak=round(gflops / peak_gflops, 3))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", nargs="+", choices=sorted(COMPUTATIONS), default=list(COMPUTATIONS))
    parser.add_argument("--repeats", type=int, default=1, help="calls timed after the first (default 1)")
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args()
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")
    p = peak()
    cpu = platform.processor() or platform.machine()
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    print(f"{cpu}, {os.cpu_count()} cores, jax {jax.__version__}: peak (4096² matmul) {p:.0f} GFLOP/s", flush=True)
    print(f"{'computation':<10} {'first call':>10} {'compile':>8} {'execution':>9} {'TFLOP':>7} {'GFLOP/s':>8} {'of peak':>8}")
    results = []
    for name in args.only:
        r = measure(name, args.repeats, p)
        results.append(r)
        print(f"{name:<10} {r['first_s']:>9.1f}s {r['compile_s']:>7.1f}s {r['execution_s']:>8.1f}s {r['tflop']:>7.3f} "
              f"{r['gflops']:>8.1f} {100 * r['share_of_peak']:>7.1f}%", flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(dict(cpu=cpu, cores=os.cpu_count(), jax=jax.__version__, peak_gflops=round(p, 1), results=results), f,
                      indent=1)


if __name__ == "__main__":
    main()
