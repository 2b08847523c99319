import base64
import io
from html import escape as html_escape

import ipywidgets as w
import numpy as np
import pytest
from matplotlib.figure import Figure

from gdlessons.display.explorer import STATIC_NOTE, Explorer
from gdlessons.display.plots import figure_png, new_axes

WIDGET = "application/vnd.jupyter.widget-view+json"


def make(calls=None):
    def draw(k, log):
        if calls is not None:
            calls.append((k, log))
        fig, ax = new_axes()
        ax.plot(range(k))
        ax.set_yscale("log" if log else "linear")
        return fig

    controls = {"k": w.IntSlider(value=3, min=2, max=9), "log": w.Checkbox(value=False)}
    return Explorer(draw, controls, title="demo", readout=lambda k, log: f"k = {k}")


def test_figure_is_a_pure_function_of_state():
    calls = []
    ex = make(calls)
    assert isinstance(ex.figure(k=5), Figure)
    assert calls[-1] == (5, False)  # missing keys take the initial values
    assert ex.png(k=4) == ex.png(k=4) and ex.png(k=4) != ex.png(k=7)
    with pytest.raises(ValueError, match="state keys"):
        ex.figure(nope=1)


def test_moving_a_slider_redraws_image_and_readout():
    ex = make()
    box = ex.widget()
    image = next(c for c in box.children if isinstance(c, w.Image))
    before = image.value
    ex.controls["k"].value = 8
    assert image.value != before
    assert "k = 8" in box.children[-1].value


def test_rendered_notebooks_get_the_static_figure_with_its_readout_as_html(monkeypatch):
    monkeypatch.setenv("GDLESSONS_RENDER", "1")
    monkeypatch.delenv("GDLESSONS_FRAMES", raising=False)
    ex = make()
    bundle = ex._repr_mimebundle_()
    assert set(bundle) == {"text/html", "text/plain"} and STATIC_NOTE in bundle["text/plain"]
    html = bundle["text/html"]
    picture = base64.b64encode(ex.png()).decode()
    assert f'src="data:image/png;base64,{picture}"' in html
    assert "k = 3" in html and html_escape(STATIC_NOTE) in html and "<b>demo</b>" in html
    assert "gdl-frames" not in html  # frames only while the static site is built


def test_live_notebooks_get_the_widget_with_a_static_fallback(monkeypatch):
    monkeypatch.delenv("GDLESSONS_RENDER", raising=False)
    bundle = make()._repr_mimebundle_()
    assert WIDGET in bundle and bundle["image/png"].startswith(b"\x89PNG")


def test_sample_states_sweep_every_control():
    states = make().sample_states(steps=4)
    assert {s["k"] for s in states} >= {2, 9} and {s["log"] for s in states} == {True, False}


def test_bad_construction_is_named():
    with pytest.raises(TypeError, match="draw"):
        Explorer(None, {"k": w.IntSlider()})
    with pytest.raises(ValueError, match="controls"):
        Explorer(lambda: None, {})
    with pytest.raises(TypeError, match="controls\\['k'\\]"):
        Explorer(lambda k: None, {"k": 3})


def panels(labels_lines=1, ncols=2, scale=1.0):
    """A constrained two-panel figure whose y label can grow by lines and data by scale."""
    fig, axes = new_axes(ncols=ncols)
    for i, ax in enumerate(np.atleast_1d(axes)):
        ax.plot([0, 1, 2], [0, scale * (i + 1), scale])
        ax.set(title=f"panel {i}", xlabel="iteration", ylabel="\n".join(["loss"] * labels_lines))
    return fig


def layout_explorer():
    controls = {
        "labels_lines": w.IntSlider(value=1, min=1, max=4),
        "ncols": w.IntSlider(value=2, min=1, max=3),
        "scale": w.FloatSlider(value=1.0, min=0.5, max=2.0),
    }
    return Explorer(panels, controls)


def _pixels(png: bytes):
    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(png)).convert("RGBA"))


def positions(fig):
    return [x for ax in fig.axes for x in ax.get_position(original=True).bounds]


def test_later_figures_reuse_the_first_layout_and_still_follow_the_state():
    ex = layout_explorer()
    first = ex.figure()
    first_png = ex.render(first)
    later = ex.figure(scale=0.5)
    later_png = ex.render(later)
    assert later.get_layout_engine() is None  # drawn once, with the remembered positions
    assert positions(later) == positions(first)
    assert later_png.startswith(b"\x89PNG") and later_png != first_png
    # Same state again: pixel for pixel what a fresh constrained layout gives.
    assert ex.png() == first_png
    assert np.array_equal(_pixels(first_png), _pixels(figure_png(ex.figure())))


def test_grown_labels_get_a_fresh_layout():
    ex = layout_explorer()
    first = ex.figure()
    ex.render(first)
    grown = ex.figure(labels_lines=4)
    ex.render(grown)
    reference = ex.figure(labels_lines=4)
    figure_png(reference)  # laid out by constrained layout alone
    assert positions(grown) == pytest.approx(
        positions(reference), abs=1e-4
    )  # matplotlib 3.10 differs by 6e-5
    assert positions(grown)[0] > positions(first)[0]  # more room for the taller label
    # Smaller labels fit the roomier layout: the axes stay put, with no fresh layout.
    back = ex.figure(scale=0.5)
    ex.render(back)
    assert back.get_layout_engine() is None and positions(back) == positions(grown)


def test_a_figure_of_another_shape_is_laid_out_afresh():
    ex = layout_explorer()
    ex.render(ex.figure())
    wider = ex.figure(ncols=3)
    ex.render(wider)
    reference = ex.figure(ncols=3)
    figure_png(reference)
    assert len(wider.axes) == 3 and positions(wider) == pytest.approx(positions(reference))


def test_layout_cache_can_be_switched_off_and_figures_keep_their_own_canvas():
    ex = Explorer(panels, layout_explorer().controls, remember_layouts=False)
    first, later = ex.figure(), ex.figure(scale=0.5)
    ex.render(first)
    ex.render(later)
    assert later.get_layout_engine() is not None
    assert first.canvas.figure is first and later.canvas.figure is later


def test_each_figure_is_freed_after_its_png_and_the_collector_left_on():
    import gc
    import weakref

    figures = []

    def draw(k):
        fig = panels(scale=k)
        figures.append(weakref.ref(fig))
        return fig

    ex = Explorer(draw, {"k": w.FloatSlider(value=1.0, min=0.5, max=2.0)})
    for k in (0.5, 1.0, 2.0):
        ex.png(k=k)
    assert gc.isenabled()
    assert all(ref() is None for ref in figures)  # freed at once, not left to a full collection
    with pytest.raises(ValueError):
        ex.png(nope=1)
    assert gc.isenabled()


def test_outgrown_outer_margins_are_widened_without_a_fresh_layout():
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    ex = Explorer(
        lambda labels_lines: panels(labels_lines, ncols=1),
        {"labels_lines": w.IntSlider(value=1, min=1, max=4)},
    )
    first = ex.figure()
    ex.render(first)
    grown = ex.figure(labels_lines=4)
    png = ex.render(grown)
    assert grown.get_layout_engine() is None  # no second layout pass
    (x0, y0, width, height), (x0_first, y0_first, width_first, height_first) = (
        ax.get_position().bounds for ax in (*grown.axes, *first.axes)
    )
    assert x0 > x0_first and x0 + width == pytest.approx(x0_first + width_first)
    assert (y0, height) == pytest.approx((y0_first, height_first))
    tight = grown.get_tightbbox(FigureCanvasAgg(grown).get_renderer())
    assert tight.x0 >= 0  # the taller label is inside the picture
    assert png == ex.png(labels_lines=4)  # and the widened layout is kept


def test_slider_labels_get_room_for_the_longest_and_keep_a_chapters_own_width():
    controls = {
        "lr": w.FloatSlider(value=0.1, min=0.01, max=1.0, description="learning rate"),
        "b": w.IntSlider(value=2, min=1, max=4, description="B"),
        "n": w.IntSlider(
            value=2, min=1, max=4, description="N", style={"description_width": "9px"}
        ),
    }
    Explorer(lambda lr, b, n: new_axes()[0], controls).widget()
    widths = {k: c.style.description_width for k, c in controls.items()}
    assert widths["lr"] == widths["b"] and float(widths["lr"].removesuffix("em")) >= 0.6 * 13
    assert widths["n"] == "9px"
