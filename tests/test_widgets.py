import ipywidgets as w
import pytest
from matplotlib.figure import Figure

from gdlessons.plots import new_axes
from gdlessons.widgets import STATIC_NOTE, Explorer, all_explorers

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


def test_rendered_notebooks_get_only_the_static_figure(monkeypatch):
    monkeypatch.setenv("GDLESSONS_RENDER", "1")
    bundle = make()._repr_mimebundle_()
    assert set(bundle) == {"image/png", "text/plain"} and STATIC_NOTE in bundle["text/plain"]


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


def test_every_registered_explorer_draws_its_initial_state():
    explorers = all_explorers()
    assert "ch00-init-explorer" in explorers
    ex = explorers["ch00-init-explorer"]()
    assert ex.png().startswith(b"\x89PNG")
