"""Chapter 03 exercises: right, wrong and missing answers."""

from __future__ import annotations

import pytest

from gdlessons.exercises import ch04_gradient_accumulation as ch03

CASES = [
    (ch03.q1, 8, 6),
    (ch03.q2, 0.2, 0.05),
    (ch03.q3, 8, 1.6),
    (ch03.q4, "BatchNorm1d", "ReLU"),
    (ch03.q5, 25, 100),
]


@pytest.mark.parametrize("question, right, wrong", CASES, ids=[q.name for q, _, _ in CASES])
def test_checker(question, right, wrong):
    assert question.check(right).status == "correct"
    assert question.check(wrong).status == "incorrect"
    assert question.check(...).status == "not attempted"


@pytest.mark.parametrize("question", [q for q, _, _ in CASES], ids=[q.name for q, _, _ in CASES])
def test_hint_and_solution_print(question, capsys):
    assert question.hint() and question.solution()
    assert question.name in capsys.readouterr().out


def test_q4_ignores_case_and_rejects_unknown_layers():
    assert ch03.q4.check(" batchnorm1d ").correct
    assert "Choose one of" in ch03.q4.check("Conv2d").message


def test_q1_rejects_fractions():
    assert ch03.q1.check(7.5).status == "incorrect"
