import numpy as np

from gdlessons.display.range_test import plot_range_test
from gdlessons.lr_finder import CAVEAT, RangeTest


def test_plot_marks_both_suggestions_and_states_the_caveat():
    r = RangeTest(
        lr=[1e-4, 1e-3, 1e-2, 1e-1], loss=[3.0, 2.5, 1.0, 5.0], smoothed=[3.0, 2.8, 2.0, 3.0],
        steepest=1e-3, valley=1e-2,
    )  # fmt: skip
    fig = plot_range_test(r)
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any("steepest" in s for s in labels) and any("valley" in s for s in labels)
    assert not any("min/10" in s for s in labels)  # no minimum recorded: no min/10 rate
    assert ax.get_legend().get_title().get_text() == CAVEAT  # heads the legend
    assert ax.get_xscale() == "log" and "learning rate" in ax.get_xlabel()


def test_plot_range_test_names_the_loss():
    r = RangeTest(lr=[1e-3, 1e-2, 1e-1], loss=[3.0, 2.0, 4.0], smoothed=[3.0, 2.5, 3.0])
    assert plot_range_test(r).axes[0].get_ylabel() == "loss (MSE)"
    r.config["loss"] = "cross_entropy"
    assert plot_range_test(r).axes[0].get_ylabel() == "cross-entropy loss"
    assert plot_range_test(r, loss_label="my loss").axes[0].get_ylabel() == "my loss"


def test_plot_tells_the_rules_apart_without_colour_and_names_the_one_used():
    r = RangeTest(
        lr=np.geomspace(1e-4, 1.0, 9).tolist(), loss=[3.0] * 9,
        smoothed=[3.0, 3.0, 2.9, 2.5, 2.0, 1.5, 1.2, 2.0, 6.0], skipped=2,
        min_loss_lr=np.geomspace(1e-4, 1.0, 9)[6], steepest=1e-3, valley=3e-3,
    )  # fmt: skip
    ax = plot_range_test(r).axes[0]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any(s.startswith("min/10 (used)") for s in labels)
    assert any("first 2 iterations: ignored" in s for s in labels)
    vertical = [
        line for line in ax.lines if len(set(line.get_xdata())) == 1 and len(line.get_xdata()) == 2
    ]
    assert len({line.get_linestyle() for line in vertical}) == 3
    markers = {line.get_marker() for line in ax.lines if line.get_linestyle() == "None"}
    assert len(markers) == 4  # the lowest point and the three rules
    assert plot_range_test(r, rule="valley").axes[0].get_legend().get_texts()
