"""Fast explorer frames: render a figure's static parts once, redraw only what a slider moves.

Re-rendering a three-panel figure costs most of its time in text (tick labels, titles). An
explorer whose axes stay put can draw them once per *background* (for example one per value of a
toggle) and, per slider move, paste the background back and draw just the moving artists —
matplotlib's "blitting". Each frame comes out as a plain :class:`~matplotlib.figure.Figure`
holding the finished pixels, so ``Explorer`` shows and saves it like any other figure.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence

import numpy as np
from matplotlib.artist import Artist
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure


class BlitFigure:
    """Wrap ``fig`` whose ``moving`` artists change between frames and nothing else does, except
    what ``prepare(key)`` sets before a background ``key`` is first rendered.

    >>> from gdlessons.display.plots import new_axes
    >>> fig, ax = new_axes(); (line,) = ax.plot([0, 1], [0, 1]); _ = ax.set(xlim=(0, 2), ylim=(0, 2))
    >>> blit = BlitFigure(fig, [line])
    >>> line.set_data([0, 2], [0, 2]); blit.frame().get_size_inches().round(1).tolist()
    [6.4, 4.0]
    """

    def __init__(
        self,
        fig: Figure,
        moving: Sequence[Artist],
        *,
        prepare: Callable[[Hashable], None] | None = None,
        dpi: int = 80,
    ):
        self.fig = fig
        self.moving = list(moving)
        self.prepare = prepare
        self.dpi = dpi
        fig.set_dpi(dpi)
        self.canvas = FigureCanvasAgg(fig)
        for artist in self.moving:
            artist.set_animated(True)  # left out of the background, drawn per frame
        self._backgrounds: dict[Hashable, object] = {}

    def frame(self, key: Hashable = None) -> Figure:
        """The picture with background ``key`` and the moving artists as they are now."""
        if key not in self._backgrounds:
            if self.prepare is not None:
                self.prepare(key)
            self.canvas.draw()
            self._backgrounds[key] = self.canvas.copy_from_bbox(self.fig.bbox)
        self.canvas.restore_region(self._backgrounds[key])
        for artist in self.moving:
            self.fig.draw_artist(artist)
        pixels = np.asarray(self.canvas.buffer_rgba()).copy()
        height, width = pixels.shape[:2]
        out = Figure(figsize=(width / self.dpi, height / self.dpi), dpi=self.dpi)
        out.figimage(pixels, resize=False, origin="upper")
        return out
