"""BlitFigure: static parts drawn once per background, moving artists redrawn per frame."""

from __future__ import annotations

import numpy as np

from gdlessons.display.blit import BlitFigure
from gdlessons.display.plots import figure_png, new_axes


def _pixels(fig):
    fig.canvas.draw()
    return np.asarray(fig.canvas.buffer_rgba()).copy()


def test_frames_follow_the_moving_artist_and_keep_the_size():
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    fig, ax = new_axes()
    (line,) = ax.plot([], [])
    ax.set(xlim=(0, 1), ylim=(0, 1))
    blit = BlitFigure(fig, [line])
    line.set_data([0, 1], [0, 1])
    a = blit.frame()
    line.set_data([0, 1], [1, 0])
    b = blit.frame()
    line.set_data([0, 1], [0, 1])
    c = blit.frame()
    FigureCanvasAgg(a), FigureCanvasAgg(b), FigureCanvasAgg(c)
    pa, pb, pc = _pixels(a), _pixels(b), _pixels(c)
    assert pa.shape == pb.shape == (320, 512, 4)  # 6.4 × 4.0 inches at 80 dpi
    assert not np.array_equal(pa, pb)
    assert np.array_equal(pa, pc)
    assert figure_png(a) == figure_png(c)


def test_prepare_runs_once_per_background_key():
    fig, ax = new_axes()
    (line,) = ax.plot([0, 1], [0, 1])
    calls = []
    blit = BlitFigure(fig, [line], prepare=calls.append)
    for key in (False, True, False, True):
        blit.frame(key)
    assert calls == [False, True]
