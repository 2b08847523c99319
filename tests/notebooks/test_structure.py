"""What a reader meets in each committed chapter: rendered, in order, clean, and well-formed."""

from __future__ import annotations

import ast
import base64
import html
import json
import re

import pytest

from gdlessons.display.explorer import STATIC_NOTE
from gdlessons.display.sizes import DENSITY, OUTPUT_WIDTH_PX
from tests.notebooks.conftest import NOTEBOOKS, load, notebook_ids

MACHINE_PATHS = re.compile(r"(/tmp/|/root/|/home/\w+/|/Users/\w+/|site-packages/)")
SEEDING = re.compile(r"\b(setup|seed_everything|manual_seed)\(")
RANDOMNESS = re.compile(
    r"\b(train|sweep|lr_range_test|torch\.rand\w*|np\.random|tutorial_mlp|quadratic_data|linear_data|digits_data)\("
)
WIDGET = "application/vnd.jupyter.widget-view+json"

pytestmark = pytest.mark.parametrize("notebook", NOTEBOOKS, ids=notebook_ids())


def code_cells(nb):
    return [c for c in nb["cells"] if c["cell_type"] == "code" and "".join(c["source"]).strip()]


def outputs(nb):
    return [o for c in code_cells(nb) for o in c.get("outputs", [])]


def test_has_parameters_cell(notebook):
    tagged = [c for c in load(notebook)["cells"] if "parameters" in c["metadata"].get("tags", [])]
    assert len(tagged) == 1, "exactly one cell must be tagged 'parameters'"


def test_seeds_before_any_randomness(notebook):
    cells = ["".join(c["source"]) for c in code_cells(load(notebook))]
    seed_at = next((i for i, s in enumerate(cells) if SEEDING.search(s)), None)
    random_at = next((i for i, s in enumerate(cells) if RANDOMNESS.search(s)), len(cells))
    assert seed_at is not None, "no seed is set (call gdlessons.setup(seed))"
    assert seed_at <= random_at, (
        f"code cell {random_at} uses randomness before the seed is set in cell {seed_at}"
    )


def test_rendered_in_order(notebook):
    counts = [c["execution_count"] for c in code_cells(load(notebook))]
    assert None not in counts, "some cells have no stored output: render the notebook (make render)"
    assert counts == sorted(counts) and counts[0] == 1, "cells were not run top to bottom in one go"


def test_no_errors_warnings_or_machine_paths(notebook):
    for out in outputs(load(notebook)):
        assert out["output_type"] != "error", (
            f"stored error: {out.get('ename')}: {out.get('evalue')}"
        )
        if out.get("name") == "stderr":
            text = "".join(out.get("text", ""))
            assert "Warning" not in text and "Error" not in text, text[:200]
        match = MACHINE_PATHS.search(json.dumps(out))
        assert not match, f"a stored output shows a machine path: {match.group(0)}"


def test_widget_cells_have_static_figure(notebook):
    for out in outputs(load(notebook)):
        data = out.get("data", {})
        if WIDGET in data:
            assert "image/png" in data, (
                "a widget output has no static figure for viewers without widgets"
            )


def test_explorers_store_picture_readout_and_note_as_html(notebook):
    """HTML readers (GitHub, nbviewer, nbconvert, JupyterLab before a run) drop text/plain
    beside a picture: an explorer's readout and its how-to-move note must be in its HTML."""
    found = 0
    for out in outputs(load(notebook)):
        data = out.get("data", {})
        plain = "".join(data.get("text/plain", ""))
        if STATIC_NOTE not in plain:
            continue
        found += 1
        page = "".join(data.get("text/html", ""))
        assert 'src="data:image/png;base64,' in page, "an explorer stores no picture in its HTML"
        assert html.escape(STATIC_NOTE) in page, "an explorer's HTML has no note"
        for line in plain.splitlines():
            assert html.escape(line) in page, f"the explorer's HTML lacks {line!r}"
    assert found, "no explorer output found: every chapter has at least one explorer"


def test_story_shape(notebook):
    markdown = "\n".join(
        "".join(c["source"]) for c in load(notebook)["cells"] if c["cell_type"] == "markdown"
    )
    assert re.search(r"what you will learn", markdown, re.I), "opens without 'What you will learn'"
    assert re.search(r"^#+ .*summary", markdown, re.I | re.M), "no Summary section"
    assert re.search(r"^#+ .*exercises", markdown, re.I | re.M), "no Exercises section"
    assert re.search(r"^#+ .*references", markdown, re.I | re.M), "no References section"
    assert re.search(r"Source tutorial [A-E]", markdown), "the References cite no source tutorial"


def test_cells_are_short(notebook):
    for cell in code_cells(load(notebook)):
        source = "".join(cell["source"])
        imports = set()
        for node in ast.parse(source).body:  # import lists are not work: they do not count
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                imports.update(range(node.lineno, node.end_lineno + 1))
        lines = [
            ln
            for i, ln in enumerate(source.splitlines(), start=1)
            if ln.strip() and not ln.strip().startswith("#") and i not in imports
        ]
        assert len(lines) <= 15, (
            f"a code cell has {len(lines)} lines: move the work into the package"
        )


def _png_size(b64: str) -> tuple[int, int]:
    head = base64.b64decode(b64[:64])
    return int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")


def test_pictures_shown_at_natural_size_and_stored_dense(notebook):
    """Every stored picture says the CSS width it is shown at (so no viewer scales it and its
    text keeps its size), fits the output column, and has DENSITY pixels per CSS pixel."""
    pictures = 0
    for out in outputs(load(notebook)):
        data = out.get("data", {})
        shown = []
        if "image/png" in data:
            meta = out.get("metadata", {}).get("image/png", {})
            assert "width" in meta, "a figure is stored without its shown width"
            shown.append((data["image/png"], int(meta["width"])))
        page = "".join(data.get("text/html", ""))
        for width, b64 in re.findall(
            r'width="(\d+)"[^>]*src="data:image/png;base64,([^"]+)"', page
        ):
            shown.append((b64, int(width)))
        if 'src="data:image/png' in page:
            assert re.search(r'<img [^>]*width="\d+"', page), "an explorer picture has no width"
        for b64, width in shown:
            pictures += 1
            pixels = _png_size(b64)[0]
            assert width <= OUTPUT_WIDTH_PX, f"a picture {width} px wide overflows the output"
            assert abs(pixels - DENSITY * width) <= DENSITY, (
                f"a picture {width} px wide holds {pixels} pixels, not {DENSITY}x"
            )
    assert pictures, "no picture found"


def test_small_on_disk(notebook):
    """The course's budget: a chapter's pictures at 2x density keep it under 3 MB."""
    assert notebook.stat().st_size < 3_000_000, (
        f"{notebook.name} is {notebook.stat().st_size / 1e6:.1f} MB"
    )


def test_each_your_turn_cell_is_checked_right_below_and_the_story_uses_it(notebook):
    """A your-turn cell is followed by its check (``f = ex.tN.use(f)``, which raises here if
    not), and a later cell of the story calls the function the check handed on."""
    from gdlessons.exercises.your_turn import your_turn_cells

    nb = load(notebook)
    sources = ["".join(c["source"]) for c in nb["cells"]]
    for turn in your_turn_cells(nb):
        later = [s for s in sources[turn.index + 2 :] if re.search(rf"\b{turn.function}\(", s)]
        assert later, f"nothing after {turn.question}'s check calls {turn.function}()"


def _greek(text: str) -> set[str]:
    return set(re.findall(r"[α-ωΑ-Ω]", text))


def test_every_greek_symbol_is_in_the_course_notation(notebook):
    """Chapter 00's notation table lists every Greek symbol any chapter's text uses, so one
    symbol means one thing in the whole course (a new one is added to the table, and defined)."""
    welcome = load(NOTEBOOKS[0])
    [table] = ["".join(c["source"]) for c in welcome["cells"]
               if "".join(c["source"]).startswith("## Notation used in every chapter")]  # fmt: skip
    listed = set().union(
        *(_greek(row.split("|")[1]) for row in table.splitlines() if row.startswith("| "))
    )
    used = set().union(
        *(
            _greek("".join(c["source"]))
            for c in load(notebook)["cells"]
            if c["cell_type"] == "markdown"
        )
    )
    assert used <= listed, f"symbols the notation table does not list: {sorted(used - listed)}"
