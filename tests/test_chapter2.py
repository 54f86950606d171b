"""Chapter 2 (full model): its claims on hand-built records, each failing alone when its
measured value crosses its bound, and its measurement functions on small synthetic inputs."""


import numpy as np
import pytest

from catapult import full_model
from catapult.chapters import full_model as ch2
from catapult.scales import settings

IDS = [
    "equations_exact", "lazy_kernel_constant", "catapult_converges", "catapult_flat", "catapult_aligns",
    "aligns_before_flattening", "no_divergence_below_4", "eta_max", "relu_lambda0_infinite_width",
    "relu_lambda0_converges",
]


def records() -> dict:
    return dict(
        cfg=settings("02_full_model", "smoke"),
        exact=ch2.EquationsExact(worst_residual=1e-12),
        align=ch2.Alignment(peak_align=0.99, t_aligned=(5, 7), t_flat=(9, 10)),
        sweep=ch2.SweepChecks(lazy_shift=3.0, catapult_converged=np.ones((3, 4, 2), bool),
                              catapult_final_curvature=1.9, stable_below_4=np.ones(20, bool),
                              worst_first_divergent=4.2),
        relu=ch2.ReluLambda0(relu_rel_err=0.02, relu_rel_err_small=0.1, relu_lam_inf=1.6),
    )


def _no(n: int, at: int = 0) -> np.ndarray:
    """n passing cases but the one at ``at``."""
    passed = np.ones(n, bool)
    passed[at] = False
    return passed


#: (claim id, record, changes): the record's fields that push that claim past its bound.
BEYOND = [
    ("equations_exact", "exact", dict(worst_residual=1e-4)),
    ("lazy_kernel_constant", "sweep", dict(lazy_shift=10.5)),
    ("catapult_converges", "sweep", dict(catapult_converged=_no(24).reshape(3, 4, 2))),
    ("catapult_flat", "sweep", dict(catapult_final_curvature=2.05)),
    ("catapult_aligns", "align", dict(peak_align=0.85)),
    ("aligns_before_flattening", "align", dict(t_aligned=(5, 12))),
    ("no_divergence_below_4", "sweep", dict(stable_below_4=_no(20, 7))),
    ("eta_max", "sweep", dict(worst_first_divergent=4.5)),
    ("relu_lambda0_infinite_width", "relu", dict(relu_rel_err=0.06)),
    ("relu_lambda0_converges", "relu", dict(relu_rel_err_small=0.01)),
]


def test_claims_have_the_chapters_ids_and_hold_on_good_records():
    checks = ch2.claims(**records())
    assert [c.id for c in checks] == IDS
    assert [c.id for c in checks if not c.holds] == []
    assert all(c.statement and c.source for c in checks)


def test_every_claim_has_a_case_beyond_its_bound():
    assert sorted(i for i, _, _ in BEYOND) == sorted(IDS)


@pytest.mark.parametrize("claim_id, name, changes", BEYOND, ids=[i for i, _, _ in BEYOND])
def test_a_claim_fails_alone_beyond_its_bound(claim_id, name, changes):
    inputs = records()
    inputs[name] = inputs[name]._replace(**changes) if isinstance(changes, dict) else changes
    failing = [c for c in ch2.claims(**inputs) if not c.holds]
    assert [c.id for c in failing] == [claim_id]


# ------------------------------------------------------------------ chapter 2's measurements


def test_alignment_of_the_catapult_runs():
    names = ch2.phase_names([1.0, 2.5, 3.5, 4.6])
    assert names == ["lazy", "catapult", "catapult", "divergent"]
    align = np.array([[0.1, 0.95, 0.9, 0.9], [0.1, 0.5, 0.95, 1.0], [0.2, 0.97, 0.99, 0.99], [0.1, 0.2, np.nan, np.nan]])
    lam = np.array([[2.0, 2.0, 2.0, 2.0], [2.0, 2.0, 2.0, 0.5], [2.0, 2.0, 0.4, 0.4], [2.0, 3.0, np.nan, np.nan]])
    a = ch2.alignment(names, np.array([0.5, 1.25, 1.75, 2.3]), lam, align)
    assert a == ch2.Alignment(peak_align=0.99, t_aligned=(2, 1), t_flat=(3, 2))


def test_sweep_checks_on_a_small_sweep():
    cs, widths = np.array([1.0, 2.5, 3.0, 4.5]), np.array([100.0, 1000.0])
    shape = (2, 4, 2)  # widths × cs × seeds
    lam0 = np.full(shape, 2.0)
    eta = cs[None, :, None] / lam0
    lam_final = lam0.copy()
    lam_final[:, 0] -= 1e-3  # lazy: λ moves by 1e-3 (n·shift = 0.1 and 1)
    lam_final[:, 1:3] = 0.6  # catapult: η·λ_final = 0.75, 0.9
    lam_final[:, 3] = np.nan  # diverged
    lam = np.stack([lam0, lam_final], axis=-1)
    loss = np.stack([np.ones(shape), np.where(np.isnan(lam_final), np.nan, 1e-8)], axis=-1)
    diverged = np.zeros(shape, bool)
    diverged[:, 3] = True
    sweep = full_model.Sweep(cs, widths, lam0, eta, full_model.Trajectory(loss, lam, np.zeros(shape + (3,)), diverged))
    s = ch2.sweep_checks(sweep, lazy_max_c=1.5, catapult_c_range=(2.2, 3.9), convergence_tol=1e-6)
    assert s.lazy_shift == pytest.approx(1.0)
    assert s.catapult_converged.shape == (2, 2, 2) and s.catapult_converged.all()
    assert s.catapult_final_curvature == pytest.approx(0.9)
    assert s.stable_below_4.size == 2 * 3 * 2 and s.stable_below_4.all()
    assert s.worst_first_divergent == 4.5


def test_relu_lambda0_relative_errors():
    r = ch2.relu_lambda0(2.0, np.array([[2.2, 1.8], [2.02, 1.98]]))
    assert (r.relu_rel_err, r.relu_rel_err_small, r.relu_lam_inf) == (pytest.approx(0.01), pytest.approx(0.1), 2.0)
    assert ch2.equations_exact({"a": np.array([1e-9, 2e-9]), "b": np.array([3e-10])}).worst_residual == 2e-9
