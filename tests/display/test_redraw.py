"""Redraw's kept figures: still artists drawn once per background key, moving (animated) ones
redrawn per frame, pixel for pixel what a full draw of the same state gives."""

from __future__ import annotations

import io

import ipywidgets as w
import numpy as np
from PIL import Image

from gdlessons.display.explorer import Explorer
from gdlessons.display.plots import figure_png, new_axes
from gdlessons.display.redraw import Redraw
from gdlessons.display.sizes import DENSITY, INCH_PX


def _pixels(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGBA"))


def _kept_figure():
    fig, ax = new_axes(figsize=(4, 3))
    (line,) = ax.plot([], [], animated=True)
    ax.set(xlim=(0, 1), ylim=(0, 1), xlabel="iteration", ylabel="loss", title="still")
    return fig, ax, line


def test_frames_follow_the_moving_artist_and_match_a_full_draw():
    fig, ax, line = _kept_figure()
    redraw = Redraw()
    line.set_data([0.1, 0.9], [0.2, 0.7])
    a = redraw.png(fig)
    line.set_data([0.1, 0.9], [0.7, 0.2])
    b = redraw.png(fig)
    line.set_data([0.1, 0.9], [0.2, 0.7])
    c = redraw.png(fig)
    assert _pixels(a).shape == (3 * INCH_PX * DENSITY, 4 * INCH_PX * DENSITY, 4)
    assert not np.array_equal(_pixels(a), _pixels(b))
    assert np.array_equal(_pixels(a), _pixels(c))
    # The same state drawn whole, the line no longer animated: the same pixels.
    line.set_animated(False)
    assert np.array_equal(_pixels(figure_png(fig)), _pixels(c))


def test_the_still_part_is_drawn_once_per_background_key():
    fig, ax, line = _kept_figure()
    draws = []
    fig.canvas.mpl_connect("draw_event", lambda event: draws.append(1))
    redraw = Redraw()
    for key in (False, True, False, True, False):
        ax.set_title(f"key {key}")  # what a background shows is set before its first draw
        line.set_data([0, 1], [0, 1] if key else [1, 0])
        redraw.png(fig, key)
    assert len(draws) == 2


def test_a_new_background_key_shows_the_new_still_part():
    fig, ax, line = _kept_figure()
    redraw = Redraw()
    ax.set_title("one")
    first = redraw.png(fig, "one")
    ax.set_title("two")
    second = redraw.png(fig, "two")
    ax.set_title("one")
    assert first != second and redraw.png(fig, "one") == first


def test_an_explorer_with_a_kept_figure_names_its_background():
    fig, ax, line = _kept_figure()

    def draw(slope: float, flip: bool):
        ax.set_title("flipped" if flip else "upright")
        line.set_data([0, 1], [1 - slope, slope] if flip else [0, slope])
        return fig

    controls = {"slope": w.FloatSlider(value=0.5, min=0, max=1), "flip": w.Checkbox(value=False)}
    ex = Explorer(draw, controls, background=lambda slope, flip: flip)
    frames = {(s, f): ex.png(slope=s, flip=f) for s in (0.2, 0.8) for f in (False, True)}
    assert len(set(frames.values())) == 4
    assert ex.png(slope=0.2, flip=True) == frames[0.2, True]
    assert ex.shown_width(frames[0.2, True]) == 4 * INCH_PX


def _epoch_ticks(fig):
    lo, hi = fig.axes[0].get_xlim()
    return [float(t) for t in fig.axes[0].get_xticks() if lo <= t <= hi]


def test_both_paths_tick_epochs_and_iterations_at_whole_numbers():
    # Two epochs: matplotlib's own ticks would be 1.0, 1.2, ..., 2.0.
    fresh, ax = new_axes(figsize=(4, 3))
    ax.plot([1, 2], [1.0, 0.5])
    ax.set_xlabel("epoch")
    Redraw().png(fresh)
    assert _epoch_ticks(fresh) == [1.0, 2.0]
    kept, ax, line = _kept_figure()
    ax.set(xlim=(1, 2), xlabel="iteration (optimizer updates)")
    line.set_data([1, 2], [0.3, 0.6])
    Redraw().png(kept)
    assert _epoch_ticks(kept) == [1.0, 2.0]
    chosen, ax = new_axes(figsize=(4, 3))
    ax.plot([1, 2], [1.0, 0.5])
    ax.set(xlabel="epoch", xticks=[1, 1.5, 2])  # ticks set on purpose stay
    Redraw().png(chosen)
    assert _epoch_ticks(chosen) == [1.0, 1.5, 2.0]
