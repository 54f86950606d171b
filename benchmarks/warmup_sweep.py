"""Benchmark: a learning-rate sweep of the warmup model, vmapped closed form vs looped GD.

    .venv/bin/python benchmarks/warmup_sweep.py [--lrs 256] [--steps 1000] [--width 1000] [--repeats 5]

A. The exact dynamics (eqs. 6-7) for all learning rates as one vmapped ``lax.scan``
   under ``jit`` (``catapult.warmup.lr_sweep``).
B. Explicit gradient descent on (u, v) at width n, one jitted ``lax.scan`` per learning
   rate, looped over learning rates in Python (compiled once: η is a traced argument).

Both are timed after a warm-up call (compilation reported separately); the median of
``--repeats`` runs is reported, with the ratio. Not a test: numbers depend on the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
from _timing import timed  # benchmarks/ is on sys.path when a benchmark runs as a script

from catapult import warmup


@partial(jax.jit, static_argnames="steps")
def gd_run(u, v, eta, steps: int):
    """Explicit GD on (u, v) for one learning rate; returns the loss at every step."""

    def body(carry, _):
        u, v = warmup.gd_step(*carry, eta)
        return (u, v), warmup.loss(u, v)

    _, losses = jax.lax.scan(body, (u, v), None, length=steps)
    return losses


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lrs", type=int, default=256)
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--width", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    key = jax.random.PRNGKey(0)
    u, v = warmup.init_params(key, args.width)
    init = warmup.Init(warmup.output(u, v), warmup.curvature(u, v))
    cs = np.linspace(0.05, 4.5, args.lrs)
    etas = (cs / float(init.lam0)).astype(np.float32)

    def vmapped():
        _, traj = warmup.lr_sweep(init, cs, args.width, args.steps)
        return traj

    def looped():
        return [gd_run(u, v, jnp.float32(eta), args.steps).block_until_ready() for eta in etas]

    _, first_a, times_a = timed(vmapped, args.repeats)
    _, first_b, times_b = timed(looped, args.repeats)
    med_a, med_b = statistics.median(times_a), statistics.median(times_b)
    result = {
        "machine": f"{platform.machine()} {platform.processor() or ''}".strip(),
        "cpu_cores": os.cpu_count(),
        "jax_devices": jax.local_device_count(),
        "backend": jax.default_backend(),
        "jax": jax.__version__,
        "lrs": args.lrs,
        "steps": args.steps,
        "width": args.width,
        "repeats": args.repeats,
        "vmapped_exact_median_s": med_a,
        "vmapped_exact_first_call_s": first_a,
        "looped_gd_median_s": med_b,
        "looped_gd_first_call_s": first_b,
        "speedup": med_b / med_a,
    }
    print(json.dumps(result, indent=2))
    print(
        f"\n{args.lrs} learning rates × {args.steps} steps: vmapped closed form {med_a * 1e3:.1f} ms, "
        f"GD looped per learning rate at n = {args.width} {med_b * 1e3:.0f} ms (median of {args.repeats}); "
        f"ratio {med_b / med_a:.0f}×"
    )


if __name__ == "__main__":
    main()
