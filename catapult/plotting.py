"""One figure style for the whole book, and the phase-diagram helpers every chapter uses."""

from __future__ import annotations

from typing import Iterable, Sequence

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np

__all__ = [
    "PHASE_COLORS",
    "REGIME_COLORS",
    "STYLE",
    "PANEL_WIDTH",
    "PANEL_HEIGHT",
    "use_style",
    "panels",
    "mosaic",
    "label_panels",
    "shade_phases",
    "mark_lines",
    "phase_boundaries",
    "phase_legend_handles",
    "colors_for",
    "finite",
    "curvature_dynamics",
    "lambda_at_time",
    "momentum_dynamics",
    "shade_regimes",
    "regime_legend",
]


#: One colour per phase (lazy / catapult / divergent / unconverged), used everywhere.
PHASE_COLORS = {
    "lazy": "#3B75AF",
    "catapult": "#E1812C",
    "divergent": "#C03D3E",
    "unconverged": "#7F7F7F",
}

#: One colour per regime of Sadrtdinov et al. (1 convergence, 2 chaotic equilibrium, 3 random walk).
REGIME_COLORS = {1: PHASE_COLORS["lazy"], 2: PHASE_COLORS["catapult"], 3: PHASE_COLORS["divergent"]}

STYLE = {
    "figure.dpi": 110,
    "savefig.dpi": 150,
    "figure.constrained_layout.use": True,
    "font.size": 10,
    "axes.titlesize": 10,
    "axes.labelsize": 10,
    "legend.fontsize": 8.5,
    "legend.frameon": False,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.25,
    "lines.linewidth": 1.6,
    "axes.prop_cycle": mpl.cycler(color=["#3B75AF", "#E1812C", "#519E3E", "#C03D3E", "#8D69B8", "#84584E"]),
}

PANEL_WIDTH = 3.4  # inches per panel
PANEL_HEIGHT = 2.7


def use_style() -> None:
    """Apply the book's matplotlib style, and crisp inline figures in notebooks."""
    mpl.rcParams.update(STYLE)
    try:
        from matplotlib_inline.backend_inline import set_matplotlib_formats

        set_matplotlib_formats("retina")
    except ImportError:  # pragma: no cover - outside IPython
        pass


def panels(ncols: int = 1, nrows: int = 1, **kwargs):
    """A figure of ``nrows × ncols`` panels of the book's standard size; returns (fig, axes)."""
    size = (PANEL_WIDTH * ncols, PANEL_HEIGHT * nrows)
    fig, axes = plt.subplots(nrows, ncols, figsize=kwargs.pop("figsize", size), squeeze=False, **kwargs)
    return fig, axes.ravel() if axes.size > 1 else axes[0, 0]


def mosaic(layout: list[list[str]]):
    """A figure laid out by ``plt.subplot_mosaic`` with panels of the standard size; returns (fig, axes by name)."""
    size = (PANEL_WIDTH * len(layout[0]), PANEL_HEIGHT * len(layout))
    fig = plt.figure(figsize=size)
    return fig, fig.subplot_mosaic(layout)


def label_panels(axes: Iterable[plt.Axes], start: str = "a") -> None:
    """Write (a), (b), ... in the top left corner of each panel, as in the paper's figures."""
    for i, ax in enumerate(axes):
        ax.text(-0.02, 1.02, f"({chr(ord(start) + i)})", transform=ax.transAxes, ha="right", va="bottom", fontweight="bold")


def shade_phases(
    ax: plt.Axes,
    crit: float,
    max_: float,
    *,
    lo: float | None = None,
    hi: float | None = None,
    labels: bool = True,
    alpha: float = 0.10,
) -> None:
    """Shade the lazy (x < crit), catapult (crit ≤ x < max_) and divergent (x ≥ max_) ranges of the x axis.

    ``crit`` and ``max_`` are in the axis's units (e.g. 2 and 4 when x is η·λ0, or
    2/λ0 and 4/λ0 when x is η). ``lo``/``hi`` default to the current x limits.
    """
    x0, x1 = ax.get_xlim()
    lo = x0 if lo is None else lo
    hi = x1 if hi is None else hi
    spans = [("lazy", lo, crit), ("catapult", crit, max_), ("divergent", max_, hi)]
    for name, a, b in spans:
        if b > a:
            ax.axvspan(a, b, color=PHASE_COLORS[name], alpha=alpha, lw=0, label=f"{name} phase" if labels else None)
    ax.set_xlim(x0, x1)


def mark_lines(ax: plt.Axes, lines: dict[str, float], *, axis: str = "x", y: float = 0.97) -> None:
    """Dashed reference lines with text labels, e.g. {"2/λ0": 2/lam0, "4/λ0": 4/lam0}."""
    for text, value in lines.items():
        if axis == "x":
            ax.axvline(value, color="0.25", ls="--", lw=0.9)
            ax.text(value, y, f" {text}", transform=ax.get_xaxis_transform(), va="top", ha="left", fontsize=8.5)
        else:
            ax.axhline(value, color="0.25", ls="--", lw=0.9)
            ax.text(0.99, value, f"{text} ", transform=ax.get_yaxis_transform(), va="bottom", ha="right", fontsize=8.5)


def phase_boundaries(ax: plt.Axes, lam0: float = 1.0, factors: Sequence[float] = (2.0, 4.0)) -> None:
    """Shade the phases and mark η = k/λ0 for each k in ``factors`` on an η axis.

    With ``lam0 = 1`` the axis is η·λ0 and the lines sit at 2, 4 (and 12 for ReLU nets).
    """
    shade_phases(ax, factors[0] / lam0, factors[1] / lam0)
    unit = "" if lam0 == 1.0 else "/λ₀"
    mark_lines(ax, {f"{k:g}{unit}": k / lam0 for k in factors})


def phase_legend_handles() -> list[mpl.patches.Patch]:
    """Legend patches for the three phases, for figures whose lines are coloured by phase."""
    return [mpl.patches.Patch(color=PHASE_COLORS[p], label=p) for p in ("lazy", "catapult", "divergent")]


def colors_for(phases: Iterable[str]) -> list[str]:
    return [PHASE_COLORS[p] for p in phases]


def finite(x: np.ndarray) -> np.ndarray:
    """``x`` with non-finite entries replaced by NaN, so that matplotlib leaves gaps."""
    x = np.asarray(x, dtype=float)
    return np.where(np.isfinite(x), x, np.nan)


def curvature_dynamics(ax_loss: plt.Axes, ax_lam: plt.Axes, run, lam0: float, examples: Sequence[float], tau: float,
                       *, title: str = "") -> None:
    """Fig. 3a,b (d,e): batch loss and λ_t/λ0 against physical time t·η for a few rates of a sweep.

    ``run``: a :class:`catapult.train.Run` whose ``etas`` are multiples of η_crit = 2/λ0;
    ``examples``: the multiples to show (the nearest of the sweep), lazy ones (< 1) in the
    lazy colour, the rest in the catapult colour with 2/(ηλ0) dotted; ``tau``: the measuring
    time, marked by a grey line, and the x range is [0, 2τ].
    """
    factors = np.asarray(run.etas) * float(lam0) / 2
    styles = ["-", "-", "--", ":"]
    for k, f in enumerate(examples):
        i = int(np.argmin(np.abs(factors - f)))
        eta = float(run.etas[i])
        color = PHASE_COLORS["lazy" if f < 1 else "catapult"]
        label = f"η = {factors[i]:g} η_crit"
        ax_loss.plot(run.loss_steps * eta, finite(run.loss[i]), styles[k % 4], color=color, label=label)
        ax_lam.plot(run.lam_steps * eta, finite(run.lam[i]) / lam0, styles[k % 4] + "o", ms=3, color=color, label=label)
        if f > 1:
            ax_lam.axhline(2 / (eta * lam0), color=color, ls=":", lw=0.9)
    ax_loss.set(yscale="log", ylabel="batch loss", title=title, xlim=(0, 2 * tau))
    ax_lam.set(xlabel="physical time t·η", ylabel="λ_t / λ0", yscale="log", xlim=(0, 2 * tau))
    ax_lam.axvline(tau, color="0.5", lw=0.8)
    ax_loss.legend(fontsize=8)


def momentum_dynamics(ax_loss: plt.Axes, ax_lam: plt.Axes, run, control, lam0: float,
                      momentum: float, *, title: str = "", matched: float | None = None) -> None:
    """Fig. S8: batch loss and λ_t/λ0 against the step for every run of a momentum sweep
    (``run``; its first run is the control rate, below 2/λ0), and the plain-SGD run at the
    control rate (``control``, a one-rate run) dashed. Rates are labelled as η·λ0; above
    the linear limit 2(1 + μ)/λ0 a dotted line marks 2(1 + μ)/(ηλ0). ``matched``: the step at
    which the control-rate run with momentum has trained as far as the plain run, marked in
    both panels."""
    limit = 2 * (1 + momentum)
    steps = int(run.loss_steps[-1])
    for i, eta in enumerate(np.asarray(run.etas)):
        c = float(eta) * float(lam0)
        color = PHASE_COLORS["lazy" if c < limit else "catapult"]
        style = "-" if i == 0 else ["--", "-.", ":", "-"][(i - 1) % 4]
        label = f"μ = {momentum:g}, ηλ0 = {c:.2g}" + (" (diverged)" if run.divergent[i] else "")
        ax_loss.plot(run.loss_steps, finite(run.loss[i]), style, color=color, lw=1.2 if i == 0 else 1.0, label=label)
        ax_lam.plot(run.lam_steps, finite(run.lam[i]) / lam0, style + "o", ms=3, color=color, label=label)
        if c > limit:
            ax_lam.axhline(limit / c, color=color, ls=":", lw=0.8)
    c0 = float(control.etas[0]) * float(lam0)
    sel = control.loss_steps <= steps
    ax_loss.plot(control.loss_steps[sel], finite(control.loss[0][sel]), color="0.35", lw=1.5, ls=(0, (6, 2)),
                 label=f"no momentum, ηλ0 = {c0:.2g}")
    sel = control.lam_steps <= steps
    ax_lam.plot(control.lam_steps[sel], finite(control.lam[0][sel]) / lam0, "s", ls=(0, (6, 2)), ms=3,
                color="0.35", label=f"no momentum, ηλ0 = {c0:.2g}")
    if matched is not None and np.isfinite(matched):
        for ax in (ax_loss, ax_lam):
            ax.axvline(matched, color="0.5", lw=0.8, ls=":", label="as far as plain SGD" if ax is ax_loss else None)
    ax_loss.set(yscale="log", ylabel="batch loss", title=title, xlim=(0, steps))
    ax_lam.set(xlabel="SGD step", ylabel="λ_t / λ0", yscale="log", xlim=(0, steps))
    # a divergent run's loss and λ would stretch the axes to 1e30: cut them off above the runs that trained
    ok = ~np.asarray(run.divergent)
    for ax, values, margin in ((ax_loss, np.asarray(run.loss)[ok], 10.0), (ax_lam, np.asarray(run.lam)[ok] / lam0, 3.0)):
        if np.isfinite(values).any():
            ax.set_ylim(top=margin * max(1.0, float(np.nanmax(np.where(np.isfinite(values), values, np.nan)))))
    ax_loss.legend(fontsize=7)


def lambda_at_time(ax: plt.Axes, run, lam0: float, *, label: str, title: str = "",
                   marks: dict[str, float] | None = None) -> None:
    """Fig. 3c (f): λ at the measuring time (``run.lam_at[:, 0]``) over λ0 against η/η_crit.

    The grey curve min(1, 2/(ηλ0)) is where η = 2/λ; divergent runs are shaded from the
    first one; ``marks`` draws dashed lines at η/η_crit values (default 2/λ0, 4/λ0, 12/λ0).
    """
    x = np.asarray(run.etas) * float(lam0) / 2
    ok = ~np.asarray(run.divergent)
    ax.plot(x[ok], run.lam_at[ok, 0] / lam0, "o-", color="k", label=label)
    grid = np.geomspace(x.min(), x.max(), 200)
    ax.plot(grid, np.minimum(1.0, 1.0 / grid), color="0.6", lw=2, alpha=0.6, label="min(1, 2/(ηλ0))")
    if not ok.all():
        ax.axvspan(x[~ok].min(), x.max() * 1.1, color=PHASE_COLORS["divergent"], alpha=0.15, lw=0, label="diverged")
    mark_lines(ax, {"2/λ0": 1.0, "4/λ0": 2.0, "12/λ0": 6.0} if marks is None else marks)
    ax.set(xscale="log", yscale="log", xlabel="η / η_crit", ylabel="λ / λ0", title=title, xlim=(x.min() * 0.9, x.max() * 1.1))
    ax.legend(fontsize=8, loc="lower left")


def shade_regimes(ax: plt.Axes, grid: Sequence[float], regime: Sequence[int], darker: Sequence[bool] | None = None) -> None:
    """Shade each point of a log-spaced learning-rate ``grid`` by its regime (1, 2, 3; chapter 6),
    out to the geometric midpoints between neighbours; the ``darker`` points (subregime 2A)
    more strongly. Sets a log x axis spanning the grid."""
    grid = np.asarray(grid, dtype=float)
    regime = np.asarray(regime)
    darker = np.zeros(grid.size, dtype=bool) if darker is None else np.asarray(darker, dtype=bool)
    if grid.ndim != 1 or grid.size < 2 or regime.shape != grid.shape or darker.shape != grid.shape:
        raise ValueError(f"grid, regime and darker must be 1-d of one length ≥ 2, got {grid.shape}, {regime.shape}, {darker.shape}.")
    edges = np.sqrt(grid[1:] * grid[:-1])
    lo = np.concatenate([[grid[0] / 1.3], edges])
    hi = np.concatenate([edges, [grid[-1] * 1.3]])
    for i, r in enumerate(regime):
        ax.axvspan(lo[i], hi[i], color=REGIME_COLORS[int(r)], alpha=0.3 if darker[i] else 0.12, lw=0)
    ax.set_xscale("log")
    ax.set_xlim(lo[0], hi[-1])


def regime_legend(ax: plt.Axes, **kwargs) -> None:
    """A legend of the three regimes' shades (for panels drawn with :func:`shade_regimes`)."""
    handles = [mpl.patches.Patch(color=REGIME_COLORS[r], alpha=0.3, label=f"regime {r}") for r in (1, 2, 3)]
    ax.legend(handles=handles, **kwargs)
