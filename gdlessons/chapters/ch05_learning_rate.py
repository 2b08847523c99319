"""Chapter 05 (the learning rate): the quadratic explorer (one rate, one curvature, one condition number).

The landscapes themselves (regimes, the stability bound, iterates) are shared in :mod:`gdlessons.landscapes`."""

from __future__ import annotations

from matplotlib.figure import Figure

from gdlessons.landscapes import (
    draw_path,
    eigenvalues_from_condition,
    iterates,
    plot_contours_2d,
    plot_curve_1d,
    regime,
)


def _describe(lr: float, a: float, kappa: float) -> str:
    lam = eigenvalues_from_condition(kappa, lambda_max=a)
    return (
        f"η = {lr:.3g}, a = {a:.3g}: bound 2/a = {2 / a:.3g} (η is {lr * a / 2:.2f}× the bound)\n"
        f"1-D regime: {regime(lr, a)} (error × {1 - lr * a:+.2f} per iteration)\n"
        f"2-D, κ = {kappa:.3g} (λ = {lam[0]:.3g}, {lam[1]:.3g}): {regime(lr, lam)}"
    )


def quadratic_figure(lr: float, a: float, kappa: float, *, iterations: int = 20) -> Figure:
    """The explorer's picture: gradient descent with rate ``lr`` on a·x²/2 (left) and on the 2-D
    quadratic with λ_max = a and condition number ``kappa`` (right), regimes in the titles.

    >>> fig = quadratic_figure(0.45, 4.0, 10.0); [ax.get_title().split(":")[0] for ax in fig.axes]
    ['1-D, a = 4', '2-D, κ = 10']
    """
    lam = eigenvalues_from_condition(kappa, lambda_max=a)
    fig = Figure(figsize=(8.0, 3.3), dpi=80)  # no layout engine: fixed margins redraw faster
    left, right = fig.subplots(1, 2)
    fig.subplots_adjust(left=0.07, right=0.98, bottom=0.14, top=0.9, wspace=0.25)
    # No legends and few fixed ticks: text layout is most of a redraw; the titles say it all.
    plot_curve_1d(a, {"": iterates(a, [1.0], lr, iterations)}, ax=left, legend=False)
    left.set_title(f"1-D, a = {a:g}: {regime(lr, a)} (bound 2/a = {2 / a:.3g})")
    plot_contours_2d(lam, ax=right, levels=8)
    draw_path(right, iterates(lam, [1.2, 1.0], lr, iterations), limit=10.0, legend=False)
    right.set_title(f"2-D, κ = {kappa:.3g}: {regime(lr, lam)} (bound 2/λ_max = {2 / a:.3g})")
    ticks = [-1.5, 0.0, 1.5]
    left.set_xticks(ticks)
    left.set_yticks([0.0, round(0.5 * a * 1.5**2, 2)])
    right.set_xticks(ticks)
    right.set_yticks(ticks)
    for ax in (left, right):
        ax.title.set_fontsize(9)
    return fig


def quadratic_explorer():
    """Sliders for the rate η (log scale), the curvature a and the 2-D condition number κ."""
    import ipywidgets as w

    from gdlessons.display.explorer import Explorer

    style = {"description_width": "150px"}
    layout = w.Layout(width="480px")
    controls = {
        "lr": w.FloatLogSlider(value=0.45, base=10, min=-3, max=0.5, step=0.01, description="learning rate η", style=style, layout=layout),
        "a": w.FloatSlider(value=4.0, min=0.5, max=10.0, step=0.5, description="curvature a (= λ_max)", style=style, layout=layout),
        "kappa": w.FloatLogSlider(value=25.0, base=10, min=0, max=2, step=0.05, description="condition number κ", style=style, layout=layout),
    }  # fmt: skip
    return Explorer(
        quadratic_figure,
        controls,
        title="Gradient descent on quadratics: 20 iterations",
        readout=_describe,
    )


EXPLORERS = {"ch05-quadratic-explorer": quadratic_explorer}
