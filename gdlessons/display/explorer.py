"""Sliders wired to a pure function ``state -> figure``, and a static picture of the start.

An :class:`Explorer` holds the controls and the drawing function; tests and benchmarks call
``explorer.figure(**state)`` without a browser. In JupyterLab it shows live sliders over a
PNG image; when notebooks are rendered (``GDLESSONS_RENDER=1``) it shows only the static figure
of its initial state, so GitHub and HTML readers see what the sliders start from.

A slider move is cheap because every explorer draws through one
:class:`~gdlessons.display.redraw.Redraw`: a draw function that builds a fresh figure per state
gets the layout of the first remembered; one that keeps a figure and moves a few artists
(``set_animated(True)``) gets the rest drawn once per ``background(**state)`` key. Each
finished figure is collected at once, so no redraw pays for a full garbage collection of the
kernel's heap. Pictures are shown at their size in inches
(:data:`~gdlessons.display.sizes.INCH_PX` CSS pixels per inch) and stored twice as dense.

Chapters expose ``EXPLORERS = {name: factory}`` in their modules so that
``benchmarks/widgets.py`` can find and time every explorer (``gdlessons.chapters.all_explorers``).
"""

from __future__ import annotations

import gc
import io
import itertools
from collections.abc import Callable, Hashable, Mapping
from contextlib import contextmanager

from matplotlib.figure import Figure

from gdlessons.display.plots import panel_places
from gdlessons.display.redraw import FAST, Redraw
from gdlessons.display.sizes import DENSITY, check
from gdlessons.settings import frames_folder, frames_url, rendering

STATIC_NOTE = "(A static picture of the explorer's initial state: run this cell in JupyterLab to move the sliders.)"


class Explorer:
    """Bind ipywidgets controls to ``draw(**state) -> Figure``.

    ``controls`` maps each keyword of ``draw`` to a ValueWidget (slider, toggle, dropdown).
    ``readout(state)`` may return a short text shown under the figure (counts, labels).
    ``background(state)`` names the still part of a kept figure, for a ``draw`` that returns
    one figure with its moving artists animated (see :mod:`gdlessons.display.redraw`);
    ``check_backgrounds=True`` (the tests) raises if a key is reused after that part changed.

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
        background: Callable[..., Hashable] | None = None,
        density: float = DENSITY,
        remember_layouts: bool = True,
        check_backgrounds: bool = False,
        start: Mapping[str, object] | None = None,
    ):
        """``start`` maps control names to the values the caller asked them to start from:
        ipywidgets would clamp a value outside a slider's range (or fail on one not among its
        options), so each is checked first (:func:`check_start`) and named if not allowed."""
        if not callable(draw):
            raise TypeError(f"draw must be a function state -> Figure, got {type(draw).__name__}")
        if not controls:
            raise ValueError("controls must name at least one widget")
        for name, control in controls.items():
            if not hasattr(control, "value"):
                raise TypeError(
                    f"controls[{name!r}] must be an ipywidgets value widget, got {type(control).__name__}"
                )
        for name, value in (start or {}).items():
            if name not in controls:
                raise ValueError(f"start keys must be among {sorted(controls)}, got {name!r}")
            check_start(name, value, controls[name])
        self.draw = draw
        self.controls = dict(controls)
        self.title = title
        self.readout_fn = readout
        self.background = background
        self.initial = self.state()
        self._box = None
        self._redraw = Redraw(
            density, remember_layouts=remember_layouts, check_backgrounds=check_backgrounds
        )

    @property
    def density(self) -> float:
        """Pixels per CSS pixel of the pictures drawn (the site draws its frames less dense)."""
        return self._redraw.density

    @property
    def check_backgrounds(self) -> bool:
        """Whether each background key seen before is checked against a fresh draw of the still
        part (:class:`~gdlessons.display.redraw.StaleBackground` if they differ). Off in the live
        widget, where it would cost a full draw per move; tests switch it on."""
        return self._redraw.check_backgrounds

    @check_backgrounds.setter
    def check_backgrounds(self, on: bool) -> None:
        if not isinstance(on, bool):
            raise TypeError(f"check_backgrounds must be True or False, got {on!r}")
        self._redraw.check_backgrounds = on

    @contextmanager
    def drawing_at(self, density: float, compress_level: int = FAST, image_format: str = "png"):
        """Draw at another density, format and (PNG) compression inside the ``with`` (the site's
        frames), with a redraw of its own: the live explorer's remembered layouts and backgrounds
        are left as they were, and are back in use afterwards."""
        live = self._redraw
        self._redraw = Redraw(
            density,
            remember_layouts=live.remember_layouts,
            compress_level=compress_level,
            image_format=image_format,
            check_backgrounds=live.check_backgrounds,
        )
        try:
            yield self
        finally:
            self._redraw = live

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
        return self.encode(self.picture(**state))

    def picture(self, **state):
        """The figure for ``state`` drawn as :meth:`png` draws it, as an RGB image not yet
        encoded (:meth:`encode`): the site's frames encode one while the next is drawn."""
        # A figure is a web of reference cycles that only the cycle collector frees. Collected
        # mid-draw, its objects get promoted to the oldest generation, whose full collections
        # (every few dozen redraws) pause for a scan of the whole heap: half a second in a
        # kernel holding torch. Collect once afterwards instead, while it is all still young.
        collecting = gc.isenabled()
        gc.disable()
        key = self.background(**{**self.initial, **state}) if self.background else None
        try:
            return self._drawn(self.figure(**state), key)  # no name holds the figure after
        finally:
            if collecting:
                gc.enable()
                gc.collect(0)

    def encode(self, picture) -> bytes:
        """A :meth:`picture` as bytes in this explorer's image format (safe in another thread)."""
        return self._redraw.encode(picture)

    def render(self, fig: Figure, background: Hashable = None) -> bytes:
        """PNG bytes of ``fig``, one of this explorer's figures, drawn as little as the move
        needs (:class:`~gdlessons.display.redraw.Redraw`). A render (papermill, the tests, the
        site) also holds it to the course's figure sizes (:func:`gdlessons.display.sizes.check`)."""
        return self.encode(self._drawn(fig, background))

    def _drawn(self, fig: Figure, background: Hashable):
        picture = self._redraw.picture(fig, background)
        if rendering():
            check(fig)
        return picture

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
        png = self.png()
        width = self.shown_width(png)
        image = w.Image(
            value=png, format="png", layout=w.Layout(width=f"{width}px", max_width="100%")
        )
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

    def shown_width(self, picture: bytes) -> int:
        """The CSS width a picture is shown at: its pixel width over the density it was drawn
        at, so it is never scaled and its text keeps its size."""
        if picture[:8] == b"\x89PNG\r\n\x1a\n":  # the width is in the header: no decoding
            pixels = int.from_bytes(picture[16:20], "big")
        else:
            from PIL import Image

            pixels = Image.open(io.BytesIO(picture)).size[0]
        return round(pixels / self._redraw.density)

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
        picture = f'src="data:image/png;base64,{base64.b64encode(png).decode()}"'
        width = self.shown_width(png)
        folder, data = frames_folder(), None
        if folder is not None:
            # imported here, not at the top: frames is built on this module (it draws an
            # Explorer's states), and only a build of the static site needs it
            from gdlessons.display.frames import export_frames

            number = next(_EXPORTED)
            url = f"{frames_url()}/explorer-{number}"
            manifest = export_frames(self, folder / f"explorer-{number}", url)
            # The page shows the start state's frame file, fetched once and only when scrolled
            # near, instead of a second copy of it inline in the page.
            first = manifest["frames"][",".join(str(c["initial"]) for c in manifest["controls"])]
            picture, width = (
                f'src="{html.escape(first["src"], quote=True)}" loading="lazy"',
                first["width"],
            )
            # "</" never appears inside the JSON, so it cannot end the script element early
            data = json.dumps(manifest, ensure_ascii=False).replace("</", "<\\/")
        # where each panel sits ("top; bottom left; ..."), for texts that say "the right panel"
        places = "; ".join(filter(None, panel_places(self.figure()).values()))
        layout = f' data-panels="{html.escape(places, quote=True)}"' if places else ""
        parts.append(
            f'<img class="gdl-figure" alt="{alt}" width="{width}"{layout} '
            f'style="max-width:100%;height:auto" {picture}/>'
        )
        text = self.readout()
        if text:
            parts.append(f'<pre class="gdl-readout">{html.escape(text)}</pre>')
        parts.append(f'<p class="gdl-note"><i>{html.escape(STATIC_NOTE)}</i></p>')
        if data is not None:
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


def slider_range(control) -> tuple[float, float] | None:
    """The values a slider allows, (low, high), in the units of its value (a log slider's
    ``min`` and ``max`` are exponents); None for a control without a range."""
    if not hasattr(control, "value"):
        raise TypeError(f"control must be an ipywidgets value widget, got {type(control).__name__}")
    if not (hasattr(control, "min") and hasattr(control, "max")):
        return None
    lo, hi = control.min, control.max
    if hasattr(control, "base"):
        return control.base**lo, control.base**hi
    return lo, hi


def check_start(name: str, value, control) -> None:
    """Raise, naming ``name``, ``value`` and what is allowed, unless ``control`` can start at
    ``value``: one of its options, inside its slider range (no silent clamp), or a bool for a
    checkbox.

    >>> import ipywidgets as w
    >>> check_start("n", 2, w.IntSlider(value=2, min=4, max=200))
    Traceback (most recent call last):
    ...
    ValueError: n must be between 4 and 200 (the range of its slider), got 2
    """
    import math
    from numbers import Integral, Real

    options = getattr(control, "options", None)
    if options:
        allowed = [o[1] if isinstance(o, tuple) else o for o in options]
        if value not in allowed:
            raise ValueError(f"{name} must be one of {allowed}, got {value!r}")
        return
    if isinstance(control.value, bool):
        if not isinstance(value, bool):
            raise TypeError(f"{name} must be True or False, got {value!r}")
        return
    bounds = slider_range(control)
    if bounds is None:
        return
    whole = isinstance(control.value, int)
    if isinstance(value, bool) or not isinstance(value, Integral if whole else Real):
        kind = "an integer" if whole else "a number"
        raise TypeError(f"{name} must be {kind}, got {value!r} ({type(value).__name__})")
    lo, hi = bounds
    # a log slider's bounds are powers: allow their rounding
    slack = 1e-9 * max(abs(lo), abs(hi)) if hasattr(control, "base") else 0.0
    if not (isinstance(value, Integral) or math.isfinite(value)) or not (
        lo - slack <= value <= hi + slack
    ):
        raise ValueError(
            f"{name} must be between {lo:g} and {hi:g} (the range of its slider), got {value!r}"
        )


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
