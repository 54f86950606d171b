"""The paper's two fair comparisons of learning rates (Sec. 3.2, Fig. 5), as one compiled program.

``compare(apply_fn, params, x, y, x_test, y_test, etas, steps, ...)`` trains every
initialization in ``params`` (a pytree stacked over seeds, leading axis s) at every
learning rate of ``etas`` (n) with plain SGD, ``vmap``-ped over seeds and learning rates
inside one ``jit``, and reads off both protocols of Sec. 3.2 from the same runs:

- **(a) fixed number of steps** (Fig. 5a,c): the state after ``steps`` steps at η.
- **(b) fixed physical time** (Fig. 5b,d): the state after round(τ/η) steps at η, with
  τ = ``physical_time`` the same for every η, followed by ``final_steps`` steps at one
  small ``final_eta`` shared by every run (the paper: 475/η steps then 50k at 2e-5 for the
  CNN; 3360/η then 4800 at 0.035 for the WRN).

How (b) is computed: the phase-1 scan runs ``steps`` steps at η for every run (protocol
(a) needs them anyway) and keeps a copy of θ at the per-η step round(τ/η), chosen inside
the scan with a ``where`` on t (no per-η program, no Python loop over η); the phase-2 scan
then continues every copy at ``final_eta`` (a rate whose τ/η rounds to 0 still takes one step). This needs round(τ/η) ≤ ``steps`` for every η,
i.e. τ ≤ min(η)·steps; the default τ = min(η)·steps makes the smallest learning rate's two
budgets coincide, and every larger η gets fewer steps (the same physical time) in (b).

Other records: the loss of every step (on its batch; for full-batch GD, the training
loss), and the training- and test-set accuracy at the common steps ``eval_steps``
(λ-free, so physical time of record (i, r) is ``etas[i]·eval_steps[r]``; Fig. S3).

Loss and optimizer are those of :mod:`catapult.train` (MSE L = (1/(2mk))Σ(f−y)², so
η_crit = 2/λ0; L2 weight decay (wd/2)‖θ‖² added to the gradient). Divergence is a result,
as in :func:`catapult.train.sweep`: the first non-finite (or above ``loss_cap``) loss or
parameter freezes a run at its last finite state, marks it divergent and turns its later
records to NaN. ``stop_at_fit`` freezes a run (not divergent) once its batch accuracy is
1: with full-batch GD that is Fig. 4's "train until training accuracy 1".
"""

from __future__ import annotations

import functools
import math
from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from . import loop as loop_
from . import train
from ._checks import one_of, positive_array, positive_float, positive_int

ApplyFn = Callable[[Any, jax.Array], jax.Array]


class Comparison(NamedTuple):
    """The result of :func:`compare`; arrays have leading axes (seeds s, learning rates n)."""

    etas: np.ndarray  # (s, n): a learning-rate grid per seed (e.g. the same multiples of each seed's η_crit)
    steps: int  # protocol (a): steps at η
    physical_time: np.ndarray  # (s,) protocol (b): τ; phase 1 lasts budget_steps = round(τ/η) steps
    budget_steps: np.ndarray  # (s, n)
    final_eta: float
    final_steps: int
    loss: np.ndarray  # (s, n, steps + 1) loss of θ_t on the batch of step t (NaN once divergent)
    eval_steps: np.ndarray  # (E,) steps of the accuracy records (the last is `steps`)
    train_acc_t: np.ndarray  # (s, n, E) training-set accuracy at eval_steps
    test_acc_t: np.ndarray  # (s, n, E) test-set accuracy at eval_steps
    divergent: np.ndarray  # (s, n) diverged within the `steps` steps of phase 1
    fixed_train_acc: np.ndarray  # (s, n) protocol (a), NaN if divergent
    fixed_test_acc: np.ndarray  # (s, n)
    budget_divergent: np.ndarray  # (s, n) diverged within round(τ/η) steps, or in phase 2
    budget_test_acc: np.ndarray  # (s, n) at t·η = τ, before phase 2
    phys_train_acc: np.ndarray  # (s, n) protocol (b): after phase 2
    phys_test_acc: np.ndarray  # (s, n)
    fit_step: np.ndarray  # (s, n) step at which batch accuracy reached 1 (stop_at_fit), -1 if never
    fixed_params: Any = None  # protocol (a)'s parameters, leaves with leading axes (s, n) (keep_params), else None

    def eval_time(self) -> np.ndarray:
        """(s, n, E) physical time t·η of the accuracy records."""
        return self.etas[:, :, None] * self.eval_steps


@functools.lru_cache(maxsize=16)
def _program(apply_fn, steps, final_steps, has_final, weight_decay, loss_cap, stop_at_fit, eval_chunk, loop,
             keep_params=False):
    """The program for one configuration (cached; repeated calls reuse the compile): every
    (seed, η) run is one entry of a carry with leading axes (s, n), stepped by
    :func:`catapult.loop.iterate` through phase 1 and, from the per-η copies, phase 2."""
    import optax

    python = loop_.stepped(loop)
    nan = jnp.array(jnp.nan, jnp.float32)

    def make_opt(eta):  # SGD, with L2 weight decay (wd/2)‖θ‖² added to the gradient
        return optax.chain(optax.add_decayed_weights(weight_decay), optax.sgd(eta)) if weight_decay else optax.sgd(eta)

    def loss_acc(p, xb, yb):
        f = apply_fn(p, xb)
        return train.mse(f, yb), train.accuracy(f, yb)

    grad_fn = jax.value_and_grad(loss_acc, has_aux=True)

    def sgd(p, eta, xb, yb):
        (loss, acc), g = grad_fn(p, xb, yb)
        opt = make_opt(eta)
        updates, _ = opt.update(g, opt.init(p), p)  # stateless: no momentum
        return loss, acc, optax.apply_updates(p, updates)

    def accuracy(p, x, y):  # on a whole set, in chunks
        return train.accuracy(loop_.outputs(apply_fn, p, x, eval_chunk, unrolled=python), y).astype(jnp.float32)

    def accs(p, x, y, xt, yt):
        return jnp.stack([accuracy(p, x, y), accuracy(p, xt, yt)])

    def over_runs(f, at, static_argnums=()):  # the (seeds, etas) runs: nested vmaps
        return loop_.over_runs(loop_.over_runs(f, at, loop, static_argnums), at, loop, static_argnums)

    # phase 1: one step of one run; the copy for protocol (b) is kept at its step round(τ/η)
    def one(carry, t, batch, ev, eta, budget, x, y, xt, yt):
        p, snap, snap_dead, dead, done, fit_at = carry
        hit = t == budget
        snap = loop_.select(hit, p, snap)
        snap_dead = jnp.where(hit, dead, snap_dead)
        if isinstance(ev, bool):  # the Python loop: two compiled steps, with and without the accuracies
            rec = accs(p, x, y, xt, yt) if ev else jnp.full((2,), jnp.nan, jnp.float32)
        else:
            rec = jax.lax.cond(ev, lambda q: accs(q, x, y, xt, yt), lambda q: jnp.full((2,), jnp.nan, jnp.float32), p)
        loss, acc, new = sgd(p, eta, x[batch], y[batch])
        bad = ~jnp.isfinite(loss) | (loss > loss_cap)
        dead_now = dead | bad | ~loop_.finite(new)
        fitted = (acc >= 1.0) & stop_at_fit & ~done & ~dead_now
        fit_at = jnp.where(fitted, t, fit_at)
        p = loop_.select(dead_now | done | fitted, p, new)
        rec = jnp.where(dead | bad, nan, rec)
        return (p, snap, snap_dead, dead_now, done | fitted, fit_at), (jnp.where(dead | bad, nan, loss), rec)

    def phase1(carry, xs, ev, etas, budget, x, y, xt, yt):
        t, batch = xs
        at = (0, None, None, None, 0, 0, None, None, None, None)
        return over_runs(one, at, (3,) if python else ())(carry, t, batch, ev, etas, budget, x, y, xt, yt)

    # phase 2 of protocol (b): every copy continues at the one small final_eta
    def one2(q, d, batch, final_eta, x, y):
        loss, _, new = sgd(q, final_eta, x[batch], y[batch])
        d2 = d | ~jnp.isfinite(loss) | (loss > loss_cap) | ~loop_.finite(new)
        return loop_.select(d2, q, new), d2

    def phase2(carry, batch, final_eta, x, y):
        return over_runs(one2, (0, 0, None, None, None, None))(*carry, batch, final_eta, x, y), None

    def start(params, n):
        p = jax.tree_util.tree_map(lambda a: jnp.broadcast_to(a[:, None], (a.shape[0], n) + a.shape[1:]), params)
        lead = jax.tree_util.tree_leaves(p)[0].shape[:2]
        false = jnp.zeros(lead, bool)
        return (p, p, false, false, false, jnp.full(lead, -1, jnp.int32))

    def one_end1(carry, losses, recs, budget, x, y, xt, yt, last_batch):  # t = steps: the end of protocol (a)
        p, snap, snap_dead, dead, _, fit_at = carry
        last = train.mse(apply_fn(p, x[last_batch]), y[last_batch])
        dead = dead | ~jnp.isfinite(last) | (last > loss_cap)
        hit = budget == steps
        snap = loop_.select(hit, p, snap)
        snap_dead = jnp.where(hit, dead, snap_dead)
        losses = jnp.concatenate([losses, jnp.where(dead, nan, last)[None]])
        final_rec = jnp.where(dead, jnp.full((2,), jnp.nan, jnp.float32), accs(p, x, y, xt, yt))
        recs = jnp.concatenate([recs, final_rec[None]])
        budget_test = jnp.where(snap_dead, nan, accuracy(snap, xt, yt))
        kept = dict(params=p) if keep_params else {}
        return dict(loss=losses, recs=recs, dead=dead, budget_test=budget_test, fit_at=fit_at, **kept), (snap, snap_dead)

    def end_of_phase1(carry, losses, recs, budget, x, y, xt, yt, last_batch):
        at = (0, 0, 0, 0, None, None, None, None, None)
        return over_runs(one_end1, at)(carry, losses, recs, budget, x, y, xt, yt, last_batch)

    def one_end2(q, d2, x, y, xt, yt):
        return d2, jnp.where(d2, jnp.full((2,), jnp.nan, jnp.float32), accs(q, x, y, xt, yt))

    def end_of_phase2(out, carry, x, y, xt, yt):
        out["snap_dead"], out["phys"] = over_runs(one_end2, (0, 0, None, None, None, None))(*carry, x, y, xt, yt)
        return out

    if loop == "each":
        return _each_program(steps, final_steps, has_final, start, one, one2, one_end1, one_end2)

    start_s = loop_.stage(start, loop, static_argnums=1)
    end1_s, end2_s = loop_.stage(end_of_phase1, loop), loop_.stage(end_of_phase2, loop)

    def run(etas, budget, params, x, y, xt, yt, idx, eval_now, final_eta):
        time_major = lambda a: jnp.moveaxis(a, 0, 2)  # noqa: E731  (T, s, n, ...) -> (s, n, T, ...)
        carry, (losses, recs) = loop_.iterate(
            phase1, start_s(params, etas.shape[1]), (np.arange(steps, dtype=np.int32), idx[:steps]),
            flags=eval_now[:steps], args=(etas, budget, x, y, xt, yt), loop=loop,
        )
        out, copies = end1_s(carry, time_major(losses), time_major(recs), budget, x, y, xt, yt, idx[steps])
        if has_final:
            copies, _ = loop_.iterate(phase2, copies, idx[steps + 1 : steps + 1 + final_steps], args=(final_eta, x, y), loop=loop)
        return end2_s(out, copies, x, y, xt, yt)

    return loop_.program(run, loop)


def _each_program(steps, final_steps, has_final, start, one, one2, one_end1, one_end2):
    """The comparison under ``loop="each"`` (convolutional networks on CPU): every (seed, η)
    run stepped on its own by one compiled single-run step (:func:`catapult.loop.iterate`)."""
    start_c = jax.jit(start, static_argnums=1)
    one_c, one2_c = jax.jit(one, static_argnums=3), jax.jit(one2)
    end1, end2 = loop_.each(one_end1, (0, 0, 0, 0) + (None,) * 5, axes=2), loop_.each(one_end2, (0, 0) + (None,) * 4, axes=2)

    def phase1(carry, xs, ev, eta, budget, x, y, xt, yt):
        t, batch = xs
        return one_c(carry, np.int32(t), batch, ev, eta, budget, x, y, xt, yt)

    def phase2(carry, batch, final_eta, x, y):
        return one2_c(*carry, batch, final_eta, x, y), None

    def run(etas, budget, params, x, y, xt, yt, idx, eval_now, final_eta):
        time_major = lambda a: jnp.moveaxis(a, 0, 2)  # noqa: E731  (T, s, n, ...) -> (s, n, T, ...)
        idx = np.asarray(idx)
        carry, (losses, recs) = loop_.iterate(
            phase1, start_c(params, etas.shape[1]), (np.arange(steps, dtype=np.int32), idx[:steps]),
            flags=np.asarray(eval_now[:steps]), args=(etas, budget, x, y, xt, yt), loop="each",
            in_axes=(0, 0, None, None, None, None), run_axes=2,
        )
        out, copies = end1(carry, time_major(losses), time_major(recs), budget, x, y, xt, yt, idx[steps])
        if has_final:
            copies, _ = loop_.iterate(phase2, copies, idx[steps + 1 : steps + 1 + final_steps], args=(final_eta, x, y),
                                      loop="each", in_axes=(None, None, None), run_axes=2)
        out["snap_dead"], out["phys"] = end2(*copies, x, y, xt, yt)
        return out

    return run


def compare(
    apply_fn: ApplyFn,
    params: Any,
    x: Any,
    y: Any,
    x_test: Any,
    y_test: Any,
    etas: Any,
    steps: int,
    *,
    physical_time: float | None = None,
    final_eta: float | None = None,
    final_steps: int = 0,
    batch_size: int | None = None,
    seed: int = 0,
    eval_every: int | None = None,
    weight_decay: float = 0.0,
    loss_cap: float | None = None,
    stop_at_fit: bool = False,
    eval_chunk: int = 1000,
    loop: str = "scan",
    keep_params: bool = False,
) -> Comparison:
    """Train every seed's ``params`` (leaves stacked on axis 0) at every η; both protocols.

    ``etas``: (n,) shared, or (seeds, n), e.g. the same multiples of each seed's own
    η_crit = 2/λ0; ``steps``: protocol (a)'s budget and the length of phase 1;
    ``physical_time`` τ, a number or one per seed (default each seed's min(η)·steps, and it
    must not exceed that); ``final_eta``, ``final_steps``: phase 2
    of protocol (b) (``final_steps=0``: none, (b) is then "equal physical time");
    ``batch_size=None``: full-batch GD, else SGD on epochs permuted by ``seed`` (the batch
    order of :func:`catapult.train.batch_indices`, shared by every run); ``eval_every``:
    spacing of the accuracy records (default: only at the end); ``loop="python"`` runs the
    same vmapped step, compiled once, from a Python loop instead of ``lax.scan`` (XLA:CPU
    runs convolutions inside loop bodies 10-20x slower, jax#12868), and ``loop="each"`` the
    single-run step once per (seed, η) run (vmapped convolutions are grouped ones, several
    times slower on XLA:CPU; use it for CNNs on CPU, :func:`catapult.loop.conv_loop`);
    ``keep_params``: also return protocol (a)'s final parameters (e.g. to count dead ReLU units
    beyond 12/λ0, Fig. S7). See the module docstring.
    """
    leaves = jax.tree_util.tree_leaves(params)
    if not leaves or len({a.shape[0] for a in leaves}) != 1:
        raise ValueError("params must be a pytree whose leaves are stacked over seeds on axis 0 (jax.vmap(init_fn)).")
    n_seeds = leaves[0].shape[0]
    etas = positive_array("etas", etas)
    if etas.ndim == 1:
        etas = np.broadcast_to(etas, (n_seeds, etas.size))
    if etas.ndim != 2 or etas.shape[0] != n_seeds:
        raise ValueError(f"etas must be (n,) or (seeds, n) = ({n_seeds}, n) learning rates, got shape {etas.shape}.")
    steps = positive_int("steps", steps)
    if physical_time is None:
        tau = etas.min(axis=1) * steps
    else:
        tau = positive_array("physical_time", np.broadcast_to(np.asarray(physical_time, float), (n_seeds,)))
    budget = np.maximum(np.rint(tau[:, None] / etas), 1).astype(np.int64)  # at least one step
    if budget.max() > steps:
        raise ValueError(
            f"physical_time = {tau.max():g} needs {budget.max()} steps at the smallest η, more than steps = {steps}; "
            f"pass physical_time <= min(etas)·steps or raise steps."
        )
    final_steps = int(final_steps)
    if final_steps < 0:
        raise ValueError(f"final_steps must be >= 0, got {final_steps}.")
    if final_steps and final_eta is None:
        raise ValueError("final_steps > 0 needs final_eta, the small learning rate of phase 2 of protocol (b).")
    final_eta = 0.0 if final_eta is None else positive_float("final_eta", final_eta)
    if not (isinstance(weight_decay, (int, float)) and math.isfinite(weight_decay) and weight_decay >= 0):
        raise ValueError(f"weight_decay must be a finite number >= 0, got {weight_decay!r}.")
    cap = math.inf if loss_cap is None else positive_float("loss_cap", loss_cap)
    x, y, x_test, y_test = (jnp.asarray(a) for a in (x, y, x_test, y_test))
    if x.shape[0] != y.shape[0] or x_test.shape[0] != y_test.shape[0]:
        raise ValueError(f"inputs and targets differ in length: x {x.shape}, y {y.shape}, x_test {x_test.shape}, y_test {y_test.shape}.")
    if x_test.shape[1:] != x.shape[1:]:
        raise ValueError(f"x_test samples {x_test.shape[1:]} differ from x samples {x.shape[1:]}.")
    out = jax.eval_shape(apply_fn, jax.tree_util.tree_map(lambda a: a[0], params), x[:1])
    if out.size != np.prod(y.shape[1:], dtype=int):
        raise ValueError(f"apply_fn gives {out.shape[1:]} outputs per sample but y has {y.shape[1:]}.")
    every = steps if eval_every is None else positive_int("eval_every", eval_every)
    eval_steps = np.unique(np.append(np.arange(0, steps + 1, every), steps))
    eval_now = np.isin(np.arange(steps + 1), eval_steps)
    idx = train.batch_indices(x.shape[0], batch_size, steps + final_steps + 1, seed)
    program = _program(
        apply_fn, steps, final_steps, bool(final_steps), float(weight_decay), cap, bool(stop_at_fit), int(eval_chunk),
        one_of("loop", loop, loop_.LOOPS), bool(keep_params),
    )
    dtype = leaves[0].dtype
    res = jax.device_get(
        program(
            jnp.asarray(etas, dtype), jnp.asarray(budget, jnp.int32), params, x, y, x_test, y_test,
            jnp.asarray(idx), jnp.asarray(eval_now), jnp.asarray(final_eta, dtype),
        )
    )
    recs = np.asarray(res["recs"])[:, :, eval_steps]  # (s, n, E, 2)
    phys = np.asarray(res["phys"])
    return Comparison(
        etas=etas,
        steps=steps,
        physical_time=tau,
        budget_steps=budget,
        final_eta=final_eta,
        final_steps=final_steps,
        loss=np.asarray(res["loss"]),
        eval_steps=eval_steps,
        train_acc_t=recs[..., 0],
        test_acc_t=recs[..., 1],
        divergent=np.asarray(res["dead"]).astype(bool),
        fixed_train_acc=recs[:, :, -1, 0],
        fixed_test_acc=recs[:, :, -1, 1],
        budget_divergent=np.asarray(res["snap_dead"]).astype(bool),
        budget_test_acc=np.asarray(res["budget_test"]),
        phys_train_acc=phys[..., 0],
        phys_test_acc=phys[..., 1],
        fit_step=np.asarray(res["fit_at"]).astype(np.int64),
        fixed_params=res.get("params"),
    )


def init_seeds(init_fn: Callable, input_shape: tuple, seeds: int, seed: int = 0) -> Any:
    """Parameters of ``seeds`` independent initializations, leaves stacked on axis 0."""
    seeds = positive_int("seeds", seeds)
    keys = jax.random.split(jax.random.PRNGKey(int(seed)), seeds)
    return jax.vmap(lambda k: init_fn(k, input_shape)[1])(keys)


# Statistics over seeds (the best η, divergent runs at chance, above vs below η_crit) live in
# catapult.stats, shared with chapter 6; the names stay importable from here.
from .stats import above_vs_below, at_chance, best  # noqa: E402, F401

__all__ = [
    "ApplyFn",
    "Comparison",
    "compare",
    "init_seeds",
    "lambda0_per_seed",
]


def lambda0_per_seed(apply_fn: Callable, params: Any, x: Any) -> np.ndarray:
    """λ0 (matrix-free, :func:`catapult.ntk.top_eigenvalue`) of every seed's initialization
    (leaves stacked on axis 0, as from :func:`init_seeds`) on the fixed batch ``x`` (App. A)."""
    from . import ntk

    n = jax.tree_util.tree_leaves(params)[0].shape[0]
    return np.array([ntk.top_eigenvalue(apply_fn, jax.tree_util.tree_map(lambda a: a[i], params), x) for i in range(n)])
