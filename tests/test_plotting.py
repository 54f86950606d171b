"""catapult.plotting: the chapter-6 regime shading (the figure helpers' bookkeeping)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from catapult import plotting  # noqa: E402


def test_shade_regimes_spans_each_point_to_the_midpoints():
    fig, ax = plotting.panels(1)
    grid = np.array([1e-3, 1e-2, 1e-1])
    plotting.shade_regimes(ax, grid, [1, 2, 3], darker=[False, True, False])
    spans = ax.patches
    assert len(spans) == 3 and ax.get_xscale() == "log"
    np.testing.assert_allclose([p.get_x() for p in spans], [1e-3 / 1.3, np.sqrt(1e-5), np.sqrt(1e-3)])
    np.testing.assert_allclose([p.get_x() + p.get_width() for p in spans], [np.sqrt(1e-5), np.sqrt(1e-3), 1e-1 * 1.3])
    assert [p.get_alpha() for p in spans] == [0.12, 0.3, 0.12]
    assert [matplotlib.colors.to_hex(p.get_facecolor()) for p in spans] == [plotting.REGIME_COLORS[r].lower() for r in (1, 2, 3)]
    np.testing.assert_allclose(ax.get_xlim(), (1e-3 / 1.3, 1e-1 * 1.3))
    plotting.regime_legend(ax, fontsize=7)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["regime 1", "regime 2", "regime 3"]
    with pytest.raises(ValueError, match="one length"):
        plotting.shade_regimes(ax, grid, [1, 2])
    matplotlib.pyplot.close(fig)
