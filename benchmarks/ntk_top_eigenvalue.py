"""Benchmark: the top NTK eigenvalue, matrix-free Lanczos vs the dense kernel + eigvalsh.

    .venv/bin/python benchmarks/ntk_top_eigenvalue.py [--width 2048] [--depth 3] [--samples 512]
        [--repeats 3] [--repeats-dense N] [--implementation structured_derivatives] [--batch-size 0]
        [--dense-samples M] [--methods lanczos,dense] [--child-timeout 1800] [--json PATH]

Network: ``depth`` hidden ReLU layers of ``width`` units, 10 outputs, NTK parameterization
(``catapult.models.fully_connected``); inputs: ``samples`` MNIST-shaped vectors (784 dims,
N(0, 1)). Θ = J Jᵀ/(m·k) is (m·k) × (m·k) = 5120 × 5120 at the default setting, with
~10M parameters.

A. ``catapult.ntk.top_eigenpair``: Lanczos on jitted vjp/jvp products, never forming J or Θ.
B. ``catapult.ntk.dense_ntk`` (``neural_tangents.empirical_ntk_fn`` with the chosen
   implementation, optionally ``nt.batch``-ed) then a float64 ``numpy.linalg.eigvalsh``.

The default Jacobian contraction would hold a 5120 × 10M Jacobian (~200 GB in float32)
and spend ~(m·k)²·P ≈ 3·10¹⁴ flops contracting it; structured derivatives contract the
per-layer factors of each dense layer's Jacobian instead and fit easily. ``--dense-samples``
runs B on the first M inputs only (for an implementation that cannot run at m = 512); A
is then also evaluated there (untimed) for the accuracy comparison.

The 2048 × 10 setting (Θ 20480 × 20480: 1.7 GB in float32, 3.4 GB as the float64 copy
that ``eigvalsh`` reads; B peaked at 8.7 GB resident, A at 0.6 GB) runs as

    .venv/bin/python benchmarks/ntk_top_eigenvalue.py --samples 2048 --batch-size 256 \
        --repeats 1 --repeats-dense 0 --child-timeout 5400

``--batch-size 256`` builds Θ in 8 × 8 blocks of 2560 × 2560; ``--repeats-dense 0`` times B
once (its first call, compilation included, a small share of the total): the float64
``eigvalsh`` is O((m·k)³), 64 times its cost at 512 samples. On 2 shared CPU cores B took
30 min (kernel 5 min + eigvalsh 24 min), right at the default 1800 s child timeout, hence
the raised ``--child-timeout``; A took ~1.5 min (15 Lanczos steps). Without a dense median
the summary's time ratio is B's first call over A's median
(``time_ratio_dense_first_call_over_lanczos_median``).

Each method runs in its own child process, so its peak resident memory (``ru_maxrss``
from ``os.wait4``) is its own; the child also reports its resident memory after setup
(imports, weights, data) so the method's own share can be read off. Timings: the first
call (compilation included) separately, then the median of ``--repeats`` calls.
Not a test: numbers depend on the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _timing import timed  # benchmarks/ is on sys.path when a benchmark runs as a script

IMPLEMENTATIONS = {"jacobian_contraction": 1, "ntk_vector_products": 2, "structured_derivatives": 3}
INPUT_DIM = 784
OUTPUTS = 10


def _rss_mib() -> float:
    """Peak resident set size of this process so far, in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _setup(args):
    """The network, its weights and the inputs; identical in every child (fixed seeds)."""
    import jax

    from catapult import models

    init_fn, apply_fn, _ = models.fully_connected(args.width, args.depth, OUTPUTS)
    x = jax.random.normal(jax.random.PRNGKey(0), (args.samples, INPUT_DIM))
    _, params = init_fn(jax.random.PRNGKey(1), x.shape)
    n_params = sum(leaf.size for leaf in jax.tree_util.tree_leaves(params))
    return apply_fn, params, x, int(n_params)


def worker(args) -> dict:
    """Run one method (in a child process) and return its measurements."""
    import jax
    import numpy as np

    from catapult import ntk

    apply_fn, params, x, n_params = _setup(args)
    jax.block_until_ready((params, x))
    result = {"method": args.worker, "params": n_params, "rss_after_setup_mib": _rss_mib()}

    if args.worker == "lanczos":
        top, first_s, times = timed(lambda: ntk.top_eigenpair(apply_fn, params, x, tol=args.tol), args.repeats)
        result.update(
            samples=args.samples,
            value=top.value,
            iterations=top.iterations,
            residual=top.residual,
            first_call_s=first_s,
            times_s=times,
        )
        if args.dense_samples != args.samples:  # the value B is compared with, untimed
            result["value_at_dense_samples"] = ntk.top_eigenvalue(
                apply_fn, params, x[: args.dense_samples], tol=args.tol
            )
    else:
        xd = x[: args.dense_samples]
        kw = {"implementation": IMPLEMENTATIONS[args.implementation], "batch_size": args.batch_size or None}
        split = {"kernel_s": [], "eigvalsh_s": []}

        def dense():
            start = time.perf_counter()
            theta = jax.block_until_ready(ntk.dense_ntk(apply_fn, params, xd, **kw))
            mid = time.perf_counter()
            value = float(np.linalg.eigvalsh(np.asarray(theta, dtype=np.float64))[-1])
            split["kernel_s"].append(mid - start)
            split["eigvalsh_s"].append(time.perf_counter() - mid)
            return value, theta.shape

        (value, shape), first_s, times = timed(dense, args.repeats_dense)
        result.update(
            samples=args.dense_samples,
            value=value,
            kernel_shape=list(shape),
            implementation=args.implementation,
            batch_size=args.batch_size,
            first_call_s=first_s,
            first_kernel_s=split["kernel_s"][0],
            first_eigvalsh_s=split["eigvalsh_s"][0],
            times_s=times,
            kernel_median_s=statistics.median(split["kernel_s"][1:]) if times else None,
            eigvalsh_median_s=statistics.median(split["eigvalsh_s"][1:]) if times else None,
        )
    result["rss_peak_self_mib"] = _rss_mib()
    return result


def run_child(method: str, argv: list[str], timeout: float) -> dict:
    """Run ``method`` in a fresh interpreter; return its result plus its peak RSS from wait4."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", method, *argv]
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, env=env, cwd=Path(__file__).resolve().parents[1])
        deadline = start + timeout
        while True:  # poll with wait4 so that the child's own rusage is collected
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                proc.kill()
                _, status, usage = os.wait4(proc.pid, 0)
                proc.returncode = -9
                return {"method": method, "error": f"timed out after {timeout:.0f} s", "rss_peak_mib": usage.ru_maxrss / 1024}
            time.sleep(0.2)
        proc.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - start
        out.seek(0)
        err.seek(0)
        lines = out.read().strip().splitlines()
        if proc.returncode != 0 or not lines:
            tail = err.read()[-2000:]
            return {"method": method, "error": f"exit code {proc.returncode}: {tail}", "rss_peak_mib": usage.ru_maxrss / 1024}
    result = json.loads(lines[-1])
    result["rss_peak_mib"] = usage.ru_maxrss / 1024  # the kernel's account of the child's peak
    result["child_wall_s"] = wall
    if result.get("times_s"):
        result["median_s"] = statistics.median(result["times_s"])
    return result


def machine() -> str:
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{model}, {os.cpu_count()} cores"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--width", type=int, default=2048)
    parser.add_argument("--depth", type=int, default=3, help="hidden layers")
    parser.add_argument("--samples", type=int, default=512)
    parser.add_argument("--repeats", type=int, default=3, help="timed calls after the first")
    parser.add_argument(
        "--repeats-dense", type=int, default=None, help="timed calls of B after the first (default: --repeats)"
    )
    parser.add_argument("--tol", type=float, default=1e-4, help="Lanczos relative residual")
    parser.add_argument("--implementation", choices=sorted(IMPLEMENTATIONS), default="structured_derivatives")
    parser.add_argument("--batch-size", type=int, default=0, help="nt.batch block size for B (0: unbatched)")
    parser.add_argument("--dense-samples", type=int, default=None, help="run B on the first M inputs only")
    parser.add_argument("--methods", default="lanczos,dense", help="comma-separated subset of lanczos,dense")
    parser.add_argument("--child-timeout", type=float, default=1800.0, help="seconds per method")
    parser.add_argument("--json", type=Path, default=None, help="also write the summary here")
    parser.add_argument("--worker", choices=("lanczos", "dense"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.dense_samples = args.dense_samples or args.samples
    if args.repeats_dense is None:
        args.repeats_dense = args.repeats
    if args.repeats < 0 or args.repeats_dense < 0:
        parser.error("--repeats and --repeats-dense must be >= 0")
    if not 0 < args.dense_samples <= args.samples:
        parser.error("--dense-samples must be between 1 and --samples")

    if args.worker:
        print(json.dumps(worker(args)))
        return

    argv = [
        f"--width={args.width}",
        f"--depth={args.depth}",
        f"--samples={args.samples}",
        f"--repeats={args.repeats}",
        f"--repeats-dense={args.repeats_dense}",
        f"--tol={args.tol}",
        f"--implementation={args.implementation}",
        f"--batch-size={args.batch_size}",
        f"--dense-samples={args.dense_samples}",
    ]
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    results = {m: run_child(m, argv, args.child_timeout) for m in methods}

    import jax

    summary = {
        "machine": machine(),
        "backend": jax.default_backend(),
        "jax": jax.__version__,
        "setting": {
            "width": args.width,
            "depth": args.depth,
            "outputs": OUTPUTS,
            "input_dim": INPUT_DIM,
            "samples": args.samples,
            "dense_samples": args.dense_samples,
            "theta_size": args.samples * OUTPUTS,
            "repeats": args.repeats,
            "repeats_dense": args.repeats_dense,
            "tol": args.tol,
        },
        **results,
    }
    lz, dn = results.get("lanczos", {}), results.get("dense", {})
    same_size = args.dense_samples == args.samples
    if "value" in lz and "value" in dn:
        reference = lz.get("value_at_dense_samples", lz["value"])
        summary["relative_error"] = abs(reference - dn["value"]) / abs(dn["value"])
    if not same_size:
        summary["note"] = (
            f"dense ran on the first {args.dense_samples} samples, Lanczos timed on {args.samples}; the relative "
            f"error compares both at {args.dense_samples}; no time or memory ratios across different sizes."
        )
    if "value" in lz and "value" in dn and same_size:
        both = dn.get("median_s") and lz.get("median_s")
        summary["time_ratio_dense_over_lanczos"] = dn["median_s"] / lz["median_s"] if both else None
        if not dn.get("median_s"):  # B timed once (--repeats-dense 0): its first call against A's median
            summary["time_ratio_dense_first_call_over_lanczos_median"] = dn["first_call_s"] / (
                lz.get("median_s") or lz["first_call_s"]
            )
        summary["first_call_ratio_dense_over_lanczos"] = dn["first_call_s"] / lz["first_call_s"]
        summary["peak_rss_ratio_dense_over_lanczos"] = dn["rss_peak_mib"] / lz["rss_peak_mib"]
        summary["extra_rss_ratio_dense_over_lanczos"] = (dn["rss_peak_mib"] - dn["rss_after_setup_mib"]) / max(
            lz["rss_peak_mib"] - lz["rss_after_setup_mib"], 1.0
        )
    text = json.dumps(summary, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")

    def describe(r: dict, name: str) -> str:
        if "error" in r:
            return f"{name}: FAILED ({r['error'].splitlines()[0] if r['error'] else 'error'})"
        if "median_s" not in r:
            split = ""
            if "first_kernel_s" in r:
                split = f" (kernel {r['first_kernel_s']:.1f} s + eigvalsh {r['first_eigvalsh_s']:.1f} s)"
            return (
                f"{name} m={r['samples']}: first call {r['first_call_s']:.1f} s{split}, "
                f"peak RSS {r['rss_peak_mib']:.0f} MiB"
            )
        return (
            f"{name} m={r['samples']}: {r['median_s']:.2f} s median (first call {r['first_call_s']:.1f} s), "
            f"peak RSS {r['rss_peak_mib']:.0f} MiB"
        )

    parts = [describe(r, m) for m, r in results.items()]
    if "relative_error" in summary:
        parts.append(f"relative error {summary['relative_error']:.1e}")
        if summary.get("time_ratio_dense_over_lanczos"):
            parts.append(f"dense/Lanczos median time {summary['time_ratio_dense_over_lanczos']:.1f}x")
        elif summary.get("time_ratio_dense_first_call_over_lanczos_median"):
            ratio = summary["time_ratio_dense_first_call_over_lanczos_median"]
            parts.append(f"dense first call/Lanczos median time {ratio:.1f}x")
        if "peak_rss_ratio_dense_over_lanczos" in summary:
            parts.append(f"dense/Lanczos peak RSS {summary['peak_rss_ratio_dense_over_lanczos']:.2f}x")
    print(
        f"\nTop NTK eigenvalue, {args.depth}x{args.width} ReLU, {OUTPUTS} outputs, "
        f"Theta {args.samples * OUTPUTS}^2 ({jax.default_backend()}, {machine()}): " + "; ".join(parts)
    )


if __name__ == "__main__":
    main()
