"""Pictures of the quadratic landscapes of :mod:`gdlessons.landscapes`: gradient descent's
iterates on a 1-D curve, one panel per learning rate, and 2-D contours with a path drawn on them.

Each takes an optional ``ax`` (or ``fig``) and returns the figure; none calls ``plt.show()``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure, SubFigure

from gdlessons._validate import check_float, check_instance, check_int, check_sequence
from gdlessons.display.plots import new_axes, new_figure
from gdlessons.display.sizes import MAX_WIDTH_IN
from gdlessons.landscapes import as_curvatures, first_divergent, iterates, regime

MAX_PANELS_PER_ROW = 2  # two 3.6-inch panels fill the 7.5-inch output; a third would be too narrow


def plot_curve_1d(
    a: float,
    paths: dict[str, np.ndarray] | None = None,
    *,
    ax: Axes | None = None,
    xlim: float = 1.5,
    title: str | None = None,
    legend: bool = True,
) -> Figure:
    """Draw f(x) = a·x²/2 and, for each labelled path (``(iterations + 1, 1)``), its iterates
    as dots on the curve joined in order; points off the view are clipped.

    >>> fig = plot_curve_1d(4.0, {"η = 0.4": iterates(4.0, [1.0], 0.4, 5)})
    >>> fig.axes[0].get_xlabel()
    'x (the parameter)'
    """
    a = check_float("a", a, low=0.0, low_open=True)
    fig, ax = new_axes(ax)
    grid = np.linspace(-xlim, xlim, 201)
    ax.plot(grid, 0.5 * a * grid**2, color="0.6", lw=1.5, label=f"f(x) = {a:g}·x²/2")
    for label, path in (paths or {}).items():
        xs = np.asarray(path, dtype=float)[:, 0]
        cut = first_divergent(xs[:, None], limit=xlim)
        if cut is not None:
            xs = np.clip(xs[: cut + 1], -10 * xlim, 10 * xlim)
            label = f"{label} (leaves the view)"
        ax.plot(xs, 0.5 * a * xs**2, "o-", ms=4, lw=0.8, alpha=0.85, label=label)
    ax.set_xlim(-xlim, xlim)
    ax.set_ylim(-0.05 * a * xlim**2, 0.55 * a * xlim**2)
    ax.set_xlabel("x (the parameter)")
    ax.set_ylabel("loss f(x)")
    ax.set_title(title or f"Gradient descent on f(x) = {a:g}·x²/2")
    if paths and legend:
        ax.legend(loc="upper center")
    return fig


def plot_regimes_1d(
    a: float,
    rates: Sequence[float],
    *,
    iterations: int = 12,
    x0: float = 1.0,
    size: float = 3.0,
    ncols: int = 2,
    fig: Figure | SubFigure | None = None,
) -> Figure | SubFigure:
    """One panel per learning rate: ``iterations`` steps of gradient descent on a·x²/2 from
    ``x0``, each titled with its regime and the factor 1 − η·a applied to x every iteration.

    Panels wrap into rows of at most ``ncols`` (at most :data:`MAX_PANELS_PER_ROW`), so any
    number of rates fits the course's 7.5-inch output with every panel still readable; each
    panel is ``size`` inches tall and shares the width. ``fig`` (a Figure or SubFigure) is drawn
    into when given, say to place the panels beside other plots.

    >>> fig = plot_regimes_1d(4.0, [0.02, 0.6]); [ax.get_title().split(":")[1].split("(")[0].strip() for ax in fig.axes]
    ['slow', 'divergent']
    >>> [round(float(v), 2) for v in plot_regimes_1d(4.0, [0.02, 0.1, 0.4, 0.55, 0.6]).get_size_inches()]
    [7.2, 9.6]
    """
    check_sequence("rates", rates)
    size = check_float("size", size, low=0.0, low_open=True)
    ncols = min(check_int("ncols", ncols, low=1), MAX_PANELS_PER_ROW, max(len(rates), 1))
    nrows = math.ceil(len(rates) / ncols)
    fig = new_figure(fig, figsize=(min(3.6 * ncols, MAX_WIDTH_IN), size * nrows + 0.6))
    axes = np.atleast_1d(fig.subplots(nrows, ncols, squeeze=False)).ravel()
    for ax in axes[len(rates) :]:  # an odd count leaves the last row short
        ax.remove()
    paths = iterates(a, [x0], np.asarray(rates, dtype=float), iterations)
    for ax, rate, path in zip(axes, rates, paths, strict=False):
        plot_curve_1d(a, {"": path}, ax=ax, xlim=1.5 * abs(x0), legend=False)
        ax.set_title(f"η = {rate:g}: {regime(rate, a)} (x × {1 - rate * a:+.2f})", fontsize=10)
    # One legend for all panels, below them: inside a panel it would hide a diverging path.
    labels = [f"f(x) = {a:g}·x²/2", f"iterates from x = {x0:g}, joined in order"]
    fig.legend(axes[0].lines[:2], labels, loc="outside lower center", ncols=2)
    fig.suptitle(f"{iterations} iterations of gradient descent at {len(rates)} learning rates")
    return fig


def plot_contours_2d(
    curvatures: Sequence[float],
    *,
    ax: Axes | None = None,
    extent: tuple[float, float] = (1.5, 1.5),
    levels: int = 12,
    resolution: int = 121,
    title: str | None = None,
) -> Figure:
    """Contours of f(x) = ½(λ₁x₁² + λ₂x₂²) on [−e₁, e₁] × [−e₂, e₂], equal axis scales;
    ``levels`` ellipses, each drawn with ``resolution`` points.

    >>> fig = plot_contours_2d([0.4, 4.0]); fig.axes[0].get_ylabel()
    'x₂'
    """
    levels = check_int("levels", levels, low=1)
    resolution = check_int("resolution", resolution, low=2)
    lam = as_curvatures(curvatures)
    if lam.shape != (2,):
        raise ValueError(f"curvatures must hold exactly 2 numbers, got {curvatures!r}")
    fig, ax = new_axes(ax)
    # The level sets are ellipses x₁ = r₁cos t, x₂ = r₂sin t with rᵢ = √(2c/λᵢ): drawing them
    # as one NaN-separated line is exact and much faster than a gridded contour.
    top = 0.5 * (lam[0] * extent[0] ** 2 + lam[1] * extent[1] ** 2)
    c = np.geomspace(top * 1e-3, top, levels)[:, None]
    t = np.append(np.linspace(0, 2 * np.pi, resolution), np.nan)
    xs = (np.sqrt(2 * c / lam[0]) * np.cos(t)).ravel()
    ys = (np.sqrt(2 * c / lam[1]) * np.sin(t)).ravel()
    ax.plot(xs, ys, color="0.7", lw=0.7)
    ax.plot([0], [0], "k+", ms=8)
    ax.set_xlim(-extent[0], extent[0])
    ax.set_ylim(-extent[1], extent[1])
    ax.set_aspect("equal")
    ax.set_xlabel("x₁")
    ax.set_ylabel("x₂")
    ax.set_title(title or f"f = ½({lam[0]:g}·x₁² + {lam[1]:g}·x₂²), κ = {lam[1] / lam[0]:.3g}")
    return fig


def draw_path(
    ax: Axes,
    path: np.ndarray,
    *,
    label: str | None = None,
    limit: float = 1e3,
    legend: bool = True,
    **style,
) -> None:
    """Draw a 2-D path (``(iterations + 1, 2)``) of iterates on ``ax``; a diverging path is cut
    where it passes ``limit`` and its label says so.

    >>> fig = plot_contours_2d([1.0, 4.0]); draw_path(fig.axes[0], iterates([1.0, 4.0], [1.0, 1.0], 0.3, 5), label="η=0.3")
    >>> fig.axes[0].lines[-1].get_label()
    'η=0.3'
    """
    check_instance("ax", ax, Axes, "a matplotlib Axes")
    if path is None or np.ndim(path) != 2 or np.shape(path)[1] != 2:
        raise ValueError(
            f"path must be an array of 2-D iterates, shape (k, 2), got {np.shape(path)}"
        )
    path = np.asarray(path, dtype=float)
    cut = first_divergent(path, limit=limit)
    if cut is not None:
        path = path[: cut + 1]
        label = f"{label} (diverges)" if label else "diverges"
    style = {"marker": "o", "ms": 3, "lw": 1.0, **style}
    ax.plot(path[:, 0], path[:, 1], label=label, **style)
    if label and legend:
        ax.legend(loc="upper right")
