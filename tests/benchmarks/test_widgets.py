"""The widget benchmark moves a live widget one control at a time, never to a state twice."""

from __future__ import annotations

import ipywidgets as w
import pytest
import widgets

from gdlessons.display.explorer import Explorer
from gdlessons.display.plots import new_axes


def test_a_walk_changes_one_control_per_move_and_never_revisits():
    values = {"a": list(range(7)), "b": ["x", "y", "z"], "c": [True, False]}
    start = {"a": 3, "b": "y", "c": False}
    path = widgets.walk(values, start, moves=40)
    assert len(path) == 40
    keys = [tuple(s.values()) for s in [start, *path]]
    assert len(set(keys)) == len(keys)  # the start is not revisited either
    for before, after in zip([start, *path], path):
        assert sum(before[k] != after[k] for k in values) == 1
    assert all({k for s in path for k in s if s[k] != start[k]} >= {k} for k in values)


def test_a_small_grid_is_walked_whole():
    values = {"micro": [8, 16, 32, 64], "k": [1, 2, 4, 8]}
    path = widgets.walk(values, {"micro": 64, "k": 4}, moves=40)
    assert len(path) == 15 and len({tuple(s.values()) for s in path}) == 15


def test_frontend_state_sends_what_the_browser_syncs():
    select = w.SelectionSlider(options=[("low", 0.1), ("high", 0.2)], value=0.1)
    dropdown = w.Dropdown(options=["sgd", "adam"], value="sgd")
    assert widgets.frontend_state(select, 0.2) == {"index": 1}
    assert widgets.frontend_state(dropdown, "adam") == {"index": 1}
    assert widgets.frontend_state(w.IntSlider(value=3), 5) == {"value": 5}
    assert widgets.frontend_state(w.Checkbox(value=False), True) == {"value": True}


def demo_explorer(calls):
    def draw(k, mode):
        calls.append((k, mode))
        fig, ax = new_axes()
        ax.plot(range(k))
        ax.set_title(mode)
        return fig

    controls = {
        "k": w.IntSlider(value=3, min=2, max=9),
        "mode": w.Dropdown(options=["a", "b"], value="a"),
    }
    return Explorer(draw, controls, readout=lambda k, mode: f"k={k} mode={mode}")


def test_a_move_goes_through_the_widget_to_image_and_readout():
    calls = []
    mover = widgets.Mover(demo_explorer(calls))
    image_before = bytes(mover.image.value)
    move = mover.move({"k": 3, "mode": "b"})
    assert move["wall"] > 0 and move["cpu"] > 0  # measured, not a default
    assert move["redraws"] == 1 and not move["unchanged"]
    assert calls[-1] == (3, "b")  # drawn by the explorer's own observer
    assert bytes(mover.image.value) != image_before
    assert "mode=b" in mover.readout.value
    assert mover.updates == {"image": 1, "readout": 1}


def test_a_control_that_changes_nothing_is_still_a_timed_redraw():
    def draw(k, unused):
        fig, ax = new_axes()
        ax.plot(range(k))
        return fig

    controls = {"k": w.IntSlider(value=3, min=2, max=9), "unused": w.Checkbox(value=False)}
    mover = widgets.Mover(Explorer(draw, controls, readout=lambda k, unused: f"k={k}"))
    move = mover.move({"k": 3, "unused": True})
    assert move["redraws"] == 1 and move["unchanged"]


def test_values_past_a_slider_s_end_are_clamped_as_the_widget_clamps_them():
    def draw(lr):
        fig, ax = new_axes()
        ax.set_title(f"{lr:.3f}")
        return fig

    slider = w.FloatSlider(value=1.0, min=0.1, max=4.0)
    explorer = Explorer(draw, {"lr": slider})
    values = widgets.control_values(explorer, steps=7)
    assert max(values["lr"]) <= 4.0 and 1.0 in values["lr"]
    mover = widgets.Mover(explorer)
    for state in widgets.walk(values, explorer.initial, moves=5):
        mover.move(state)


def test_a_small_grid_gets_more_values_per_control():
    values = widgets.grid_values(demo_explorer([]), moves=30, steps=3)
    assert len(values["k"]) * len(values["mode"]) > 30 or len(values["k"]) == 8


def test_a_move_must_change_exactly_one_control():
    mover = widgets.Mover(demo_explorer([]))
    with pytest.raises(ValueError, match="one control"):
        mover.move({"k": 5, "mode": "b"})


def test_control_values_include_the_initial_value():
    values = widgets.control_values(demo_explorer([]), steps=3)
    assert values["mode"] == ["a", "b"] and 3 in values["k"] and {2, 9} <= set(values["k"])
