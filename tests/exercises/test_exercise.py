"""The exercise mechanism every chapter uses."""

import math

import pytest

from gdlessons.exercises import Exercise, expect_choice, expect_close, expect_int


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
