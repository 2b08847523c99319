"""A student's path through the chapters. Chapter 01 with every your-turn cell filled in with
answers of the test's own (written differently from the course's) runs to its end on the
student's functions; every stored chapter shows the path of a student who left every cell blank.
Every chapter filled in with the course's solutions, at other parameters, is run by the site's
build (tests/browser/test_site.py)."""

from __future__ import annotations

import inspect
import json
import re
import textwrap

import pytest

from gdlessons.exercises.your_turn import fill_in, solutions, your_turn_cells
from gdlessons.render import execute
from tests.exercises import test_ch01_training_loop as ch01_answers
from tests.notebooks.conftest import NOTEBOOKS, ROOT, load, printed

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


def _run(notebook: dict, tmp_path) -> dict:
    """Run ``notebook`` (a chapter, changed) in the chapters' folder; raises if a cell fails."""
    source, output = tmp_path / "in.ipynb", tmp_path / "out.ipynb"
    source.write_text(json.dumps(notebook))
    execute(source, output, cwd=CHAPTER_01.parent)
    return json.loads(output.read_text())


def _use_cell_output(ran: dict, question: str) -> str:
    [shown] = [printed(c) for c in ran["cells"] if f"ex.{question}.use(" in "".join(c["source"])]
    return shown


def _last_output(cells: list[dict]) -> str:
    return printed(cells[-2]) if cells[-1]["cell_type"] == "markdown" else printed(cells[-1])


def test_chapter_01_runs_to_its_end_with_every_your_turn_cell_filled_in(tmp_path):
    notebook = json.loads(CHAPTER_01.read_text())
    turns = your_turn_cells(notebook)
    assert set(ANSWERS_01) == set(solutions(CHAPTER_01)) == {t.question for t in turns}
    notebook = fill_in(notebook, ANSWERS_01)
    assert all(
        ANSWERS_01[t.question].strip() == notebook["cells"][t.index]["source"] for t in turns
    )
    ran = _run(notebook, tmp_path)
    for turn in turns:
        shown = _use_cell_output(ran, turn.question)
        assert f"✓ {turn.question}: correct" in shown, shown
        assert f"goes on with your `{turn.function}`" in shown
    last = _last_output(ran["cells"])
    assert "questions attempted" in last
    assert all(f"✓ {t.question}:" in last for t in turns), last


@pytest.mark.parametrize("chapter", NOTEBOOKS, ids=[nb.stem for nb in NOTEBOOKS])
def test_every_stored_chapter_shows_the_path_of_a_student_who_wrote_nothing(chapter):
    """The stored chapters were run with every your-turn cell blank (and their checked outputs
    are run again by nbval): each check says it was not attempted and hands on the course's
    function, and the chapter's last output lists every question as not yet attempted."""
    stored = load(chapter)
    turns = your_turn_cells(stored)
    for turn in turns:
        shown = _use_cell_output(stored, turn.question)
        assert f"{turn.question}: not attempted" in shown, (chapter.name, shown)
        assert f"goes on with the course's `{turn.function}`" in shown, (chapter.name, shown)
    last = _last_output(stored["cells"])
    assert "questions attempted" in last, (chapter.name, last)
    assert all(f"… {t.question}:" in last for t in turns), (chapter.name, last)


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
        assert f"goes on with your `{turn.function}`" in printed(key["cells"][turn.index + 1])
