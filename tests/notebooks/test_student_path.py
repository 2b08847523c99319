"""A student's path through chapter 01: every your-turn cell filled in with answers of the test's
own (written differently from the course's), or every one left blank. Both reach the end, and
each your-turn check says which function the story went on with. Every chapter filled in with
the course's solutions is run by the site's build (tests/browser/test_site.py)."""

from __future__ import annotations

import inspect
import json
import re
import textwrap

import pytest

from gdlessons.exercises.your_turn import fill_in, solutions, your_turn_cells
from gdlessons.render import execute
from tests.exercises import test_ch01_training_loop as ch01_answers
from tests.notebooks.conftest import ROOT, offdefault_params

CHAPTER_01 = ROOT / "notebooks" / "01_training_loop.ipynb"


def as_answer(fn, name: str) -> str:
    """The source of a test's answer ``fn``, defining it under the notebook's name."""
    source = textwrap.dedent(inspect.getsource(fn))
    return re.sub(rf"def {fn.__name__}\(", f"def {name}(", source, count=1)


ANSWERS_01 = {
    "t1": as_answer(ch01_answers._t1_optim, "step_and_zero"),
    "t2": as_answer(ch01_answers._t2_loop, "line_gradients"),
    "t3": as_answer(ch01_answers._t3_one_iterator, "train_one_epoch"),
}


def _shown(cell: dict) -> str:
    return "".join("".join(o.get("text", "")) for o in cell.get("outputs", []))


def _run(notebook: dict, tmp_path, parameters: dict | None = None) -> dict:
    """Run ``notebook`` (a chapter, changed) in the chapters' folder; raises if a cell fails."""
    source, output = tmp_path / "in.ipynb", tmp_path / "out.ipynb"
    source.write_text(json.dumps(notebook))
    execute(source, output, parameters, cwd=CHAPTER_01.parent)
    return json.loads(output.read_text())


def _use_cell_output(ran: dict, question: str) -> str:
    [shown] = [_shown(c) for c in ran["cells"] if f"ex.{question}.use(" in "".join(c["source"])]
    return shown


@pytest.mark.parametrize("path", ["filled", "blank"])
def test_chapter_01_runs_to_its_end_with_every_your_turn_cell_filled_or_blank(path, tmp_path):
    notebook = json.loads(CHAPTER_01.read_text())
    turns = your_turn_cells(notebook)
    assert set(ANSWERS_01) == set(solutions(CHAPTER_01)) == {t.question for t in turns}
    if path == "filled":
        notebook = fill_in(notebook, ANSWERS_01)
        assert all(
            ANSWERS_01[t.question].strip() == notebook["cells"][t.index]["source"] for t in turns
        )
    ran = _run(notebook, tmp_path, offdefault_params(CHAPTER_01) if path == "blank" else None)
    for turn in turns:
        shown = _use_cell_output(ran, turn.question)
        if path == "filled":
            assert f"✓ {turn.question}: correct" in shown, shown
            assert f"goes on with your `{turn.function}`" in shown
        else:
            assert f"{turn.question}: not attempted" in shown
            assert f"goes on with the course's `{turn.function}`" in shown
    last = (
        _shown(ran["cells"][-2])
        if ran["cells"][-1]["cell_type"] == "markdown"
        else _shown(ran["cells"][-1])
    )
    assert "questions attempted" in last
    mark = "✓" if path == "filled" else "…"
    assert all(f"{mark} {t.question}:" in last for t in turns), last


def test_an_instructor_renders_the_answer_key_beside_the_stored_chapter(tmp_path, monkeypatch):
    """``python -m gdlessons.render --answers --into DIR 01``: the chapter with every your-turn
    cell filled with the course's solution, run, in DIR; the stored chapter is left alone."""
    from gdlessons.render import main

    stored = CHAPTER_01.read_bytes()
    monkeypatch.chdir(ROOT)
    assert main(["--answers", "--into", str(tmp_path), "01"]) == 0
    assert CHAPTER_01.read_bytes() == stored
    key = json.loads((tmp_path / CHAPTER_01.name).read_text())
    for turn in your_turn_cells(key):
        assert "".join(key["cells"][turn.index]["source"]) == solutions(CHAPTER_01)[
            turn.question
        ].strip("\n")
        assert f"goes on with your `{turn.function}`" in _shown(key["cells"][turn.index + 1])
