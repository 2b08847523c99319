"""Sliders wired to a pure function ``state -> figure``, and a static picture of the start.

An :class:`Explorer` holds the controls and the drawing function; tests and benchmarks call
``explorer.figure(**state)`` without a browser. In JupyterLab it shows live sliders over a
PNG image; when notebooks are rendered (``GDLESSONS_RENDER=1``) it shows only the static figure
of its initial state, so GitHub and HTML readers see what the sliders start from.

Chapters expose ``EXPLORERS = {name: factory}`` in their modules so that
``benchmarks/widgets.py`` can find and time every explorer (:func:`all_explorers`).
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Mapping

from matplotlib.figure import Figure

from gdlessons.plots import figure_png
from gdlessons.progress import rendering

STATIC_NOTE = "(A static picture of the explorer's initial state: run this cell in JupyterLab to move the sliders.)"


class Explorer:
    """Bind ipywidgets controls to ``draw(**state) -> Figure``.

    ``controls`` maps each keyword of ``draw`` to a ValueWidget (slider, toggle, dropdown).
    ``readout(state)`` may return a short text shown under the figure (counts, labels).

    >>> import ipywidgets as w
    >>> from gdlessons.plots import new_axes
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
        self.initial = self.state()
        self._box = None

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
        return figure_png(self.figure(**state), dpi=self.dpi)

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

    def _repr_mimebundle_(self, include=None, exclude=None):
        png = self.png()
        text = self.readout()
        plain = "\n".join(filter(None, [self.title, text, STATIC_NOTE]))
        bundle = {"image/png": png, "text/plain": plain}
        if not rendering():
            # JupyterLab prefers the live widget; viewers that cannot run it fall back to the PNG.
            bundle.update(self.widget()._repr_mimebundle_())
            bundle["image/png"] = png
            bundle["text/plain"] = plain
        return bundle


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


def all_explorers() -> dict[str, Callable[[], Explorer]]:
    """Every explorer factory the course defines: the ``EXPLORERS`` dicts of its modules."""
    import gdlessons

    found: dict[str, Callable[[], Explorer]] = {}
    for info in pkgutil.walk_packages(gdlessons.__path__, "gdlessons."):
        if info.name.endswith("__main__"):
            continue
        module = importlib.import_module(info.name)
        found.update(getattr(module, "EXPLORERS", {}))
    return found
