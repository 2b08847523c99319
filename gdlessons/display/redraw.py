"""How an explorer answers a slider move fast: it draws once what a move does not change.

Every explorer's figures go through one :class:`Redraw`, which remembers two things between
moves, both through matplotlib's public API:

- **Layouts.** With a layout engine (constrained layout), matplotlib draws a figure twice: once
  to measure its text, once for real. A draw function that builds a fresh figure per state makes
  figures of one shape, so the layout of the first is remembered and later ones are drawn once,
  with the engine off and the remembered axes positions, unless their labels have grown past the
  remembered margins (then the margins are widened, or that figure is laid out afresh).
- **Backgrounds.** A draw function may instead keep one figure and move some of its artists,
  marked ``set_animated(True)`` (lines, markers, a title). The rest is drawn once per
  *background key* (say, one per value of a toggle; the layout engine runs then) and kept as
  pixels; a move pastes them back and draws only the moving artists: matplotlib's "blitting".
  The moving artists are looked up on every draw, so one a move adds is drawn too.

A background key must change whenever a still artist does, or the picture shows stale pixels.
:class:`Redraw` with ``check_backgrounds=True`` (the tests; never the live widget, which it would
slow to a full draw per move) draws the still part afresh on every key it has seen before and
raises :class:`StaleBackground`, naming the key, where that differs from the kept pixels.

One Agg canvas is reused for fresh figures, so text sizes measured once stay cached, and PNGs
come out at :data:`~gdlessons.display.sizes.DENSITY` pixels per CSS pixel.
"""

from __future__ import annotations

import io
from collections.abc import Hashable

import numpy as np
from matplotlib import rc_context
from matplotlib.artist import Artist
from matplotlib.axis import Axis
from matplotlib.backend_bases import FigureCanvasBase
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.transforms import Bbox
from PIL import Image

from gdlessons.display.plots import whole_number_ticks
from gdlessons.display.sizes import DENSITY, INCH_PX

FAST = 1
"""PNG compression of an explorer's pictures: encoding is most of a kept figure's move, and
level 1 takes about half the time of the default 6 for files some 10 % larger."""


class StaleBackground(AssertionError):
    """A kept figure's still part changed while its background key did not (see
    :class:`Redraw`'s ``check_backgrounds``)."""


class Redraw:
    """PNG bytes of an explorer's figures, drawing as little as each move needs.

    ``check_backgrounds=True`` verifies every background key seen before against a fresh draw
    of the still part (slow: for tests).

    >>> from gdlessons.display.plots import new_axes
    >>> fig, ax = new_axes(figsize=(3, 2)); (line,) = ax.plot([0, 1], [0, 1], animated=True)
    >>> redraw = Redraw(); first = redraw.png(fig)
    >>> line.set_ydata([1, 0]); redraw.png(fig) != first, redraw.png(fig, "other") != first
    (True, True)
    """

    def __init__(
        self,
        density: float = DENSITY,
        *,
        remember_layouts: bool = True,
        compress_level: int = FAST,
        image_format: str = "png",
        check_backgrounds: bool = False,
    ):
        from gdlessons._validate import check_float, check_int

        density = check_float("density", density, low=0.0, low_open=True)
        compress_level = check_int("compress_level", compress_level, low=0, high=9)
        if image_format not in FORMATS:
            raise ValueError(f"image_format must be one of {sorted(FORMATS)}, got {image_format!r}")
        for name, value in (
            ("remember_layouts", remember_layouts),
            ("check_backgrounds", check_backgrounds),
        ):
            if not isinstance(value, bool):
                raise TypeError(f"{name} must be True or False, got {value!r}")
        self.density = density
        self.compress_level = compress_level  # the site's frames, drawn once, are packed tighter
        self.image_format = image_format
        self.remember_layouts = remember_layouts
        self.check_backgrounds = check_backgrounds
        self._canvas: FigureCanvasAgg | None = None
        self._layouts: dict[tuple, list[_Layout]] = {}
        self._scene: _Scene | None = None

    def png(self, fig: Figure, background: Hashable = None) -> bytes:
        """``fig`` as PNG bytes (or WebP, see ``image_format``). A figure with animated artists
        is a kept figure: its other artists are drawn once per ``background`` key. Any other
        figure is drawn whole, with a remembered layout where one fits."""
        return self.encode(self.picture(fig, background))

    def picture(self, fig: Figure, background: Hashable = None) -> Image.Image:
        """``fig`` drawn as :meth:`png` draws it, as an RGB image not yet encoded: the site's
        frames encode one picture in another thread while the next is drawn."""
        # Looked up per draw, so an artist a move adds is drawn and one it removes is not
        moving = _moving(fig)
        if (self._scene is None or self._scene.fig is not fig) and moving:
            self._scene = _Scene(fig, INCH_PX * self.density)
        if self._scene is not None and self._scene.fig is fig:
            return _pixels(self._scene.draw(background, moving, check=self.check_backgrounds))
        return self._whole(fig)

    def encode(self, picture: Image.Image) -> bytes:
        """A :meth:`picture` as bytes in this redraw's format and compression. Pillow lets go of
        the interpreter while it encodes, so other threads may call this at the same time."""
        buffer = io.BytesIO()
        if self.image_format == "webp":
            picture.save(buffer, **WEBP)
        else:
            picture.save(buffer, format="png", compress_level=self.compress_level)
        return buffer.getvalue()

    def _whole(self, fig: Figure) -> Image.Image:
        """Draw a fresh figure, laid out by a remembered layout where one holds its labels
        (tried in the order they last worked, so the axes stay put while a slider moves)."""
        # the shared canvas keeps its renderer (and text-size cache) per dpi
        fig.set_dpi(INCH_PX * self.density)
        whole_number_ticks(fig)
        if self._canvas is None:
            self._canvas = FigureCanvasAgg(fig)
        canvas = self._canvas
        canvas.figure = fig
        fig.set_canvas(canvas)
        try:
            key = _layout_key(fig) if self.remember_layouts else None
            layouts = self._layouts.setdefault(key, []) if key is not None else []
            if layouts:
                engine = fig.get_layout_engine()
                _no_layout_engine(fig)
                layouts[0].apply(fig)
                canvas.draw()  # drawn, not yet encoded: only a picture that is kept is
                needs = _needs(fig, canvas.get_renderer())
                if layouts[0].holds(needs):
                    return _pixels(canvas)
                # Labels grew: widen the margins they outgrew, or take another remembered
                # layout with the room, or else lay the figure out afresh.
                wider = layouts[0].widened(needs, fig, canvas.get_renderer())
                if wider is not None:
                    wider.apply(fig)
                    canvas.draw()
                    if wider.holds(_needs(fig, canvas.get_renderer())):
                        layouts[0] = wider
                        return _pixels(canvas)
                    layouts[0].apply(fig)
                for i, layout in enumerate(layouts[1:], start=1):
                    if layout.holds(needs):
                        layout.apply(fig)
                        canvas.draw()
                        if layout.holds(_needs(fig, canvas.get_renderer())):
                            layouts.insert(0, layouts.pop(i))
                            return _pixels(canvas)
                        break
                # None has room: run the layout engine on this figure, already drawn once
                # (its ticks made, its text measured), then draw it with the new layout.
                fig.set_layout_engine(engine)
                engine.execute(fig)
                _no_layout_engine(fig)
            canvas.draw()  # with a layout engine, it lays the figure out first
            if key is not None:
                layouts.insert(0, _Layout.capture(fig, canvas.get_renderer()))
                del layouts[_LAYOUTS_KEPT:]
            return _pixels(canvas)
        finally:
            FigureCanvasBase(fig)  # detach: the shared canvas moves on to the next figure
            canvas.figure = None  # and holds on to none


def _moving(fig: Figure) -> list[Artist]:
    """``fig``'s animated artists, in the order ``fig.findobj`` lists them (children first),
    except for tick marks and tick labels: listing an axis' ticks runs its tick locator, which
    made ``findobj`` take 1-4 ms per move on the course's kept figures, and this walk 0.05 ms."""
    found: list[Artist] = []

    def visit(artist: Artist) -> None:
        for child in artist.get_children():
            if isinstance(child, Axis):
                found.extend(a for a in (child.label, child.offsetText) if a.get_animated())
            else:
                visit(child)
            if child.get_animated():
                found.append(child)

    visit(fig)
    return found


class _Scene:
    """A kept figure: its still artists as pixels per background key, its moving ones drawn
    over them per frame."""

    def __init__(self, fig: Figure, dpi: float):
        self.fig = fig
        self.dpi = dpi
        fig.set_dpi(dpi)
        self.canvas = FigureCanvasAgg(fig)
        self.engine = fig.get_layout_engine()
        self.backgrounds: dict[Hashable, object] = {}

    def draw(
        self, background: Hashable, moving: list[Artist], *, check: bool = False
    ) -> FigureCanvasAgg:
        """The canvas holding this background with the ``moving`` artists drawn over it;
        with ``check``, a kept background is first compared with a fresh draw."""
        if self.fig.canvas is not self.canvas or self.fig.dpi != self.dpi:
            # another redraw drew this figure meanwhile (the site's frames, at their density):
            # take it back at this one's size, where its kept backgrounds were drawn
            self.fig.set_canvas(self.canvas)
            self.fig.set_dpi(self.dpi)
        if background not in self.backgrounds:
            self.backgrounds[background] = self._still()
        elif check:
            self._check(background)
        pixels, layout = self.backgrounds[background]
        layout.apply(self.fig)
        self.canvas.restore_region(pixels)
        for artist in moving:
            self.fig.draw_artist(artist)
        return self.canvas

    def _still(self):
        """Lay out and draw the still part: its pixels, and the axes' places with them (another
        background's layout may move them a little, and the moving artists must be drawn where
        this picture has its axes)."""
        if self.engine is not None:  # lay out this background's titles, then keep it
            self.fig.set_layout_engine(self.engine)
        whole_number_ticks(self.fig)
        self.canvas.draw()  # animated artists are left out
        _no_layout_engine(self.fig)
        layout = _Layout.capture(self.fig, self.canvas.get_renderer())
        return self.canvas.copy_from_bbox(self.fig.bbox), layout

    def _check(self, background: Hashable) -> None:
        """Raise :class:`StaleBackground` unless the kept pixels of ``background`` are what the
        still part, drawn afresh in the same layout, gives now. (Not laid out afresh: constrained
        layout run again on a laid-out figure moves a colorbar by a fraction of a pixel.)"""
        pixels, layout = self.backgrounds[background]
        layout.apply(self.fig)
        self.canvas.restore_region(pixels)
        kept = np.array(self.canvas.buffer_rgba())
        whole_number_ticks(self.fig)
        self.canvas.draw()  # animated artists are left out
        fresh = np.asarray(self.canvas.buffer_rgba())
        if kept.shape != fresh.shape or not np.array_equal(kept, fresh):
            differ = (
                int(np.any(kept != fresh, axis=-1).sum()) if kept.shape == fresh.shape else "all"
            )
            raise StaleBackground(
                f"background key {background!r} is stale: the figure's still (not animated) "
                f"part has changed since it was drawn for this key ({differ} pixels differ). "
                f"Make background(...) return another key when that part changes, or mark "
                f"the changing artists animated (set_animated(True))."
            )


FORMATS = {"png", "webp"}
#: Lossless WebP at method 2, quality 0: measured the best bytes for the time on the course's
#: figures (0.42 of PNG's bytes at 59 ms a frame, against PNG level 6's 69 ms).
WEBP = {"format": "webp", "lossless": True, "method": 2, "quality": 0}
"""How a picture is stored: PNG (the notebook's, shown everywhere) or lossless WebP (the site's
frames: the same pixels in about 0.4 of the bytes, and quicker to encode than PNG level 6)."""


def _pixels(canvas: FigureCanvasAgg) -> Image.Image:
    """The canvas' pixels as an RGB image (a copy: the canvas moves on to the next picture).
    RGB: the figures are opaque, and without the alpha channel the file is about a tenth
    smaller and quicker to encode."""
    return Image.fromarray(np.asarray(canvas.buffer_rgba()), "RGBA").convert("RGB")


_TOLERANCE_PX = 1.5  # decorations may grow this much past the remembered room
_LAYOUTS_KEPT = 8  # remembered layouts per figure shape


def _layout_key(fig: Figure) -> tuple | None:
    """What a remembered layout must match: figure size and each axes' place in its grid.
    ``None`` (never cached) for figures without a layout engine or with subfigures."""
    engine = fig.get_layout_engine()
    if engine is None or not hasattr(engine, "execute") or fig.subfigs:
        return None
    cells = []
    for ax in fig.axes:
        spec = ax.get_subplotspec()
        if spec is None:
            cells.append((type(ax).__name__, None))
        else:
            rows, cols = spec.get_geometry()[:2]
            cells.append((type(ax).__name__, rows, cols, spec.rowspan, spec.colspan))
    size = tuple(round(float(v), 3) for v in fig.get_size_inches())
    labels = tuple(t.get_rotation() for t in _figure_texts(fig))
    return (type(engine).__name__, size, tuple(cells), labels, len(fig.legends))


def _no_layout_engine(fig: Figure) -> None:
    """Remove ``fig``'s layout engine. ``set_layout_engine("none")`` would leave a placeholder
    engine, for which ``savefig`` still draws the figure twice."""
    with rc_context({"figure.autolayout": False, "figure.constrained_layout.use": False}):
        fig.set_layout_engine(None)


def _figure_texts(fig: Figure) -> list:
    """The figure's own texts (``suptitle``, ``supxlabel``, ``supylabel`` and any ``fig.text``),
    through the public ``Figure.texts`` list."""
    return list(fig.texts)


def _needs(fig: Figure, renderer) -> tuple[float, ...]:
    """The room a drawn figure's decorations take, in pixels: how far each axes' tick labels,
    axis labels and titles reach past its frame on each side; the height of a suptitle or
    supxlabel, the width of a supylabel; the size of each figure legend."""
    needs: list[float] = []
    for ax in fig.axes:
        needs += _overhang(ax, renderer)
    for text in _figure_texts(fig):
        extent = text.get_window_extent(renderer)
        # a vertical text (supylabel) takes width from the grid, a horizontal one height
        needs.append(extent.width if text.get_rotation() % 180 == 90 else extent.height)
    for legend in fig.legends:
        extent = legend.get_window_extent(renderer)
        needs += [extent.width, extent.height]
    return tuple(needs)


class _Layout:
    """The positions a layout engine gave a figure's axes, and the room it made for their
    decorations (what :func:`_needs` measured on that figure)."""

    def __init__(self, positions, texts, room):
        self.positions = positions  # per axes: original position, figure fraction
        self.texts = texts  # positions of the figure texts (suptitle, supxlabel, ...)
        self.room = room

    @classmethod
    def capture(cls, fig: Figure, renderer) -> _Layout:
        positions = [ax.get_position(original=True).frozen() for ax in fig.axes]
        texts = [t.get_position() for t in _figure_texts(fig)]
        return cls(positions, texts, _needs(fig, renderer))

    def apply(self, fig: Figure) -> None:
        for ax, position in zip(fig.axes, self.positions):
            in_layout = ax.get_in_layout()
            ax.set_position(position, which="both")
            ax.set_in_layout(in_layout)  # set_position opts out of layout engines; undo that
        for text, position in zip(_figure_texts(fig), self.texts):
            text.set_position(position)

    def widened(self, needs: tuple[float, ...], fig: Figure, renderer) -> _Layout | None:
        """This layout with the outer margins of the axes grid widened wherever ``needs``
        exceed the room; ``None`` if an inner margin, a figure text or legend needs more, or
        an axes keeps a fixed aspect (then only the layout engine knows where things go)."""
        axes = fig.axes
        if len(needs) != len(self.room) or any(
            ax.get_aspect() != "auto" or ax.get_box_aspect() is not None for ax in axes
        ):
            return None
        if any(
            n > r + _TOLERANCE_PX
            for n, r in zip(needs[4 * len(axes) :], self.room[4 * len(axes) :])
        ):
            return None
        frames = [ax.get_window_extent(renderer) for ax in axes]
        outer = _outer_margins(frames, fig.bbox)
        edges = [[f.x0, f.y0, f.x1, f.y1] for f in frames]
        room = list(self.room)
        for i, frame in enumerate(frames):
            for side in range(4):
                grow = needs[4 * i + side] - self.room[4 * i + side]
                if grow <= _TOLERANCE_PX:
                    continue
                if outer[i][side] is None:
                    return None
                # Move this edge in, and the same edge of every axes aligned with it.
                was = [frame.x0, frame.y0, frame.x1, frame.y1][side]
                step = grow + 1 if side < 2 else -(grow + 1)
                for j, other in enumerate(frames):
                    if abs([other.x0, other.y0, other.x1, other.y1][side] - was) < 0.5:
                        edges[j][side] = was + step
                        room[4 * j + side] = max(room[4 * j + side], needs[4 * j + side])
        width, height = fig.bbox.width, fig.bbox.height
        positions = []
        for x0, y0, x1, y1 in edges:
            if x1 - x0 < 10 or y1 - y0 < 10:  # no room left to plot in
                return None
            positions.append(Bbox.from_extents(x0 / width, y0 / height, x1 / width, y1 / height))
        return _Layout(positions, self.texts, tuple(room))

    def holds(self, needs: tuple[float, ...]) -> bool:
        """Whether decorations needing ``needs`` fit in the room this layout made."""
        return len(needs) == len(self.room) and all(
            n <= r + _TOLERANCE_PX for n, r in zip(needs, self.room)
        )


def _outer_margins(frames: list, figure) -> list[list[float | None]]:
    """Per axes frame, the distance to the figure's edge on its left, bottom, right and top
    sides that face no other axes (``None`` for sides that face one)."""

    def overlap(a0, a1, b0, b1):
        return min(a1, b1) - max(a0, b0) > 0.5

    margins = []
    for i, f in enumerate(frames):
        others = [g for j, g in enumerate(frames) if j != i]
        beside = [g for g in others if overlap(f.y0, f.y1, g.y0, g.y1)]
        stacked = [g for g in others if overlap(f.x0, f.x1, g.x0, g.x1)]
        margins.append(
            [
                None if any(g.x1 <= f.x0 + 0.5 for g in beside) else f.x0 - figure.x0,
                None if any(g.y1 <= f.y0 + 0.5 for g in stacked) else f.y0 - figure.y0,
                None if any(g.x0 >= f.x1 - 0.5 for g in beside) else figure.x1 - f.x1,
                None if any(g.y0 >= f.y1 - 0.5 for g in stacked) else figure.y1 - f.y1,
            ]
        )
    return margins


def _overhang(ax, renderer) -> list[float]:
    """How far ``ax``'s axis labels, tick labels and titles (and a legend or text placed
    outside it) reach past its frame on the left, bottom, right and top, in pixels; what
    reaches past the figure's edge counts twice."""
    frame = ax.get_window_extent(renderer)
    extra = [a for a in [ax.get_legend(), *ax.texts] if a is not None and a.get_visible()]
    tight = ax.get_tightbbox(renderer, bbox_extra_artists=extra, for_layout_only=True)
    outside = Bbox.union([tight, frame]) if tight is not None else frame
    figure = ax.figure.bbox
    return [
        max(frame.x0 - outside.x0, 0.0) + max(figure.x0 - outside.x0, 0.0),
        max(frame.y0 - outside.y0, 0.0) + max(figure.y0 - outside.y0, 0.0),
        max(outside.x1 - frame.x1, 0.0) + max(outside.x1 - figure.x1, 0.0),
        max(outside.y1 - frame.y1, 0.0) + max(outside.y1 - figure.y1, 0.0),
    ]
