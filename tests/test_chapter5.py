"""Chapter 5's measurement records and claims (catapult.chapters.generalization): the claims give the
chapter's ids and hold on good records, each fails alone beyond its bound (claim_cases); the summaries,
band comparisons and readouts compute what the prose quotes, and every name a glue record carries is
one the chapter's prose uses."""

import dataclasses
from pathlib import Path

import numpy as np
import pytest
from claim_cases import claim_tests, prose_names, record

from catapult import protocols, settings, stats
from catapult.chapters import generalization as ch5

CHAPTER = "05_generalization"
ROOT = Path(__file__).resolve().parent.parent

IDS = [
    "fig4_catapult_band_beats_lazy", "fig4_collapse_beyond_max_rate", "dead_units_beyond_max_rate",
    "fig5_cnn_fixed_step_band_beats_lazy", "fig5_cnn_physical_time_band_matches_lazy", "fig5_collapse_beyond_max_rate",
]






def summary(band=(0.05, 0.01, 12), phys=(0.04, 0.01, 12), collapsed=(True, True, True, True), at=8.0):
    best = ch5.Best(2.0, 0.9, 0.01)
    return ch5.Summary(fixed=best, phys=best, fixed_band=ch5.Band(*band), target_band=ch5.Band(*band),
                       phys_band=ch5.Band(*phys),
                       collapsed=np.array(collapsed), collapse_rel=at)


def records() -> dict:
    return dict(
        cfg=settings(CHAPTER, "smoke"),
        fc=summary(),
        dead=ch5.DeadUnits(beyond=np.array([0.9, 0.8, 0.95, 0.9]), catapult=np.array([0.4, 0.5, 0.4, 0.4]),
                           lazy=np.zeros(4), beyond_rel=8.0, catapult_rel=5.0, lazy_rel=0.8),
        cnn=summary(at=11.0),
    )


def claims(cfg, fc, dead, cnn):
    """The chapter's claims with the CNN as the one CIFAR-10 model (ci's models)."""
    return ch5.claims(cfg, fc, dead, {"cnn": cnn})


#: (claim id, record, changes): each the outcome the paper forbids: the lazy band as good as the
#: catapult band (or better, but not at p ≤ 0.01 over the seeds), a run that still learns beyond
#: η_max, units alive there.
BEYOND = [
    ("fig4_catapult_band_beats_lazy", "fc", dict(target_band=ch5.Band(0.05, 0.03, 4))),
    ("fig4_catapult_band_beats_lazy", "fc", dict(target_band=ch5.Band(-0.05, 0.01, 4))),
    ("fig4_catapult_band_beats_lazy", "fc", dict(target_band=ch5.Band(float("nan"), float("nan"), 4))),
    ("fig5_cnn_fixed_step_band_beats_lazy", "cnn", dict(fixed_band=ch5.Band(0.01, 0.01, 4))),
    ("fig5_cnn_fixed_step_band_beats_lazy", "cnn", dict(fixed_band=ch5.Band(0.04, 0.01, 4))),  # 4 SE, 3 df: p > 0.01
    ("fig5_cnn_physical_time_band_matches_lazy", "cnn", dict(phys_band=ch5.Band(-0.03, 0.004, 12))),  # 3 points worse: not flat
    ("fig4_collapse_beyond_max_rate", "fc", dict(collapsed=np.array([True, False, True, True]))),
    ("fig5_collapse_beyond_max_rate", "cnn", dict(collapsed=np.array([False, True, True, True]))),
    ("dead_units_beyond_max_rate", "dead", dict(beyond=np.array([0.2, 0.3, 0.2, 0.2]))),
    ("dead_units_beyond_max_rate", "dead", dict(lazy=np.full(4, 0.7))),
    ("dead_units_beyond_max_rate", "dead", dict(beyond=np.array([0.9, 0.1, 0.95, 0.2]))),  # above 0.3 on average only
]

(
    test_claims_have_the_chapters_ids_and_hold_on_good_records,
    test_every_claim_has_a_case_beyond_its_bound,
    test_a_claim_fails_alone_beyond_its_bound,
) = claim_tests(claims, records, IDS, BEYOND)


def test_statement_names_the_collapse_rates():
    checks = claims(**records())
    assert "(8 η_crit)" in checks[1].statement and "(11 η_crit)" in checks[5].statement


def test_band_difference_is_paired_over_seeds():
    rel = np.array([0.35, 0.7, 1.4, 2.8, 5.6, 11.0])
    acc = np.array([[0.40, 0.42, 0.45, 0.47, np.nan, 0.1],
                    [0.38, 0.40, 0.44, 0.46, 0.40, 0.1],
                    [0.41, 0.43, 0.46, 0.48, 0.42, 0.1]])
    diff, err, n = stats.band_difference(rel, acc, 0.1, (1.01, 6.0), (0.0, 0.99))
    per_seed = np.array([(0.45 + 0.47 + 0.1) / 3 - 0.41, (0.44 + 0.46 + 0.40) / 3 - 0.39, (0.46 + 0.48 + 0.42) / 3 - 0.42])
    assert n == 3 and diff == pytest.approx(per_seed.mean()) and err == pytest.approx(per_seed.std(ddof=1) / np.sqrt(3))
    with pytest.raises(ValueError, match="band"):
        stats.band_difference(rel, acc, 0.1, (20.0, 30.0), (0.0, 0.99))
    b = ch5.band(settings(CHAPTER, "smoke"), rel, acc)
    assert b.diff == pytest.approx(diff) and "SE, 3 seeds" in b.text()


def test_summary_of_a_comparison_tests_collapse_at_the_first_rate_beyond_max():
    cfg = dataclasses.replace(settings(CHAPTER, "smoke"), fit_target=1.0)
    rel = np.array([0.5, 2.0, 8.0, 32.0])
    fixed = np.array([[0.5, 0.8, 0.12, 0.5], [0.6, 0.9, np.nan, 0.5]])  # seed 1 diverged at 8 η_crit
    train_t = np.array([[[0.5, 0.9, 1.0], [0.8, 1.0, 1.0], [0.2, 0.2, 0.2], [0.3, 0.3, 0.3]]] * 2)  # (s, n, E)
    test_t = np.array([[[0.4, 0.5, 0.6], [0.7, 0.75, 0.8], [0.1, 0.1, 0.1], [0.2, 0.2, 0.2]]] * 2)
    run = record(protocols.Comparison, fixed_test_acc=fixed, phys_test_acc=np.array([[0.5, 0.7, 0.1, 0.1]] * 2),
                 divergent=np.array([[False, False, False, False], [False, False, True, False]]),
                 fit_step=np.array([[3, 5, -1, -1]] * 2), train_acc_t=train_t, test_acc_t=test_t,
                 eval_steps=np.array([0, 2, 4]))
    s = ch5.summary(cfg, rel, run)
    assert s.fixed.rel == 2.0 and s.fixed.mean == pytest.approx(0.85) and s.collapse_rel == 8.0
    assert s.collapsed.tolist() == [True, True]
    assert s.fixed_band.diff == pytest.approx(0.3) and s.phys_band.diff == pytest.approx(0.2)
    acc, step = ch5.at_train_accuracy(run, 0.9)
    assert acc[0].tolist()[:2] == [0.5, 0.75] and np.isnan(acc[0, 2]) and step[0].tolist() == [2, 2, -1, -1]
    assert s.target_band.diff == pytest.approx(0.15)  # at training accuracy 1: 0.75 at 2 η_crit, 0.6 at 0.5
    dead = ch5.DeadUnits(beyond=np.array([0.9, 0.8]), catapult=np.array([0.1, 0.1]), lazy=np.zeros(2), beyond_rel=8.0,
                         catapult_rel=2.0, lazy_rel=0.5)
    r = ch5.fc_readout(cfg, np.array([4.0, 4.0]), rel, run, s, dead)
    assert r.fc_fixed_best == 2.0 and r.fc_fitted == "4 of 8" and r.fc_band_fitted == "4 of 4"
    assert r.fc_lazy_fixed == pytest.approx(0.55) and r.fc_eta_crit == pytest.approx(0.5) and r.fc_lam0 == "4 ± 0"
    assert r.fc_dead_beyond == "85 %" and r.fc_slowest_fit == 5


def test_dead_units_counts_the_trained_first_layer():
    import jax.numpy as jnp

    cfg = settings(CHAPTER, "smoke")
    rel = np.array([0.5, 2.0, 8.0])
    w = np.ones((2, 3, 4, 5), np.float32)  # (seeds, rates, inputs, units)
    w[:, 2, :, :4] = -1.0  # at 8 η_crit four of five units are dead on positive inputs
    params = [(jnp.asarray(w), None), (), (jnp.zeros((2, 3, 5, 10)), None)]
    run = record(protocols.Comparison, fixed_test_acc=np.zeros((2, 3)), fixed_params=params)
    d = ch5.dead_units(cfg, rel, run, np.ones((6, 4), np.float32))
    assert d.lazy.tolist() == [0.0, 0.0] and d.beyond == pytest.approx([0.8, 0.8]) and d.catapult.tolist() == [0.0, 0.0] and d.catapult_rel == 2.0
    with pytest.raises(ValueError, match="keep_params"):
        ch5.dead_units(cfg, rel, run._replace(fixed_params=None), np.ones((6, 4)))


# ------------------------------------------------------------------ glue records and prose

#: The chapter's glue records: every name they carry is one the prose uses.
GLUE_RECORDS = [ch5.FCReadout, ch5.CNNReadout, ch5.PaperCost]

#: Glued by the chapter, though its prose does not (yet) quote them.
UNQUOTED: set[str] = set()


@pytest.mark.parametrize("cls", GLUE_RECORDS, ids=lambda c: c.__name__)
def test_glue_records_carry_names_the_prose_uses(cls):
    used = prose_names(CHAPTER) | UNQUOTED
    unused = sorted(set(cls._fields) - set(used))
    assert not unused, f"{cls.__name__} glues names {CHAPTER}'s prose never uses: {unused}"


def test_compare_keeps_protocol_a_parameters_for_the_dead_units():
    from catapult import models

    init_fn, apply_fn, _ = models.fully_connected(8, 1, 3)
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(16, 5)).astype(np.float32), np.eye(3, dtype=np.float32)[rng.integers(0, 3, 16)]
    params = protocols.init_seeds(init_fn, (-1, 5), 2)
    run = protocols.compare(apply_fn, params, x, y, x, y, np.array([0.1, 0.2]), 3, keep_params=True)
    assert run.fixed_params[0][0].shape == (2, 2, 5, 8)
    assert protocols.compare(apply_fn, params, x, y, x, y, np.array([0.1, 0.2]), 3).fixed_params is None
