import numpy as np
import pytest

from catapult import fits


def test_line_recovers_exact_line():
    x = np.linspace(0, 5, 11)
    fit = fits.line(x, 3.0 - 0.5 * x)
    assert fit.slope == pytest.approx(-0.5) and fit.intercept == pytest.approx(3.0) and fit.r2 == pytest.approx(1.0)
    np.testing.assert_allclose(fit(x), 3.0 - 0.5 * x)


def test_power_law_exponent_and_nan_points_are_skipped():
    x = np.geomspace(0.01, 0.2, 8)
    y = 7.0 * x**-1.0
    y[2] = np.nan
    assert fits.power_law(x, y).slope == pytest.approx(-1.0)


def test_too_few_points_raise():
    with pytest.raises(ValueError, match="at least 3"):
        fits.line([1, 2, np.nan], [1, 2, 3])
