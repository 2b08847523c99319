"""Redraw's kept figures: still artists drawn once per background key, moving (animated) ones
redrawn per frame, pixel for pixel what a full draw of the same state gives; a reused key whose
still part changed is caught when checked."""

from __future__ import annotations

import io

import ipywidgets as w
import numpy as np
import pytest
from PIL import Image

from gdlessons.display.explorer import Explorer
from gdlessons.display.plots import figure_png, new_axes
from gdlessons.display.redraw import Redraw, StaleBackground
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


def _red(png: bytes) -> int:
    """How many pixels are pure red."""
    rgb = _pixels(png)[..., :3].astype(int)
    return int(((rgb[..., 0] == 255) & (rgb[..., 1] == 0) & (rgb[..., 2] == 0)).sum())


def test_an_animated_artist_a_later_move_adds_is_drawn_and_one_it_removes_is_not():
    fig, ax, line = _kept_figure()
    redraw = Redraw()
    line.set_data([0.1, 0.9], [0.2, 0.7])
    first = redraw.png(fig)  # the figure is kept from here on
    (added,) = ax.plot([0.1, 0.9], [0.9, 0.1], color="#ff0000", lw=4, animated=True)
    with_added = redraw.png(fig)
    assert _red(first) == 0 and _red(with_added) > 1000
    # what a full draw of the same state gives, nothing animated
    line.set_animated(False)
    added.set_animated(False)
    assert np.array_equal(_pixels(figure_png(fig)), _pixels(with_added))
    line.set_animated(True)
    added.remove()
    assert redraw.png(fig) == first


def test_a_background_key_that_misses_a_change_is_named_when_checked():
    fig, ax, line = _kept_figure()
    line.set_data([0, 1], [0, 1])
    checked = Redraw(check_backgrounds=True)
    ax.set_title("one")
    checked.png(fig, "title one")
    line.set_data([0, 1], [1, 0])  # a moving artist may change under the same key
    checked.png(fig, "title one")
    ax.set_title("two")  # a still one may not
    with pytest.raises(StaleBackground, match="background key 'title one' is stale"):
        checked.png(fig, "title one")


def test_a_background_key_that_follows_every_change_passes_the_check():
    fig, ax, line = _kept_figure()
    checked = Redraw(check_backgrounds=True)
    pictures = {}
    for title in ("one", "two", "one", "two"):
        ax.set_title(title)
        line.set_data([0, 1], [0, 1] if title == "one" else [1, 0])
        png = checked.png(fig, title)
        assert pictures.setdefault(title, png) == png  # checked and pasted, the same picture
    # Unchecked (the live widget), a wrong key shows the stale title without a word.
    fig, ax, line = _kept_figure()
    unchecked = Redraw()
    assert not unchecked.check_backgrounds
    first = unchecked.png(fig, "same")
    ax.set_title("changed")
    assert unchecked.png(fig, "same") == first


def _flipping(**options) -> Explorer:
    """An explorer on a kept figure whose title, a still part, changes with ``flip``."""
    fig, ax, line = _kept_figure()

    def draw(slope: float, flip: bool):
        ax.set_title("flipped" if flip else "upright")
        line.set_data([0, 1], [1 - slope, slope] if flip else [0, slope])
        return fig

    controls = {"slope": w.FloatSlider(value=0.5, min=0, max=1), "flip": w.Checkbox(value=False)}
    return Explorer(draw, controls, **options)


def test_an_explorer_checks_its_background_keys_when_asked():
    right = _flipping(background=lambda slope, flip: flip, check_backgrounds=True)
    for flip in (False, True, False, True):
        right.png(slope=0.3, flip=flip)
    wrong = _flipping(background=lambda slope, flip: "one key")
    assert not wrong.check_backgrounds  # off unless asked: it costs a full draw per move
    wrong.png(flip=False)
    wrong.png(flip=True)  # stale, unnoticed
    wrong.check_backgrounds = True
    with pytest.raises(StaleBackground, match="'one key'"):
        wrong.png(flip=True)
    with pytest.raises(TypeError, match="check_backgrounds must be True or False"):
        wrong.check_backgrounds = 1


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
    ex = _flipping(background=lambda slope, flip: flip)
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


def test_a_kept_figure_drawn_at_another_density_comes_back_at_its_own():
    """The site draws an explorer's frames at their density (``drawing_at``); the live explorer
    afterwards shows its pictures at its own size, the same pixels as before."""
    fig, ax, line = _kept_figure()

    def draw(slope: float):
        line.set_data([0, 1], [0, slope])
        return fig

    explorer = Explorer(draw, {"slope": w.FloatSlider(value=0.5, min=0, max=1, step=0.25)})
    before = explorer.png(slope=0.75)
    with explorer.drawing_at(1.0):
        frame = explorer.png(slope=0.25)
    after = explorer.png(slope=0.75)
    assert _pixels(frame).shape[:2] == (3 * INCH_PX, 4 * INCH_PX)
    assert np.array_equal(_pixels(after), _pixels(before))
