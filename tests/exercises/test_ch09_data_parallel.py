import pytest

from gdlessons.exercises import ch09_data_parallel as ch07

RIGHT = {"q1": 128, "q2": 2, "q3": "mean"}
WRONG = {"q1": 32, "q2": 0, "q3": "sum"}


@pytest.mark.parametrize("name", sorted(RIGHT))
def test_right_wrong_and_missing_answers(name):
    q = getattr(ch07, name)
    assert q.check(RIGHT[name]).correct
    assert q.check(WRONG[name]).status == "incorrect"
    assert q.check(...).status == "not attempted"
