import math

import pytest

from gdlessons.exercises import ch00_welcome as ch00

RIGHT = {"q1": 1056, "q2": math.sqrt(2 / 64), "q3": "learning rate", "q4": 0.1}
WRONG = {"q1": 1024, "q2": math.sqrt(1 / 64), "q3": "weight of layer 2", "q4": 0.01}


@pytest.mark.parametrize("name", sorted(RIGHT))
def test_right_wrong_and_missing_answers(name):
    q = getattr(ch00, name)
    assert q.check(RIGHT[name]).status == "correct"
    wrong = q.check(WRONG[name])
    assert wrong.status == "incorrect"
    assert str(RIGHT[name]) not in wrong.message
    assert q.check(...).status == "not attempted"
