"""Tests of catapult.relu_toy and catapult.chapters.relu_toy (App. C.1 / Fig. S7) on small inputs."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from catapult import relu_toy as rt
from catapult import settings
from catapult.chapters import relu_toy as ch
from catapult.scales import WarmupS7


@pytest.fixture(scope="module")
def params() -> rt.Params:
    return rt.init_params(jax.random.PRNGKey(3), 16)


@pytest.mark.parametrize("activation", rt.ACTIVATIONS)
def test_forward_matches_definition(params, activation):
    s = jax.nn.relu if activation == "relu" else (lambda z: z)
    n = params.u.shape[0]
    expected = params.v @ s(params.w @ s(params.u * 1.0) / np.sqrt(n)) / np.sqrt(n)
    assert float(rt.forward(params, 1.0, activation)) == pytest.approx(float(expected), rel=1e-5)


@pytest.mark.parametrize("activation", rt.ACTIVATIONS)
def test_gd_step_matches_jax_grad(params, activation):
    eta = 0.7
    new = rt.gd_step(params, eta, 1.0, 1.0, activation)
    g = jax.grad(lambda p: rt.loss(p, 1.0, 1.0, activation))(params)
    for a, b, d in zip(new, params, g):
        np.testing.assert_allclose(a, b - eta * d, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("activation", rt.ACTIVATIONS)
def test_ntk_is_squared_gradient_norm(params, activation):
    g = jax.grad(lambda p: rt.forward(p, 1.0, activation))(params)
    expected = sum(float(jnp.sum(x**2)) for x in g)
    assert float(rt.ntk(params, 1.0, activation)) == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize("activation", rt.ACTIVATIONS)
def test_initial_ntk_matches_ntk(activation):
    p = rt.draw_params(5, 12, 3)
    got = rt.initial_ntk(p, activation)
    want = [float(rt.ntk(rt.Params(*(a[i] for a in p)), 1.0, activation)) for i in range(3)]
    np.testing.assert_allclose(got, want, rtol=1e-4)


def test_lam0_approaches_three_quarters():
    lam = [float(rt.ntk(rt.init_params(jax.random.PRNGKey(k), 1024))) for k in range(4)]
    assert np.median(lam) == pytest.approx(0.75, rel=0.15)


def test_bad_input_raises(params):
    with pytest.raises(ValueError, match="activation"):
        rt.forward(params, 1.0, "tanh")
    with pytest.raises(ValueError, match="width"):
        rt.init_params(jax.random.PRNGKey(0), 0)
    with pytest.raises(ValueError, match="cs"):
        rt.sweep(0, 8, [1.0, -2.0], 1, 5)
    with pytest.raises(ValueError, match="steps"):
        rt.sweep(0, 8, [1.0], 1, 0)
    with pytest.raises(ValueError, match="n_seeds"):
        rt.sweep(0, 8, [1.0], 0, 5)
    with pytest.raises(ValueError, match="seed"):
        rt.draw_params(-1, 8, 1)
    with pytest.raises(ValueError, match="increasing"):
        rt.largest_trainable([2.0, 1.0], [[0, 0]])
    with pytest.raises(ValueError, match="width"):
        WarmupS7(width=1.5, seeds=3, cs=(1.0,), steps=10)


@pytest.fixture(scope="module")
def small_sweeps():
    cfg = WarmupS7(width=32, seeds=3, cs=(1.0, 3.0, 6.0, 40.0), steps=150)
    return cfg, ch.run_sweeps(cfg)


def test_sweep_outcomes_and_divergence_recorded(small_sweeps):
    cfg, (relu, lin) = small_sweeps
    assert relu.f.shape == (3, 4, 151) and relu.outcome.shape == (3, 4)
    assert (relu.outcome[:, 0] == rt.TRAINED).all() and (lin.outcome[:, 0] == rt.TRAINED).all()
    assert (lin.outcome[:, -1] == rt.DIVERGED).all()  # recorded, not raised
    assert (relu.outcome[:, -1] == rt.TRIVIAL).all() and (relu.f[:, -1, -1] == 0).all()
    np.testing.assert_allclose(relu.etas, np.asarray(cfg.cs)[None, :] / relu.lam0[:, None], rtol=1e-6)
    # a run shorter than t·η = 100 has no λ reading (NaN), not an error
    one = rt.sweep(0, 32, [1.0], 1, 1)
    assert np.isfinite(one.f).all() and np.isnan(one.lam_at).all()


def test_sweep_step_is_gd_step():
    s = rt.sweep(1, 16, [2.5], 1, 3)
    p = rt.Params(*(a[0] for a in rt.draw_params(1, 16, 1)))
    assert float(rt.ntk(p)) == pytest.approx(float(s.lam0[0]), rel=1e-5)
    for t in range(3):
        assert float(rt.forward(p)) == pytest.approx(float(s.f[0, 0, t]), rel=1e-4, abs=1e-5)
        p = rt.gd_step(p, float(s.etas[0, 0]))


def test_largest_trainable():
    cs = [1.0, 2.0, 3.0, 4.0]
    out = np.array([[0, 0, 1, 0], [1, 0, 0, 0], [0, 0, 0, 0]])
    np.testing.assert_array_equal(rt.largest_trainable(cs, out), [2.0, 0.0, 4.0])


def test_settings_live_with_chapter_1s_and_shift_with_its_seed():
    cfg = settings("01_warmup_model", "ci")
    assert cfg.shift_seeds(3).s7.seed == cfg.s7.seed + 3
    assert settings("01_warmup_model", "smoke").s7.width == 128 and cfg.s7.seeds >= 8


GOOD = ch.S7Record(
    s7_width=128, s7_seeds=8, s7_lam0_draws=64, s7_lam0=0.76, s7_lam0_linear=3.0, s7_lazy_ratio=0.9,
    s7_catapult_ratio=0.5, s7_catapult_ok=1.0, s7_cmax=7.0, s7_cmax_lo=5.0, s7_cmax_hi=9.0, s7_cmax_linear=3.9,
    s7_linear_diverged=1.0, s7_beyond_ratio=0.2, s7_dead_lazy=0.5, s7_dead_beyond=0.9, s7_dead_rise=0.4,
    s7_dead2_beyond=0.7, s7_trivial=1.0, s7_trivial_f=0.0, s7_relu_diverged=0.0, s7_linear_trivial=0.0,
)

GOOD_TH = ch.S7Thresholds(relu=np.array([6.0, 7.0, 8.0, 9.0, 6.0, 7.0, 7.0, 8.0] * 4),
                          linear=np.array([4.1, 4.3, 4.3, 4.5, 4.1, 4.3, 4.7, 4.3] * 4),
                          relu_jump=np.array([0.2, 0.3, 0.25, 0.35] * 8), linear_jump=np.array([0.01, -0.01] * 16))

# each claim, and a value of its measured field pushed past its bound (the failing outcome named)
PUSHED = {
    "s7_lam0": {"s7_lam0": 3.0},  # the linear model's λ0 (or a missing 1/√n factor)
    "s7_lazy": {"s7_lazy_ratio": 0.5},  # the kernel collapsing below η_crit
    "s7_catapult": {"s7_catapult_ok": 0.5},  # catapult runs diverging or ending with ηλ ≥ 2
    # a linear net training on like ReLU, or one never training (largest trainable 0)
    "s7_linear_eta_max": {"th": GOOD_TH._replace(linear=GOOD_TH.linear + 2.0)},
    "s7_linear_eta_max ": {"th": GOOD_TH._replace(linear=np.zeros(32))},
    # ReLU stopping where the linear net does (or above it at one seed only)
    "s7_relu_beyond_4": {"th": GOOD_TH._replace(relu=GOOD_TH.linear + np.r_[3.0, np.zeros(31)])},
    # no units dying at the threshold (as the linear control), or dying at one seed only
    "s7_units_die_at_threshold": {"th": GOOD_TH._replace(relu_jump=GOOD_TH.linear_jump)},
    "s7_units_die_at_threshold ": {"th": GOOD_TH._replace(relu_jump=np.r_[0.5, np.zeros(31)])},
    "s7_trivial": {"s7_trivial": 0.5},  # failed runs that do not end at f = 0
    "s7_no_divergence": {"s7_relu_diverged": 0.15},  # more ReLU runs diverging than diverged_max (10 %) allows
}


def test_claims_hold_on_good_record():
    cfg = settings("01_warmup_model", "ci").s7
    got = ch.claims(GOOD, cfg, GOOD_TH)
    assert all(c.holds for c in got)
    assert sorted(c.id for c in got) == sorted({k.strip() for k in PUSHED})
    beyond = {c.id: c for c in got}["s7_relu_beyond_4"]
    assert beyond.n == 32 and beyond.chance < 1e-3 and beyond.control


@pytest.mark.parametrize("case", sorted(PUSHED))
def test_each_claim_fails_alone(case):
    cfg = settings("01_warmup_model", "ci").s7
    change = dict(PUSHED[case])
    th = change.pop("th", GOOD_TH)
    got = {c.id: c.holds for c in ch.claims(GOOD._replace(**change), cfg, th)}
    assert not got[case.strip()]
    assert all(v for k, v in got.items() if k != case.strip())


def test_thresholds_per_seed(small_sweeps):
    _, (relu, lin) = small_sweeps
    th = ch.thresholds(relu, lin)
    assert th.relu.shape == th.linear.shape == th.relu_jump.shape == th.linear_jump.shape == (relu.outcome.shape[0],)
    np.testing.assert_array_equal(th.linear, rt.largest_trainable(lin.cs, lin.outcome))


def test_dead_jump_is_the_run_at_the_threshold_against_the_seeds_catapult_runs():
    cs = np.array([1.0, 3.0, 3.5, 6.0, 8.0])
    outcome = np.array([[rt.TRAINED] * 4 + [rt.TRIVIAL], [rt.TRAINED] * 3 + [rt.TRIVIAL] * 2])
    dead = np.zeros((2, 5, 2))
    dead[:, :, -1] = [[0.5, 0.6, 0.7, 0.9, 1.0], [0.5, 0.6, 0.6, 1.0, 1.0]]
    sweep = rt.Sweep(cs, None, None, None, None, dead, dead, outcome, 100.0, None)
    jump = ch.dead_jump(sweep)
    assert jump[0] == pytest.approx(0.9 - 0.65) and np.isnan(jump[1])  # seed 1 stops below 4: no value


def test_measure_on_small_sweeps(small_sweeps):
    cfg, (relu, lin) = small_sweeps
    cfg = WarmupS7(width=32, seeds=3, cs=(1.0, 3.0, 6.0, 40.0), steps=150, beyond_bound=40.0)
    rec = ch.measure(cfg, relu, lin)
    assert 0.5 <= rec.s7_trivial <= 1 and rec.s7_trivial_f == 0.0 and rec.s7_linear_trivial == 0.0
    assert rec.s7_linear_diverged == 1.0 and rec.s7_relu_diverged == 0.0
    assert rec.s7_lam0 == pytest.approx(0.75, rel=0.3) and rec.s7_lam0_linear == pytest.approx(3.0, rel=0.3)
    assert 0 <= rec.s7_dead_lazy <= 1
    with pytest.raises(ValueError, match="grid"):
        ch.measure(cfg, relu, relu._replace(cs=relu.cs[:2]))


def _widths(relu_rise: float, linear_rise: float, seeds: int = 12) -> ch.S7Widths:
    rng = np.random.default_rng(0)
    base = 4.0 + 0.3 * rng.standard_normal((2, seeds))
    return ch.S7Widths(widths=np.array([32, 256]), relu=np.stack([base[0], base[0] + relu_rise + base[1] - 4]),
                       linear=np.stack([np.full(seeds, 4.3), np.full(seeds, 4.3 + linear_rise)]))


def test_threshold_rise_claim_holds_for_relu_and_fails_for_its_linear_control():
    cfg = settings("01_warmup_model", "ci").s7
    by = lambda w: {c.id: c for c in ch.claims(GOOD, cfg, GOOD_TH, w)}["s7_threshold_rises_with_width"]  # noqa: E731
    rising = by(_widths(3.0, 0.0))
    assert rising.holds and rising.n == 12 and rising.control and rising.chance < 1e-3
    assert not by(_widths(0.0, 0.0)).holds, "a threshold that does not move with width fails"
    assert not by(_widths(3.0, 3.0)).holds, "a rise the linear control shares is not ReLU's"
    assert "s7_threshold_rises_with_width" not in {c.id for c in ch.claims(GOOD, cfg, GOOD_TH)}


def test_threshold_versus_width_reuses_the_main_width_and_checks_its_widths(small_sweeps):
    cfg, (relu, lin) = small_sweeps
    th = ch.thresholds(relu, lin)
    by = ch.threshold_versus_width(cfg.replace(widths=(16, 32)), th)
    assert by.relu.shape == by.linear.shape == (2, 3)
    np.testing.assert_array_equal(by.relu[1], th.relu)  # width 32 is the sweep already run
    assert ch.widths_readout(by).s7_widths == "16, 32"
    with pytest.raises(ValueError, match="increasing"):
        ch.threshold_versus_width(cfg.replace(widths=(32,)), th)


def test_every_claim_carries_its_chance_from_the_sweeps_own_seeds():
    cfg = settings("01_warmup_model", "smoke").s7.replace(widths=())
    relu, linear = ch.run_sweeps(cfg)
    rec = ch.measure(cfg, relu, linear)
    th = ch.thresholds(relu, linear)
    out = ch.claims(rec, cfg, th, relu=relu)
    assert all(c.chance is not None and c.control for c in out), [(c.id, c.chance) for c in out]
    assert {c.id for c in out} >= {"s7_lam0", "s7_lazy", "s7_catapult", "s7_trivial", "s7_no_divergence"}
