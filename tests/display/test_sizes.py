"""Figure sizes: every figure the course renders is shown at its natural size, fits the output
column and carries no text under 9 pt; a render fails on one that does not."""

from __future__ import annotations

import ipywidgets as w
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from gdlessons.display.explorer import Explorer
from gdlessons.display.plots import new_axes
from gdlessons.display.sizes import DENSITY, INCH_PX, MAX_WIDTH_IN, MIN_FONT_PT, check, problems


def _drawn(fig: Figure) -> Figure:
    FigureCanvasAgg(fig).draw()  # tick labels get their text when drawn
    return fig


def test_a_fitting_figure_has_no_problems():
    fig, ax = new_axes(figsize=(MAX_WIDTH_IN, 3))
    ax.plot([0, 1], [0, 1], label="line")
    ax.set(title="t", xlabel="epoch", ylabel="loss")
    ax.legend(fontsize=MIN_FONT_PT)
    assert problems(_drawn(fig)) == []
    check(fig)


def test_too_wide_and_small_text_are_named():
    fig, ax = new_axes(figsize=(MAX_WIDTH_IN + 0.5, 3))
    ax.annotate("tiny note", (0.5, 0.5), fontsize=MIN_FONT_PT - 1)
    ax.tick_params(labelsize=7)
    found = problems(_drawn(fig))
    assert any("8.0 in wide" in p for p in found)
    assert any("'tiny note'" in p for p in found) and any(p.startswith("7-pt") for p in found)
    with pytest.raises(ValueError, match="not readable as shown"):
        check(fig)


def test_hidden_and_empty_texts_do_not_count():
    fig, ax = new_axes(figsize=(4, 3))
    ax.text(0, 0, "hidden", fontsize=5, visible=False)
    ax.text(0, 0, "  ", fontsize=5)
    assert problems(_drawn(fig)) == []


def _wide(k: int) -> Figure:
    fig, ax = new_axes(figsize=(10, 3))
    ax.plot(range(k))
    return fig


def test_an_explorer_fails_on_a_too_wide_figure_only_while_rendering(monkeypatch):
    ex = Explorer(_wide, {"k": w.IntSlider(value=3, min=2, max=5)})
    monkeypatch.setenv("GDLESSONS_RENDER", "0")
    assert ex.png()[:4] == b"\x89PNG"  # a student's live explorer still draws
    monkeypatch.setenv("GDLESSONS_RENDER", "1")
    with pytest.raises(ValueError, match="10.0 in wide"):
        ex.png(k=4)


def test_the_notebook_formatter_gives_the_shown_size(monkeypatch):
    from IPython.core.interactiveshell import InteractiveShell

    from gdlessons.session import show_figures_inline

    shell = InteractiveShell.instance()
    try:
        assert show_figures_inline()
        fig, ax = new_axes(figsize=(5, 3))
        ax.plot([0, 1])
        ax.set(title="A line", xlabel="epoch", ylabel="loss")
        data, metadata = shell.display_formatter.format(fig)
        assert metadata["image/png"] == {"width": 5 * INCH_PX, "height": 3 * INCH_PX,
                                         "alt": "A line (x: epoch; y: loss)"}  # fmt: skip
        png = data["image/png"]
        assert int.from_bytes(png[16:20], "big") == 5 * INCH_PX * DENSITY
    finally:
        InteractiveShell.clear_instance()
