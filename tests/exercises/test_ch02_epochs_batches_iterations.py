import pytest

from gdlessons.exercises import ch02_epochs_batches_iterations as ch01

RIGHT = {"q1": 29, "q2": 28, "q3": 5, "q4": 0.368, "q5": 128, "q6": "B=32"}
WRONG = {"q1": 28, "q2": 29, "q3": 64, "q4": 0.632, "q5": 1000, "q6": "same"}


@pytest.mark.parametrize("name", sorted(RIGHT))
def test_right_wrong_and_missing_answers(name):
    q = getattr(ch01, name)
    assert q.check(RIGHT[name]).status == "correct"
    wrong = q.check(WRONG[name])
    assert wrong.status == "incorrect"
    assert str(RIGHT[name]) not in wrong.message
    assert q.check(...).status == "not attempted"


def test_answers_follow_the_counting_rules():
    from gdlessons.batching import iterations_per_epoch

    assert ch01.q1.check(iterations_per_epoch(1797, 64)).correct
    assert ch01.q2.check(iterations_per_epoch(1797, 64, drop_last=True)).correct
    assert ch01.q3.check(1797 - 28 * 64).correct
    assert ch01.q4.check((1 - 1 / 1438) ** 1438).correct


def test_close_answers_to_the_fraction_are_accepted_and_far_ones_are_not():
    assert ch01.q4.check(0.37).correct
    assert ch01.q4.check(0.5).status == "incorrect"


def test_choice_ignores_case_and_spaces():
    assert ch01.q6.check("  b=32 ").correct


def test_an_answer_of_the_wrong_shape_is_feedback_not_a_crash():
    assert ch01.q1.check("many").status == "incorrect"
    assert ch01.q4.check("a third").status == "incorrect"


@pytest.mark.parametrize("name", sorted(RIGHT))
def test_hint_and_solution_print_and_return_text(name, capsys):
    q = getattr(ch01, name)
    assert q.hint() and q.solution()
    assert name in capsys.readouterr().out
