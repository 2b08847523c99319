import pytest

from gdlessons.exercises import ch08_batch_size_meets_learning_rate as ch06

RIGHT = {"q1": 8, "q2": "over-fit", "q3": 2.0, "q4": 24}
WRONG = {"q1": 4, "q2": "good fit", "q3": 0.5, "q4": 6}


@pytest.mark.parametrize("name", sorted(RIGHT))
def test_right_wrong_and_missing(name):
    q = getattr(ch06, name)
    assert q.check(RIGHT[name]).status == "correct"
    assert q.check(WRONG[name]).status == "incorrect"
    assert q.check(...).status == "not attempted"


def test_q2_accepts_spacing_and_case():
    assert ch06.q2.check(" Over-Fit ").correct
    assert not ch06.q2.check("overfitting").correct


def test_hints_and_solutions_exist(capsys):
    for name in RIGHT:
        q = getattr(ch06, name)
        assert q.hint() and q.solution()
    assert "Hint for q1" in capsys.readouterr().out
