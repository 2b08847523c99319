"""A figure's description names places that figure has: the text next to a figure that says
"top left" or "the right panel" is checked against where the figure's panels are.

Every stored figure carries, in its alt text, each panel's place when there are several
(``top left: Loss (x: epoch; y: MSE)``, :func:`gdlessons.display.plots.describe`); an
explorer's picture carries them in ``data-panels``. A place word in the markdown right before or
after a figure's cell must be one of those places: a text that calls a stacked figure
"left, middle and right" fails here.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).parents[2] / "notebooks").glob("[0-9][0-9]_*.ipynb"))
PLACE = r"(top|bottom|left|right|middle|upper|lower)(?:[ -](left|right|middle))?"
# Three ways the course says where a panel is: "(top left)", "Top: ..." opening a sentence or
# a list item, and "the right panel".
PHRASES = (
    re.compile(rf"\({PLACE}\s*(?:\)|,\s*[a-z])", re.I),  # not "(left, ★)", a point in a panel
    re.compile(rf"(?:^|[.:;!?]\s+|^[-*]\s+)(?:\*\*)?{PLACE}(?:\*\*)?[:,]", re.I | re.M),
    re.compile(rf"\bthe {PLACE} (?:panel|plot|graph|picture|map|heat map)s?\b", re.I),
)
SYNONYMS = {"upper": "top", "lower": "bottom"}
ALT_PLACE = re.compile(rf"(?:^|, |\. ){PLACE}: ", re.I)
DATA_PANELS = re.compile(r'data-panels="([^"]*)"')


def said_places(text: str) -> set[str]:
    """The panel places a markdown text names, as "top", "bottom left", ... (lower case).

    >>> sorted(said_places("Top: the loss. Per sample seen (bottom right), and the upper panel"))
    ['bottom right', 'top']
    """
    found = set()
    for pattern in PHRASES:
        for match in pattern.finditer(text):
            first, second = match.group(1).lower(), (match.group(2) or "").lower()
            found.add(" ".join(filter(None, [SYNONYMS.get(first, first), second])))
    return found


def figure_places(output: dict) -> list[set[str]]:
    """The places of each picture in one cell output: from a figure's alt text, or from an
    explorer's ``data-panels``. An empty set is a figure of one panel."""
    data, meta = output.get("data", {}), output.get("metadata", {})
    found = []
    if "image/png" in data:
        alt = meta.get("image/png", {}).get("alt", "")
        found.append({" ".join(filter(None, m.groups())).lower() for m in ALT_PLACE.finditer(alt)})
    html = "".join(data.get("text/html", ""))
    if "gdl-explorer" in html:
        match = DATA_PANELS.search(html)
        found.append(set(match.group(1).split("; ")) if match else set())
    return found


def matches(place: str, places: set[str]) -> bool:
    """Whether a said place fits a figure: "top left" must be one of its places; "left" any
    place in its left column ("left", "top left", ...)."""
    return place in places or (" " not in place and any(place in p.split() for p in places))


def described_figures(path: Path):
    """(cell index, text, places said, the pictures of the code cells between this text and
    the texts before and after it)."""
    cells = json.loads(path.read_text())["cells"]
    for i, cell in enumerate(cells):
        if cell["cell_type"] != "markdown":
            continue
        text = "".join(cell["source"])
        said = said_places(text)
        if not said:
            continue
        near = []
        for step in (-1, 1):  # the run of code cells on either side, up to the next text
            j = i + step
            while 0 <= j < len(cells) and cells[j]["cell_type"] == "code":
                near.append(cells[j])
                j += step
        pictures = [
            places
            for c in near
            if c["cell_type"] == "code"
            for output in c.get("outputs", [])
            for places in figure_places(output)
        ]
        yield i, text, said, pictures


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name[:2])
def test_every_place_a_text_names_is_a_panel_of_the_figure_beside_it(path):
    wrong = []
    for i, _text, said, pictures in described_figures(path):
        if not pictures:
            wrong.append(f"cell {i} names panels {sorted(said)} but no figure is next to it")
            continue
        missing = {p for p in said if not any(matches(p, places) for places in pictures)}
        if missing:
            shown = [sorted(places) or ["one panel"] for places in pictures]
            wrong.append(f"cell {i} says {sorted(missing)}; the figures beside it have {shown}")
    assert not wrong, "\n".join(wrong)


def test_the_check_catches_a_stacked_figure_described_left_to_right():
    stacked = [{"top"}, {"middle"}, {"bottom"}]
    places = set().union(*stacked)
    said = said_places("Left, the rate. The middle panel shows the loss (right).")
    assert said == {"left", "middle", "right"}
    assert {p for p in said if not matches(p, places)} == {"left", "right"}
