"""catapult.stats: the statistics over seeds of chapters 5 and 6, on small exact examples."""

from __future__ import annotations

import math

import numpy as np
import pytest

from catapult import protocols, sphere, stats


def test_mean_and_error_over_finite_entries():
    m, e = stats.mean_and_error([[1.0, 3.0], [np.nan, 2.0]])  # the finite 1, 3, 2: std 1, three of them
    assert m == 2.0 and e == pytest.approx(1.0 / np.sqrt(3), rel=1e-15)
    assert stats.mean_and_error([4.0, 6.0]) == (5.0, pytest.approx(1.0))  # std (ddof 1) √2, over √2
    assert stats.mean_and_error([5.0])[0] == 5.0 and np.isnan(stats.mean_and_error([5.0])[1])
    assert all(np.isnan(stats.mean_and_error([])))
    assert all(np.isnan(stats.mean_and_error([np.nan, np.inf])))


def test_at_chance_fills_only_non_finite_entries():
    acc = np.array([[0.5, np.nan], [np.inf, 0.25]])
    np.testing.assert_array_equal(stats.at_chance(acc, 0.1), [[0.5, 0.1], [0.1, 0.25]])


def test_best_needs_every_seed():
    acc = np.array([[0.1, 0.5, 0.9], [0.2, 0.7, np.nan]])  # the third η lost a seed: not eligible
    i, mean, spread = stats.best(np.array([1, 2, 3]), acc)
    assert (i, mean, spread) == (1, pytest.approx(0.6), pytest.approx(0.1))
    assert stats.best(np.array([1]), np.array([[np.nan], [0.5]])) == (-1, pytest.approx(math.nan, nan_ok=True),
                                                                      pytest.approx(math.nan, nan_ok=True))


def test_best_of_two_first_index_on_a_tie_and_none_for_an_empty_set():
    mean = np.array([0.3, 0.9, 0.9, 0.5, 0.7])
    assert stats.best_of_two(mean, [True, True, True, False, False], [False, False, False, True, True]) == (1, 4)
    assert stats.best_of_two(mean, [False] * 5, [True] * 5) == (None, 1)


def test_best_inside_vs_outside():
    mean, err = np.array([0.70, 0.82, 0.80, 0.75]), np.array([0.01, 0.02, 0.01, 0.03])
    i_in, i_out, diff, z = stats.best_inside_vs_outside(mean, err, [False, True, True, False])
    assert (i_in, i_out) == (1, 3)
    assert diff == pytest.approx(0.07) and z == pytest.approx(0.07 / np.hypot(0.02, 0.03))
    i_in, i_out, diff, z = stats.best_inside_vs_outside(mean, err, [False] * 4)  # nothing inside: the overall best
    assert i_in == i_out == 1 and np.isnan(diff) and np.isnan(z)
    i_in, i_out, diff, z = stats.best_inside_vs_outside(mean, err, [True, False, True, True])
    assert (i_in, i_out) == (2, 1) and diff == pytest.approx(-0.02) and z == pytest.approx(-0.02 / np.hypot(0.01, 0.02))
    with pytest.raises(ValueError, match="one length"):
        stats.best_inside_vs_outside(mean, err, [True])


def test_above_vs_below_counts_divergence_at_chance_and_needs_both_sides():
    rel = np.array([0.5, 1.0, 2.0, 4.0])  # η = η_crit is on neither side
    acc = np.array([[0.5, 0.95, 0.6, np.nan], [0.5, 0.95, 0.8, np.nan]])
    gap, spread = stats.above_vs_below(rel, acc, 0.1)
    assert gap == pytest.approx(0.2) and spread == pytest.approx(0.1)
    with pytest.raises(ValueError, match="above and below"):
        stats.above_vs_below(np.array([2.0, 3.0]), acc[:, 2:], 0.1)
    with pytest.raises(ValueError, match="above and below"):
        stats.above_vs_below(np.array([0.5, 1.0]), acc[:, :2], 0.1)


def _reference_above_vs_below(rel, acc, chance):
    """The implementation protocols.py had before catapult.stats, term for term."""
    a = np.where(np.isfinite(acc), acc, chance)
    m, s = a.mean(0), a.std(0)
    hi, lo = rel > 1, rel < 1
    i_hi = np.flatnonzero(hi)[np.argmax(m[hi])]
    i_lo = np.flatnonzero(lo)[np.argmax(m[lo])]
    return float(m[i_hi] - m[i_lo]), float(max(s[i_hi], s[i_lo]))


def _reference_inside_vs_outside(m, e, inside):
    """The implementation sphere.py had before catapult.stats (both sides non-empty)."""
    i_in = int(np.flatnonzero(inside)[np.argmax(m[inside])])
    i_out = int(np.flatnonzero(~inside)[np.argmax(m[~inside])])
    diff = float(m[i_in] - m[i_out])
    return i_in, i_out, diff, diff / float(np.hypot(e[i_in], e[i_out]))


def test_the_shared_implementation_gives_the_old_numbers_exactly():
    rng = np.random.default_rng(0)
    for _ in range(50):
        rel = np.sort(rng.choice([0.25, 0.5, 1.0, 2.0, 4.0, 8.0], 5, replace=False))
        if not ((rel > 1).any() and (rel < 1).any()):
            continue
        acc = rng.uniform(0.1, 0.9, (3, rel.size))
        acc[rng.uniform(size=acc.shape) < 0.2] = np.nan
        assert stats.above_vs_below(rel, acc, 0.1) == _reference_above_vs_below(rel, acc, 0.1)
        m, e = rng.uniform(0.5, 0.9, 6), rng.uniform(0.01, 0.05, 6)
        inside = rng.uniform(size=6) < 0.5
        if inside.any() and (~inside).any():
            assert stats.best_inside_vs_outside(m, e, inside) == _reference_inside_vs_outside(m, e, inside)


def test_old_homes_are_aliases():
    assert protocols.best is stats.best
    assert protocols.at_chance is stats.at_chance
    assert protocols.above_vs_below is stats.above_vs_below
    assert sphere.mean_and_error is stats.mean_and_error
    assert sphere.best_inside_vs_outside is stats.best_inside_vs_outside


def test_t_test_one_sided_both_ways():
    from scipy import stats as sps

    v = np.array([1.0, 2.0, 3.0, 4.0])
    tt = stats.t_test(v, 0.0)
    assert tt.n == 4 and tt.mean == 2.5 and tt.se == pytest.approx(np.std(v, ddof=1) / 2)
    ref = sps.ttest_1samp(v, 0.0, alternative="greater")
    assert tt.t == pytest.approx(ref.statistic) and tt.p == pytest.approx(ref.pvalue)
    assert tt.p_opposite == pytest.approx(1 - ref.pvalue)
    less = stats.t_test(v, 5.0, "less")  # below 5: positive t on the predicted side
    assert less.t == pytest.approx(-sps.ttest_1samp(v, 5.0).statistic) and less.p < 0.05
    assert stats.t_test([1.0, np.nan, 3.0], 0.0).n == 2
    assert np.isnan(stats.t_test([2.0, 2.0, 2.0]).t) and np.isnan(stats.t_test([1.0]).p)
    with pytest.raises(ValueError, match="side"):
        stats.t_test(v, 0.0, "two-sided")


def test_rebuild_failure_falls_with_t_and_with_seeds():
    chances = [stats.rebuild_failure(t, 8) for t in (0.0, 3.0, 6.0, 9.0, 12.0)]
    assert all(a > b for a, b in zip(chances, chances[1:]))
    assert chances[0] > 0.99 and chances[-1] < 1e-3
    assert stats.rebuild_failure(9.0, 12) < stats.rebuild_failure(9.0, 8)
    assert stats.rebuild_failure(np.nan, 8) == 1.0 and stats.rebuild_failure(5.0, 1) == 1.0
    assert 0.0 <= stats.rebuild_failure(60.0, 3) < 1e-3  # few degrees of freedom: no NaN from SciPy's nct
    with pytest.raises(ValueError, match="alpha"):
        stats.rebuild_failure(3.0, 8, alpha=0.0)


def test_rebuild_failure_is_conservative_against_the_true_chance():
    """Draws of n = 8 seeds with a true effect of 3 seed spreads: the t test at p ≤ 0.01 fails a
    rebuild with the chance P(T ≤ t_crit) under the noncentral t at 3√8. The estimate from each
    draw's own t, at its 90 % lower bound, lies at or above that true chance in about 90 % of draws."""
    from scipy import stats as sps

    n, effect = 8, 3.0
    true = sps.nct.cdf(sps.t.ppf(0.99, n - 1), n - 1, effect * np.sqrt(n))
    rng = np.random.default_rng(1)
    above = [stats.rebuild_failure(stats.t_test(effect + rng.standard_normal(n)).t, n) >= true for _ in range(300)]
    assert 0.84 <= np.mean(above) <= 0.96


def test_seed_means_average_the_masked_rows_first_then_give_one_value_per_seed():
    values = np.arange(2 * 3 * 2, dtype=float).reshape(2, 3, 2)  # (rows, seeds, trailing)
    np.testing.assert_allclose(stats.seed_means(values, np.array([True, True])), [3.5, 5.5, 7.5])
    np.testing.assert_allclose(stats.seed_means(values, np.array([False, True])), [6.5, 8.5, 10.5])
    assert np.isnan(stats.seed_means(values, np.array([False, False]))).all()


def test_paired_differences_per_seed_count_the_finite_ones():
    d = stats.paired([3.0, 5.0, np.nan, 4.0], [1.0, 2.0, 0.0, 2.0])  # 2, 3, nan, 2
    assert d.n == 3 and d.mean == pytest.approx(7 / 3)
    assert d.z == pytest.approx(d.mean / d.se) and isinstance(d, stats.SeedDiff)


# ------------------------------------------------- chances for claims that are not t tests


def test_draw_failure_is_conservative_for_normal_repeats():
    """Over many builds of 9 normal repeats, the estimated chance that a 10th falls below the bound
    is at least the true chance in nearly 90 % of them (the confidence of the lower bound)."""
    rng = np.random.default_rng(0)
    true = float(stats_sps().norm.sf(3.0))  # the bound 3 sd below the mean
    est = np.array([stats.draw_failure(rng.normal(0.0, 1.0, 9), lo=-3.0) for _ in range(400)])
    assert 0.85 <= np.mean(est >= true) <= 0.95
    # both sides add; many draws must all hold
    v = rng.normal(0.0, 1.0, 50)
    one = stats.draw_failure(v, lo=-4.0)
    assert stats.draw_failure(v, lo=-4.0, hi=4.0) > one
    assert stats.draw_failure(v, lo=-4.0, draws=10) == pytest.approx(1 - (1 - one) ** 10)


def test_draw_failure_without_spread_or_values_says_what_it_can():
    assert stats.draw_failure([2.0] * 9, lo=1.0) == pytest.approx(1 - 0.1 ** (1 / 9))
    assert stats.draw_failure([2.0] * 9, lo=3.0) == 1.0
    assert stats.draw_failure([2.0], lo=1.0) == 1.0
    assert stats.draw_failure([2.0, np.nan, 2.1], lo=1.0) == 1.0
    with pytest.raises(ValueError, match="needs a bound"):
        stats.draw_failure([1.0, 2.0])


def test_median_failure_needs_half_the_seeds_past_the_bound():
    rng = np.random.default_rng(1)
    v = rng.normal(1.0, 0.1, 32)
    single = stats.draw_failure(v, lo=0.85)
    assert stats.median_failure(v, lo=0.85) < single < 0.5
    assert stats.median_failure(np.append(v, np.nan), lo=0.85) == stats.median_failure(v, lo=0.85)


def test_count_failure_cannot_certify_every_run():
    # none of m runs failed: a rebuild of m runs that must all pass fails with chance ≈ the confidence
    assert stats.count_failure(0, 100, 100, 0) == pytest.approx(0.9, abs=0.01)
    # allowing 10 % of them to fail, the same record is a strong claim
    assert stats.count_failure(0, 900, 100, 10) < 1e-10
    assert stats.count_failure(5, 5, 10, 3) == 1.0
    with pytest.raises(ValueError):
        stats.count_failure(3, 2, 10, 1)


def stats_sps():
    from scipy import stats as sps

    return sps
