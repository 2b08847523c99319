import numpy as np
import pytest
from matplotlib.figure import Figure

from gdlessons import landscapes as L
from gdlessons.display.landscapes import draw_path, plot_contours_2d, plot_curve_1d, plot_regimes_1d
from gdlessons.display.sizes import problems


def test_contours_need_exactly_two_curvatures():
    with pytest.raises(ValueError, match="exactly 2"):
        plot_contours_2d([1.0, 2.0, 3.0])


def test_plots_take_ax_and_return_the_figure():
    fig = Figure()
    ax1, ax2 = fig.subplots(1, 2)
    paths = {"ok": L.iterates(4.0, [1.0], 0.1, 5), "bad": L.iterates(4.0, [1.0], 1.0, 50)}
    assert plot_curve_1d(4.0, paths, ax=ax1) is fig
    assert any("leaves the view" in t.get_text() for t in ax1.get_legend().get_texts())
    assert plot_contours_2d([0.4, 4.0], ax=ax2) is fig
    draw_path(ax2, L.iterates([0.4, 4.0], [1.0, 1.0], 0.6, 50), label="too big")
    assert "diverges" in ax2.get_legend().get_texts()[0].get_text()
    assert np.isfinite(ax2.lines[-1].get_ydata()).all()


def test_regimes_panel_titles_name_each_regime():
    fig = plot_regimes_1d(4.0, [0.02, 0.1, 0.4, 0.5, 0.55], iterations=8)
    titles = [ax.get_title() for ax in fig.axes]
    for title, name in zip(titles, L.REGIMES, strict=True):
        assert f": {name} (" in title


def test_regimes_wrap_into_rows_that_fit_the_output():
    for count in (1, 2, 3, 4, 7):
        fig = plot_regimes_1d(4.0, list(np.linspace(0.02, 0.55, count)), ncols=4)
        assert len(fig.axes) == count and problems(fig) == []
        assert len({round(ax.get_position().x0, 3) for ax in fig.axes}) == min(count, 2)
