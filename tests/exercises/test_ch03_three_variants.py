import pytest

from gdlessons.exercises import ch03_three_variants as ch02

RIGHT = {"q1": 128, "q2": "iteration", "q3": 111.0, "q4": 128}
WRONG = {"q1": 1000, "q2": "epoch", "q3": 100.0, "q4": 64}


@pytest.mark.parametrize("name", sorted(RIGHT))
def test_right_wrong_and_missing_answers(name):
    q = getattr(ch02, name)
    assert q.check(RIGHT[name]).status == "correct"
    wrong = q.check(WRONG[name])
    assert wrong.status == "incorrect"
    assert str(RIGHT[name]) not in wrong.message
    assert q.check(...).status == "not attempted"


def test_choice_ignores_case_and_spaces():
    assert ch02.q2.check("  Iteration ").correct


def test_an_answer_of_the_wrong_shape_is_feedback_not_a_crash():
    assert ch02.q1.check("many").status == "incorrect"


@pytest.mark.parametrize("name", sorted(RIGHT))
def test_hint_and_solution_print_and_return_text(name, capsys):
    q = getattr(ch02, name)
    assert q.hint() and q.solution()
    assert name in capsys.readouterr().out
