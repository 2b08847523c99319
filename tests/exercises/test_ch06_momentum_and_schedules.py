"""Chapter 05 exercises: right, wrong and missing answers."""

from __future__ import annotations

import pytest

from gdlessons.exercises import ch06_momentum_and_schedules as ch05

CASES = [
    (ch05.q1, -0.29, -0.19),
    (ch05.q2, 0.669, 0.818),
    (ch05.q3, 0.0125, 0.1),
    (ch05.q4, "pytorch", "eta_inside"),
    (ch05.q5, 1.998, 2.0),
]


@pytest.mark.parametrize(
    ("question", "right", "wrong"), CASES, ids=lambda c: getattr(c, "name", "")
)
def test_right_wrong_and_missing_answers(question, right, wrong):
    assert question.check(right).status == "correct"
    assert question.check(wrong).status == "incorrect"
    assert question.check(...).status == "not attempted"


def test_q1_matches_torch_sgd():
    import torch

    p = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([p], lr=0.1, momentum=0.9)
    for _ in range(2):
        p.grad = torch.ones(1)
        opt.step()
    assert ch05.q1.check(p.item()).correct


def test_q5_matches_torch_sgd():
    import torch

    p = torch.tensor([2.0], requires_grad=True)
    opt = torch.optim.SGD([p], lr=0.1, weight_decay=0.01)
    p.grad = torch.zeros(1)
    opt.step()
    assert ch05.q5.check(p.item()).correct


def test_hints_and_solutions_exist(capsys):
    for question, *_ in CASES:
        assert question.hint() and question.solution()
    assert "Hint for q1" in capsys.readouterr().out
