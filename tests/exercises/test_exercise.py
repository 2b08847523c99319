"""The exercise mechanism every chapter uses."""

import math

import numpy as np
import pytest
import torch

from gdlessons.exercises import (
    Exercise,
    expect_choice,
    expect_close,
    expect_int,
    progress,
    summary,
)


def test_placeholder_is_not_attempted_and_never_raises():
    q = Exercise("q1", "?", expect_int(3), hint="h", solution="3")
    for blank in (..., None):
        result = q.check(blank)
        assert result.status == "not attempted" and not result.correct
        assert "not attempted" in repr(result)


def test_wrong_answers_get_help_without_the_solution():
    q = Exercise("q7", "?", expect_int(42), hint="h", solution="it is 42")
    result = q.check(41)
    assert result.status == "incorrect"
    assert (
        "small" in result.message and "42" not in result.message and "q7.hint()" in result.message
    )


def test_answers_of_the_wrong_shape_are_feedback():
    q = Exercise("q1", "?", expect_int(4), hint="h", solution="4")
    assert q.check("four").status == "incorrect"
    assert q.check([1, 2]).status == "incorrect"
    boom = Exercise("q2", "?", lambda a: 1 / 0, hint="h", solution="s")
    assert "ZeroDivisionError" in boom.check(1).message


def test_hint_and_solution_print_and_return(capsys):
    q = Exercise("q1", "?", expect_int(4), hint="count", solution="four")
    assert q.hint() == "count" and q.solution() == "four"
    assert "Hint for q1: count" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("checker", "right", "wrong"),
    [
        (expect_int(4), 4, 5),
        (expect_close(math.e, rtol=0.01), 2.72, 2.5),
        (expect_close(0.0, atol=1e-3), 1e-4, 0.1),
        (expect_choice("b", ("a", "b")), "B", "a"),
    ],
)
def test_checkers(checker, right, wrong):
    assert checker(right) is None
    assert isinstance(checker(wrong), str)


def test_non_finite_and_bool_answers_are_rejected():
    assert expect_close(1.0)(float("nan")) is not None
    assert expect_int(1)(True) is not None


@pytest.mark.parametrize(
    ("checker", "answer"),
    [
        (expect_int(29), np.int64(29)),
        (expect_int(29), torch.tensor(29)),
        (expect_int(29), np.float32(29.0)),
        (expect_int(29), np.array(29)),
        (expect_close(0.5), np.float64(0.5)),
        (expect_close(0.5), torch.tensor(0.5)),
        (expect_close(0.5), torch.tensor([0.5])),
        (expect_choice("sgd", ("sgd", "adam")), np.str_("SGD")),
    ],
)
def test_numpy_and_torch_scalars_are_answers(checker, answer):
    assert checker(answer) is None


def test_bools_and_multi_element_tensors_are_not_numbers():
    assert expect_int(1)(np.bool_(True)) is not None
    assert expect_int(1)(torch.tensor(True)) is not None
    assert expect_int(1)(torch.tensor([1, 1])) is not None
    assert expect_close(1.0)(torch.ones(2)) is not None


def test_checks_remember_their_last_result_for_progress(capsys):
    import types

    module = types.ModuleType("chapter")
    module.q1 = Exercise("q1", "?", expect_int(1), hint="h", solution="1")
    module.q2 = Exercise("q2", "?", expect_int(2), hint="h", solution="2")
    module.not_a_question = 3
    assert summary(module) == {"q1": "not checked", "q2": "not checked"}
    module.q1.check(1)
    module.q2.check(3)
    progress(module)
    out = capsys.readouterr().out
    assert out.splitlines()[0] == "2 of 2 questions attempted, 1 correct."
    assert "✓ q1: correct" in out and "✗ q2: incorrect" in out
    module.q2.check(...)  # the placeholder again: the best attempt, incorrect, still counts
    assert summary(module)["q2"] == "incorrect"
    module.q1.check(5)  # a wrong answer after a right one: solved stays solved
    assert summary(module)["q1"] == "correct" and module.q1.last_result.status == "incorrect"
    progress([])
    assert "No questions found." in capsys.readouterr().out
    with pytest.raises(TypeError, match="progress"):
        progress(42)


def test_a_question_needs_its_texts():
    with pytest.raises(TypeError, match="hint"):
        Exercise("q1", "?", expect_int(1), hint="", solution="1")


def test_hint_and_solution_print_once_and_show_nothing_more_in_a_notebook(capsys):
    q = Exercise("q1", "2 + 2?", expect_int(4), hint="Count.", solution="4")
    shown = q.hint()
    assert shown == "Count." and capsys.readouterr().out == (
        "Hint for q1: Count. (the last hint: ex.q1.solution() shows the answer)\n"
    )
    assert hasattr(shown, "_ipython_display_") and shown._ipython_display_() is None


def test_hints_in_steps_and_stated_tolerances(capsys):
    q = Exercise(
        "q2", "?", expect_close(0.5, rtol=1e-3), hint=["Nudge.", "The line."], solution="0.5"
    )
    assert q.hint() == "Nudge." and "Hint 1 of 2 for q2" in capsys.readouterr().out
    assert q.hint() == "The line." and "ex.q2.solution()" in capsys.readouterr().out
    assert "(within 0.1% counts)" in q.check(0.7).message
    assert "within a relative 1e-06 counts" in expect_close(1.0, rtol=1e-6)(1.1)


def test_known_mistakes_are_named():
    steps = expect_int(29, mistakes={28: "floor, not ceil"})
    assert steps(28) == "floor, not ceil" and "too large" in steps(30)
    share = expect_close(0.25)
    assert "percentage" in share(25) and "wrong sign" in share(-0.25)
    word = expect_choice(
        "over-fit", ("under-fit", "good fit", "over-fit"), synonyms={"overfit": "over-fit"}
    )
    assert word("Overfit") is None and word(" OVER_FIT ") is None
    with pytest.raises(ValueError, match="right answer itself"):
        expect_int(3, mistakes={3: "x"})
