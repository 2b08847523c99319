"""The picture of a learning-rate range test (:mod:`gdlessons.lr_finder`): loss against rate,
raw and smoothed, with every rule's suggestion marked and the caveat heading the legend.
"""

from __future__ import annotations

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from gdlessons._validate import check_choice, check_instance
from gdlessons.display.plots import new_axes
from gdlessons.lr_finder import CAVEAT, RULE, RULES, RangeTest

# How each rule's rate is drawn: told apart by line style and marker, not by colour alone.
_RULE_STYLES = {
    "min/10": dict(color="black", ls="-", lw=1.5, marker="D"),
    "steepest": dict(color="C1", ls="--", lw=1.2, marker="v"),
    "valley": dict(color="C4", ls=":", lw=1.5, marker="s"),
}


def plot_range_test(
    result: RangeTest,
    *,
    ax: Axes | None = None,
    title: str | None = None,
    loss_label: str | None = None,
    rule: str = RULE,
) -> Figure:
    """Loss against learning rate (log scale), raw and smoothed, the lowest smoothed point, every
    rule's suggestion (``rule``'s named as the one used), the ignored warm-up shaded, and the
    caveat written on the figure. The y-axis is named from the recorded loss ("loss (MSE)",
    "cross-entropy loss", else "loss") unless ``loss_label`` is given.

    >>> r = RangeTest(lr=[1e-3, 1e-2, 1e-1], loss=[3.0, 2.0, 4.0], smoothed=[3.0, 2.5, 3.0], steepest=1e-2, valley=1e-2)
    >>> plot_range_test(r).axes[0].get_xscale()
    'log'
    """
    check_instance("result", result, RangeTest, "a RangeTest, as lr_range_test returns")
    check_choice("rule", rule, RULES)
    fig, ax = new_axes(ax, figsize=(6.4, 5.0))
    if result.skipped:
        ax.axvspan(result.lr[0], result.lr[min(result.skipped, len(result.lr) - 1)], color="0.92",
                   label=f"first {result.skipped} iterations: ignored (smoothing warm-up)")  # fmt: skip
    ax.plot(result.lr, result.loss, color="0.7", lw=0.8, label="batch loss after the update")
    ax.plot(result.lr, result.smoothed, color="C0", lw=2, label="smoothed (bias-corrected EMA)")
    if result.min_loss_lr is not None:
        y = float(np.interp(np.log(result.min_loss_lr), np.log(result.lr), result.smoothed))
        ax.plot([result.min_loss_lr], [y], "*", color="C0", ms=12, mec="black",
                label=f"lowest smoothed loss: lr ≈ {result.min_loss_lr:.2g}")  # fmt: skip
    for name, lr in result.suggestions.items():
        if lr is None:
            continue
        style = dict(_RULE_STYLES[name])
        marker = style.pop("marker")
        y = float(np.interp(np.log(lr), np.log(result.lr), result.smoothed))
        ax.axvline(lr, **style)
        used = " (used)" if name == rule else ""
        ax.plot([lr], [y], marker, color=style["color"], ms=7, ls="none",
                label=f"{name}{used}: lr ≈ {lr:.2g}")  # fmt: skip
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("learning rate (raised geometrically every iteration)")
    names = {"mse": "loss (MSE)", "cross_entropy": "cross-entropy loss"}
    ax.set_ylabel(loss_label or names.get(result.config.get("loss", "mse"), "loss"))
    ax.set_title(title or "Learning-rate range test")
    range_test_legend(ax)
    return fig


def range_test_legend(ax: Axes) -> None:
    """(Re)draw a range-test plot's legend below the axes, where it covers no curve, headed by
    the caveat; for plots that add their own marks after :func:`plot_range_test`."""
    check_instance("ax", ax, Axes, "a matplotlib Axes")
    legend = ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.14), ncols=2, title=CAVEAT)
    legend.get_title().set_color("0.3")
