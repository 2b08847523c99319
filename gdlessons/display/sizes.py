"""How big the course's figures are shown and how densely they are stored: one place, so the
notebooks, the explorers and the static site agree, and tests can hold every figure to it."""

from __future__ import annotations

INCH_PX = 96
"""CSS pixels per figure inch: a figure is shown at its size in inches and its 9-pt text reads
as 9 pt, the smallest the course's figures use."""
OUTPUT_WIDTH_PX = 720
"""The width every figure fits: the explorers' output column (a notebook in a 1280-px window)."""
MAX_WIDTH_IN = OUTPUT_WIDTH_PX / INCH_PX
"""The widest figure, in inches (7.5): wider ones would be shrunk and their text with them."""
MIN_FONT_PT = 9.0
"""The smallest text a figure may carry."""
DENSITY = 2
"""Stored pixels per CSS pixel: pictures stay sharp on high-density (2x) screens."""


def problems(fig) -> list[str]:
    """What keeps a drawn figure from being shown at its natural size and read: wider than the
    output column, or visible text smaller than :data:`MIN_FONT_PT`. Empty when it is fine.

    >>> from matplotlib.figure import Figure
    >>> fig = Figure(figsize=(9, 3)); ax = fig.subplots(); _ = ax.set_title("t", fontsize=7)
    >>> problems(fig)
    ['9.0 in wide (at most 7.5 in fit the 720-px output)', "7-pt text 't' (at least 9 pt)"]
    """
    from matplotlib.figure import Figure, SubFigure

    from gdlessons._validate import check_instance

    check_instance("fig", fig, (Figure, SubFigure), "a matplotlib Figure or SubFigure")
    from matplotlib.text import Text

    found = []
    width = float(fig.get_size_inches()[0])
    if width > MAX_WIDTH_IN + 1e-6:
        found.append(
            f"{width:.1f} in wide (at most {MAX_WIDTH_IN:g} in fit the {OUTPUT_WIDTH_PX}-px output)"
        )
    small = {}
    for text in fig.findobj(Text):
        if (
            text.get_visible()
            and text.get_text().strip()
            and text.get_fontsize() < MIN_FONT_PT - 1e-6
        ):
            small.setdefault(round(text.get_fontsize(), 1), text.get_text())
    found += [
        f"{size:g}-pt text {label!r} (at least {MIN_FONT_PT:g} pt)" for size, label in small.items()
    ]
    return found


def check(fig) -> None:
    """Raise ValueError naming :func:`problems` of ``fig``; the course's renders call it, so a
    figure too wide or with too small text fails the notebook tests instead of shipping."""
    from matplotlib.figure import Figure, SubFigure

    from gdlessons._validate import check_instance

    check_instance("fig", fig, (Figure, SubFigure), "a matplotlib Figure or SubFigure")
    found = problems(fig)
    if found:
        title = next((t.get_text() for ax in fig.axes for t in [ax.title] if t.get_text()), "")
        raise ValueError(f"figure {title!r} is not readable as shown: " + "; ".join(found))
