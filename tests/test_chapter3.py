"""Chapter 3 (linearization): its claims on hand-built records, each failing alone when its
measured value crosses its bound, and its measurement functions on small synthetic inputs."""

from types import SimpleNamespace

import numpy as np
import pytest

from catapult.chapters import linearization as ch3
from catapult.scales import settings

IDS = [
    "function_space_exact", "lin0_diverges_above_crit", "network_trains_in_catapult", "lin0_tracks_lazy",
    "lin10_tracks_catapult", "lin10_stable", "kernel_change_falls_with_width", "relu_trains_beyond_4",
]


def records() -> dict:
    return dict(
        cfg=settings("03_linearization", "smoke"),
        check=ch3.FunctionSpaceCheck(check_dev=6e-7, check_dev_train=6e-7, check_dev_test=2e-7),
        models=ch3.ThreeModels(gap_lazy=0.5, gap_catapult=1.2, max_lam10=1.7, max_trainable=16.0, collapse_c=48.0,
                               best_c=3.0, best_acc=0.9, lin0_best_acc=0.85),
        out=ch3.Outcomes(lin0_diverges_iff_above_crit=np.ones(9, bool), trains_in_catapult=np.ones(3, bool),
                         kernel_change_falls=np.ones(2, bool)),
    )


def _no(n: int, at: int = 0) -> np.ndarray:
    """n passing cases but the one at ``at``."""
    passed = np.ones(n, bool)
    passed[at] = False
    return passed


#: (claim id, record, changes): the record's fields that push that claim past its bound.
BEYOND = [
    ("function_space_exact", "check", dict(check_dev=2e-3)),
    ("lin0_diverges_above_crit", "out", dict(lin0_diverges_iff_above_crit=_no(9, 4))),
    ("network_trains_in_catapult", "out", dict(trains_in_catapult=_no(3))),
    ("lin0_tracks_lazy", "models", dict(gap_lazy=2.5)),
    ("lin10_tracks_catapult", "models", dict(gap_catapult=2.1)),
    ("lin10_stable", "models", dict(max_lam10=2.2)),
    ("kernel_change_falls_with_width", "out", dict(kernel_change_falls=_no(2, 1))),
    ("relu_trains_beyond_4", "models", dict(max_trainable=3.6)),
]


def test_claims_have_the_chapters_ids_and_hold_on_good_records():
    checks = ch3.claims(**records())
    assert [c.id for c in checks] == IDS
    assert [c.id for c in checks if not c.holds] == []
    assert all(c.statement and c.source for c in checks)


def test_every_claim_has_a_case_beyond_its_bound():
    assert sorted(i for i, _, _ in BEYOND) == sorted(IDS)


@pytest.mark.parametrize("claim_id, name, changes", BEYOND, ids=[i for i, _, _ in BEYOND])
def test_a_claim_fails_alone_beyond_its_bound(claim_id, name, changes):
    inputs = records()
    inputs[name] = inputs[name]._replace(**changes) if isinstance(changes, dict) else changes
    failing = [c for c in ch3.claims(**inputs) if not c.holds]
    assert [c.id for c in failing] == [claim_id]


# ------------------------------------------------------------------ chapter 3's measurements


def test_three_models_and_outcomes():
    cs = np.array([1.0, 1.5, 2.5, 3.5, 8.0, 48.0])
    etas = cs / 2.0
    net = SimpleNamespace(test_accuracy=np.array([0.80, 0.82, 0.85, 0.86, 0.84, 0.1]),
                          train_accuracy=np.array([0.95, 0.96, 0.97, 0.98, 0.95, 0.1]),
                          divergent=np.array([False] * 5 + [True]))
    lin0 = SimpleNamespace(test_accuracy=np.array([0.81, 0.80, np.nan, np.nan, np.nan, np.nan]),
                           divergent=cs > 2)
    lin10 = SimpleNamespace(test_accuracy=np.array([0.8, 0.8, 0.86, 0.85, 0.7, np.nan]),
                            lam=np.array([2.0, 2.0, 1.2, 0.9, 0.5, np.nan]))
    m = ch3.three_models(cs, etas, net, lin0, lin10, chance=0.1)
    assert m.gap_lazy == pytest.approx(2.0) and m.gap_catapult == pytest.approx(1.0)
    assert m.max_lam10 == pytest.approx(1.75 * 0.9) and m.max_trainable == 8.0 and m.collapse_c == 48.0
    assert (m.best_c, m.best_acc, m.lin0_best_acc) == (3.5, 0.86, 0.81)
    out = ch3.outcomes(cs, net, lin0, np.array([1e-2, 5e-3, 6e-3]))
    assert out.lin0_diverges_iff_above_crit.all() and out.trains_in_catapult.tolist() == [True, True]
    assert out.kernel_change_falls.tolist() == [True, False]


def test_function_space_check_and_kernel_velocity():
    a = SimpleNamespace(loss=np.array([[1.0, 0.5]]), test_loss=np.array([2.0]))
    b = SimpleNamespace(loss=np.array([[1.0, 0.5 * (1 + 1e-6)]]), test_loss=np.array([2.0 * (1 + 1e-5)]))
    c = ch3.function_space_check(a, b)
    assert c.check_dev == c.check_dev_test == pytest.approx(1e-5, rel=1e-3) and c.check_dev_train < c.check_dev
    widths = np.array([128, 512, 2048])
    v = ch3.kernel_velocity(widths, widths ** -0.5, widths ** -0.25)
    assert (v.velocity_slope, v.velocity_lazy_slope, v.velocity_ratio) == (
        pytest.approx(-0.5), pytest.approx(-0.25), pytest.approx(4.0))
    assert ch3.curvature(4.0) == ch3.Curvature(lam0=4.0, eta_crit=0.5)
