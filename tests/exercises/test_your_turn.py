"""Your-turn cells: the check hands the story the student's function once it passes, the course's
until then; a `...` left in the body is "not attempted"; cells are filled in for answer keys."""

from __future__ import annotations

import pytest
import torch

from gdlessons.exercises.code import CodeExercise, same_tensors
from gdlessons.exercises.your_turn import TAG, fill_in, solutions, your_turn_cells


def _double(x):
    return 2 * x


def _question():
    return CodeExercise(
        "t1", "Double x.", reference=_double, cases=lambda: [dict(x=torch.arange(3.0))],
        compare=same_tensors(name="the result"), hint=["Twice.", "2 * x"],
        solution="def double(x):\n    return 2 * x",
    )  # fmt: skip


def double_blank(x):
    y = x.clone()
    ...  # your code: scale y
    return y


def double_partly(x):
    y = x + x
    ...
    return y


def test_use_goes_on_with_the_students_function_once_it_passes(capsys):
    q = _question()

    def double(x):
        return x + x

    assert q.use(double) is double
    shown = capsys.readouterr().out
    assert "✓ t1: correct" in shown and "goes on with your `double`" in shown


@pytest.mark.parametrize(
    ("fn", "status", "says"),
    [(..., "not attempted", "The chapter goes on with the course's"),
     (double_blank, "not attempted", "Line 3 of `double_blank` is still `...`"),
     (lambda x: 3 * x, "incorrect", "Until yours passes, the chapter goes on with the course's")],
)  # fmt: skip
def test_use_goes_on_with_the_reference_until_then_and_says_so(fn, status, says, capsys):
    q = _question()
    assert q.use(fn) is _double
    shown = capsys.readouterr().out
    assert f"t1: {status}" in shown and says in shown and "ex.t1.solution()" in shown
    assert q.best_result.status == status


def test_a_left_over_ellipsis_does_not_matter_once_the_function_is_right():
    assert _question().check(double_partly).correct


def _cell(source, *tags, kind="code"):
    return {"cell_type": kind, "metadata": {"tags": list(tags)}, "source": source,
            "outputs": ["old"], "execution_count": 3}  # fmt: skip


def _notebook(check="f = ex.t1.use(f)"):
    return {"cells": [_cell("intro", kind="markdown"), _cell("def f(x):\n    ...", TAG),
                      _cell(f"# Stuck? ex.t1.hint()\n{check}"), _cell("f(1)")]}  # fmt: skip


def test_cells_are_found_and_filled_with_the_given_answers():
    nb = _notebook()
    [turn] = your_turn_cells(nb)
    assert (turn.index, turn.question, turn.function) == (1, "t1", "f")
    filled = fill_in(nb, {"t1": "def f(x):\n    return x\n"})
    assert filled["cells"][1]["source"] == "def f(x):\n    return x"
    assert filled["cells"][1]["outputs"] == [] and nb["cells"][1]["source"] == "def f(x):\n    ..."


@pytest.mark.parametrize(
    ("nb", "answers", "error"),
    [(_notebook(check="ex.t1.check(f)"), {}, "must be followed by a code cell that ends with"),
     (_notebook(check="g = ex.t1.use(g)"), {}, "does not define g()"),
     (_notebook(), {}, r"missing \['t1'\]"),
     (_notebook(), {"t1": "def f(x): return x", "t2": "def g(): pass"}, r"unknown \['t2'\]"),
     (_notebook(), {"t1": "def g(x): return x"}, "the answer to t1 does not define f()")],
)  # fmt: skip
def test_a_broken_cell_or_answer_is_named(nb, answers, error):
    with pytest.raises(ValueError, match=error):
        fill_in(nb, answers)


def test_the_solutions_come_from_the_chapters_exercises_module():
    found = solutions("notebooks/01_training_loop.ipynb")
    assert found and all(name.startswith("t") and "def " in code for name, code in found.items())
