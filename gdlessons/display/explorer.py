"""Sliders wired to a pure function ``state -> figure``, and a static picture of the start.

An :class:`Explorer` holds the controls and the drawing function; tests and benchmarks call
``explorer.figure(**state)`` without a browser. In JupyterLab it shows live sliders over a
PNG image; when notebooks are rendered (``GDLESSONS_RENDER=1``) it shows only the static figure
of its initial state, so GitHub and HTML readers see what the sliders start from.

Why a slider move is cheap: with constrained layout, matplotlib draws every figure twice (once
to measure the text, once for real). An explorer's figures share one shape, so the layout of
the first is remembered and later figures are drawn once, with the layout engine off and the
remembered axes positions, unless their labels have grown past the remembered margins (then
the margins are widened, or that figure is laid out afresh). One Agg canvas is reused, so text
sizes measured once are cached across redraws, and each finished figure is collected at once,
so no redraw pays for a full garbage collection of the kernel's heap.

Chapters expose ``EXPLORERS = {name: factory}`` in their modules so that
``benchmarks/widgets.py`` can find and time every explorer (``gdlessons.chapters.all_explorers``).
"""

from __future__ import annotations

import gc
import itertools
import os
from collections.abc import Callable, Mapping
from pathlib import Path

from matplotlib import rc_context
from matplotlib.backend_bases import FigureCanvasBase
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.transforms import Bbox

from gdlessons.display.plots import figure_png
from gdlessons.progress import rendering

STATIC_NOTE = "(A static picture of the explorer's initial state: run this cell in JupyterLab to move the sliders.)"


class Explorer:
    """Bind ipywidgets controls to ``draw(**state) -> Figure``.

    ``controls`` maps each keyword of ``draw`` to a ValueWidget (slider, toggle, dropdown).
    ``readout(state)`` may return a short text shown under the figure (counts, labels).

    >>> import ipywidgets as w
    >>> from gdlessons.display.plots import new_axes
    >>> def draw(k):
    ...     fig, ax = new_axes(); ax.plot(range(k)); return fig
    >>> ex = Explorer(draw, {"k": w.IntSlider(value=3, min=2, max=9)}, title="demo")
    >>> ex.state(), len(ex.png()) > 1000
    ({'k': 3}, True)
    """

    def __init__(
        self,
        draw: Callable[..., Figure],
        controls: Mapping[str, object],
        *,
        title: str = "",
        readout: Callable[..., str] | None = None,
        dpi: int = 80,
        cache_layout: bool = True,
    ):
        if not callable(draw):
            raise TypeError(f"draw must be a function state -> Figure, got {type(draw).__name__}")
        if not controls:
            raise ValueError("controls must name at least one widget")
        for name, control in controls.items():
            if not hasattr(control, "value"):
                raise TypeError(
                    f"controls[{name!r}] must be an ipywidgets value widget, got {type(control).__name__}"
                )
        self.draw = draw
        self.controls = dict(controls)
        self.title = title
        self.readout_fn = readout
        self.dpi = dpi
        self.cache_layout = cache_layout
        self.initial = self.state()
        self._box = None
        self._canvas: FigureCanvasAgg | None = None
        self._layouts: dict[tuple, _Layout] = {}

    def state(self) -> dict:
        """The controls' current values, by name."""
        return {name: control.value for name, control in self.controls.items()}

    def figure(self, **state) -> Figure:
        """The figure for ``state`` (missing keys take the initial values). Pure: no widgets."""
        unknown = set(state) - set(self.controls)
        if unknown:
            raise ValueError(
                f"state keys must be among {sorted(self.controls)}, got {sorted(unknown)}"
            )
        return self.draw(**{**self.initial, **state})

    def png(self, **state) -> bytes:
        """The figure for ``state`` rendered to PNG bytes, as the live widget shows it."""
        # A figure is a web of reference cycles that only the cycle collector frees. Collected
        # mid-draw, its objects get promoted to the oldest generation, whose full collections
        # (every few dozen redraws) pause for a scan of the whole heap: half a second in a
        # kernel holding torch. Collect once afterwards instead, while it is all still young.
        collecting = gc.isenabled()
        gc.disable()
        try:
            return self.render(self.figure(**state))
        finally:
            if collecting:
                gc.enable()
                gc.collect(0)

    def render(self, fig: Figure) -> bytes:
        """PNG bytes of ``fig``, one of this explorer's figures, on the explorer's Agg canvas.

        The first figure of each shape (figure size, grid of axes) is laid out by its layout
        engine and the result remembered; a later figure of that shape gets the remembered axes
        positions and its layout engine switched off, so it is drawn once instead of twice. If
        its decorations (tick labels, titles) outgrow the remembered margins, another remembered
        layout with room enough is used, or it is laid out afresh and that layout remembered.
        The layout that worked last is tried first, so the axes stay put while a slider moves.
        """
        fig.set_dpi(self.dpi)  # the canvas' renderer (and its text-size cache) is kept per dpi
        if self._canvas is None:
            self._canvas = FigureCanvasAgg(fig)
        canvas = self._canvas
        canvas.figure = fig
        fig.set_canvas(canvas)
        try:
            key = _layout_key(fig) if self.cache_layout else None
            layouts = self._layouts.setdefault(key, []) if key is not None else []
            if layouts:
                engine = fig.get_layout_engine()
                _no_layout_engine(fig)
                layouts[0].apply(fig)
                png = figure_png(fig, dpi=self.dpi)
                needs = _needs(fig, canvas.get_renderer())
                if layouts[0].holds(needs):
                    return png
                # Labels grew: widen the margins they outgrew, or take another remembered
                # layout with the room, or else lay the figure out afresh.
                wider = layouts[0].widened(needs, fig, canvas.get_renderer())
                if wider is not None:
                    wider.apply(fig)
                    png = figure_png(fig, dpi=self.dpi)
                    if wider.holds(_needs(fig, canvas.get_renderer())):
                        layouts[0] = wider
                        return png
                    layouts[0].apply(fig)
                for i, layout in enumerate(layouts[1:], start=1):
                    if layout.holds(needs):
                        layout.apply(fig)
                        png = figure_png(fig, dpi=self.dpi)
                        if layout.holds(_needs(fig, canvas.get_renderer())):
                            layouts.insert(0, layouts.pop(i))
                            return png
                        break
                # None has room: run the layout engine on this figure, already drawn once
                # (its ticks made, its text measured), then draw it with the new layout.
                fig.set_layout_engine(engine)
                engine.execute(fig)
                _no_layout_engine(fig)
            png = figure_png(fig, dpi=self.dpi)
            if key is not None:
                layouts.insert(0, _Layout.capture(fig, canvas.get_renderer()))
                del layouts[_LAYOUTS_KEPT:]
            return png
        finally:
            FigureCanvasBase(fig)  # detach: the shared canvas moves on to the next figure
            canvas.figure = None  # and holds on to none

    def readout(self, **state) -> str:
        return self.readout_fn(**{**self.initial, **state}) if self.readout_fn else ""

    def sample_states(self, steps: int = 5) -> list[dict]:
        """A sequence of slider moves for benchmarks: each control swept over up to ``steps``
        of its allowed values while the others stay at their initial value."""
        states = []
        for name, control in self.controls.items():
            for value in _control_values(control, steps):
                states.append({**self.initial, name: value})
        return states

    def widget(self):
        """The live ipywidgets box: controls, the figure as an Image, and the readout."""
        if self._box is not None:
            return self._box
        import ipywidgets as w

        _fit_labels(self.controls.values())
        image = w.Image(value=self.png(), format="png", layout=w.Layout(max_width="720px"))
        text = w.HTML(self._readout_html(self.initial))
        image.add_class("gdl-figure")
        text.add_class("gdl-readout")

        def redraw(_change=None):
            state = self.state()
            image.value = self.png(**state)
            text.value = self._readout_html(state)

        for control in self.controls.values():
            control.observe(redraw, names="value")
        children = [w.HTML(f"<b>{self.title}</b>")] if self.title else []
        children += [w.VBox(list(self.controls.values())), image, text]
        self._box = w.VBox(children)
        self._box.add_class("gdl-explorer")
        return self._box

    def _readout_html(self, state) -> str:
        import html

        return f"<pre style='margin:0'>{html.escape(self.readout(**state))}</pre>"

    def static_html(self, png: bytes | None = None) -> str:
        """The explorer's initial state as HTML: title, figure, readout and a note on how to get
        the sliders. Stored in rendered chapters, so GitHub, nbviewer, nbconvert and JupyterLab
        (before the cell runs) show the readout and the note, not only the picture. While the
        course's static site is built (``GDLESSONS_FRAMES`` names a folder), every slider state
        is drawn into that folder too and its manifest embedded, for the page's sliders."""
        import base64
        import html
        import json

        png = self.png() if png is None else png
        parts = [f"<b>{html.escape(self.title)}</b>"] if self.title else []
        alt = html.escape(self.title or "explorer", quote=True)
        parts.append(
            f'<img class="gdl-figure" alt="{alt}" style="max-width:100%" '
            f'src="data:image/png;base64,{base64.b64encode(png).decode()}"/>'
        )
        text = self.readout()
        if text:
            parts.append(f'<pre class="gdl-readout">{html.escape(text)}</pre>')
        parts.append(f'<p class="gdl-note"><i>{html.escape(STATIC_NOTE)}</i></p>')
        folder = os.environ.get("GDLESSONS_FRAMES")
        if folder:
            from gdlessons.display.frames import export_frames

            number = next(_EXPORTED)
            url = f"{os.environ.get('GDLESSONS_FRAMES_URL', 'frames')}/explorer-{number}"
            manifest = export_frames(self, Path(folder) / f"explorer-{number}", url)
            # "</" never appears inside the JSON, so it cannot end the script element early
            data = json.dumps(manifest, ensure_ascii=False).replace("</", "<\\/")
            parts.append(f'<script type="application/json" class="gdl-frames">{data}</script>')
        return '<div class="gdl-explorer">\n' + "\n".join(parts) + "\n</div>"

    def _repr_mimebundle_(self, include=None, exclude=None):
        png = self.png()
        text = self.readout()
        plain = "\n".join(filter(None, [self.title, text, STATIC_NOTE]))
        bundle = {"text/html": self.static_html(png), "text/plain": plain}
        if not rendering():
            # JupyterLab prefers the live widget; viewers that cannot run it fall back to the
            # picture and its readout.
            html = bundle["text/html"]
            bundle.update(self.widget()._repr_mimebundle_())
            bundle["text/html"] = html
            bundle["image/png"] = png
            bundle["text/plain"] = plain
        return bundle


def _fit_labels(controls) -> None:
    """Give every label the room of the longest, so none is cut ("learning r…") and the sliders
    line up; a width a chapter set itself is kept. Checkboxes carry their label beside the box."""
    labelled = [
        c for c in controls if getattr(c, "description", "") and type(c).__name__ != "Checkbox"
    ]
    if not labelled:
        return
    width = f"{0.62 * max(len(c.description) for c in labelled) + 1:.1f}em"
    for control in labelled:
        if not control.style.description_width:
            control.style.description_width = width


_EXPORTED = itertools.count()  # explorers exported in this kernel: their frame folders' numbers


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


def _control_values(control, steps: int) -> list:
    options = getattr(control, "options", None)
    if options:
        values = [o[1] if isinstance(o, tuple) else o for o in options]
    elif isinstance(control.value, bool):
        values = [not control.value, control.value]
    elif hasattr(control, "min") and hasattr(control, "max"):
        lo, hi = control.min, control.max
        if hasattr(control, "base"):  # log slider: min/max are exponents
            values = [control.base ** (lo + (hi - lo) * i / (steps - 1)) for i in range(steps)]
        else:
            values = [lo + (hi - lo) * i / (steps - 1) for i in range(steps)]
            if isinstance(control.value, int):
                values = [int(round(v)) for v in values]
    else:
        values = [control.value]
    if len(values) > steps:
        stride = (len(values) - 1) / (steps - 1)
        values = [values[round(i * stride)] for i in range(steps)]
    return values
