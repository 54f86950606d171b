"""Benchmark: top NTK eigenvalue, matrix-free Lanczos against the dense kernel + eigvalsh.

    .venv/bin/python benchmarks/ntk_top_eigenvalue.py [--width 2048] [--depth 3] [--samples 512]
        [--outputs 10] [--repeats 3] [--dense-batch 64]

The issue's setting: a 3-hidden-layer, width-2048 ReLU network (NTK parameterization) on
512 MNIST-shaped inputs (784 dims) with 10 outputs, i.e. a 5120 × 5120 kernel. Each method
runs in its own child process, so its peak memory (max RSS) is its own; inside the child
the first call (compilation) is timed apart from the median of ``--repeats`` calls.
Not a test: the numbers depend on the machine.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import platform
import resource
import statistics
import time


def _child(method: str, args: dict, queue) -> None:
    import jax

    from catapult import models, ntk

    x = jax.random.normal(jax.random.PRNGKey(0), (args["samples"], 784))
    init_fn, apply_fn, _ = models.fully_connected(args["width"], args["depth"], args["outputs"])
    _, params = init_fn(jax.random.PRNGKey(1), x.shape)

    if method == "lanczos":
        run = lambda: ntk.top_eigenpair(apply_fn, params, x, tol=args["tol"])  # noqa: E731
    else:
        nt = __import__("neural_tangents")
        kernel = nt.batch(
            nt.empirical_ntk_fn(apply_fn, trace_axes=(), vmap_axes=0,
                                implementation=nt.NtkImplementation.STRUCTURED_DERIVATIVES),
            batch_size=args["dense_batch"],
        )

        def run():
            import jax.numpy as jnp

            theta = kernel(x, None, params)
            m, k = args["samples"], args["outputs"]
            theta = jnp.transpose(theta, (0, 2, 1, 3)).reshape(m * k, m * k) / (m * k)
            return float(jnp.linalg.eigvalsh(theta)[-1])

    start = time.perf_counter()
    first = run()
    first_s = time.perf_counter() - start
    times = []
    for _ in range(args["repeats"]):
        start = time.perf_counter()
        out = run()
        times.append(time.perf_counter() - start)
    value = out.value if method == "lanczos" else out
    extra = {"iterations": out.iterations, "residual": out.residual} if method == "lanczos" else {}
    queue.put({"value": float(value), "first_call_s": first_s, "median_s": statistics.median(times),
               "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, **extra})


def measure(method: str, args: dict) -> dict:
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_child, args=(method, args, queue))
    proc.start()
    result = queue.get()
    proc.join()
    return result


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--width", type=int, default=2048)
    p.add_argument("--depth", type=int, default=3)
    p.add_argument("--samples", type=int, default=512)
    p.add_argument("--outputs", type=int, default=10)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--tol", type=float, default=1e-4)
    p.add_argument("--dense-batch", type=int, default=64)
    args = vars(p.parse_args())
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    lanczos = measure("lanczos", args)
    dense = measure("dense", args)
    summary = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "setting": args,
        "lanczos": lanczos,
        "dense": dense,
        "relative_error": abs(lanczos["value"] - dense["value"]) / dense["value"],
        "time_ratio_dense_over_lanczos": dense["median_s"] / lanczos["median_s"],
        "memory_ratio_dense_over_lanczos": dense["max_rss_mb"] / lanczos["max_rss_mb"],
    }
    print(json.dumps(summary, indent=2))
    print(
        f"\nλ_max: Lanczos {lanczos['value']:.6g} ({lanczos['iterations']} products), dense {dense['value']:.6g}, "
        f"relative error {summary['relative_error']:.1e}; median time {lanczos['median_s']:.2f} s vs "
        f"{dense['median_s']:.2f} s ({summary['time_ratio_dense_over_lanczos']:.1f}×); peak RSS "
        f"{lanczos['max_rss_mb']:.0f} MB vs {dense['max_rss_mb']:.0f} MB"
    )


if __name__ == "__main__":
    main()
