import pytest

from gdlessons.exercises import ch05_learning_rate as ch04

RIGHT = {"q1": 0.5, "q2": 0.25, "q3": "oscillating", "q4": 0.2}
WRONG = {"q1": 0.25, "q2": 0.5, "q3": "divergent", "q4": 4.0}


@pytest.mark.parametrize("name", sorted(RIGHT))
def test_right_wrong_and_missing_answers(name):
    q = getattr(ch04, name)
    assert q.check(RIGHT[name]).status == "correct"
    wrong = q.check(WRONG[name])
    assert wrong.status == "incorrect"
    assert str(RIGHT[name]) not in wrong.message
    assert q.check(...).status == "not attempted"


def test_answers_agree_with_the_landscapes_module():
    from gdlessons.landscapes import regime, stable_lr

    assert float(stable_lr(4.0)) == RIGHT["q1"]
    assert regime(0.4, 4.0) == RIGHT["q3"]
    assert float(stable_lr(10.0)) == RIGHT["q4"]


def test_wrong_type_is_feedback_not_a_crash():
    assert ch04.q1.check("half").status == "incorrect"
    assert ch04.q3.check(" Oscillating ").correct
