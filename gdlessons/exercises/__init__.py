"""Exercises with ``check``, ``hint`` and ``solution`` (the Kaggle-learntools shape).

A student writes ``answer = ...`` (the placeholder) and calls ``q1.check(answer)``. The
placeholder runs and reports "not attempted", so the unedited notebook renders and tests clean;
a wrong answer gets a helpful message that does not give the solution away.
Each chapter defines its questions in ``gdlessons/exercises/chNN.py``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

NOT_ATTEMPTED = "not attempted"
CORRECT = "correct"
INCORRECT = "incorrect"


@dataclass(frozen=True)
class Result:
    """The outcome of a check: ``status`` is "correct", "incorrect" or "not attempted"."""

    question: str
    status: str
    message: str

    @property
    def correct(self) -> bool:
        return self.status == CORRECT

    def __repr__(self) -> str:
        mark = {CORRECT: "✓", INCORRECT: "✗", NOT_ATTEMPTED: "…"}[self.status]
        return f"{mark} {self.question}: {self.status}. {self.message}".rstrip()

    def _repr_pretty_(self, printer, cycle) -> None:
        printer.text(repr(self))


class Exercise:
    """One question. ``checker(answer)`` returns ``None`` when right, or a message saying what
    is wrong (without the solution). ``...`` (Ellipsis) or ``None`` means not attempted.

    >>> q = Exercise("q1", "2 + 2?", expect_int(4), hint="Count.", solution="4")
    >>> q.check(...).status, q.check(5).status, q.check(4).status
    ('not attempted', 'incorrect', 'correct')
    """

    def __init__(
        self,
        name: str,
        prompt: str,
        checker: Callable[[object], str | None],
        *,
        hint: str,
        solution: str,
    ):
        self.name, self.prompt, self.checker = name, prompt, checker
        self._hint, self._solution = hint, solution

    def check(self, answer: object) -> Result:
        if answer is Ellipsis or answer is None:
            return Result(
                self.name,
                NOT_ATTEMPTED,
                "Replace the ... with your answer, then run the cell again.",
            )
        try:
            problem = self.checker(answer)
        except Exception as exc:  # a student's answer of the wrong shape is feedback, not a crash
            problem = f"Your answer could not be checked ({type(exc).__name__}: {exc})."
        if problem is None:
            return Result(self.name, CORRECT, "Well done.")
        return Result(
            self.name,
            INCORRECT,
            problem + " Try q.hint() if you are stuck.".replace("q.", f"{self.name}."),
        )

    def hint(self) -> str:
        print(f"Hint for {self.name}: {self._hint}")
        return self._hint

    def solution(self) -> str:
        print(f"Solution to {self.name}: {self._solution}")
        return self._solution

    def __repr__(self) -> str:
        return f"{self.name}: {self.prompt}"


def expect_int(expected: int) -> Callable[[object], str | None]:
    """A checker for an exact whole number.

    >>> expect_int(4)(4.0), expect_int(4)(5)
    (None, 'Not quite: 5 is too large.')
    """

    def checker(answer):
        if (
            isinstance(answer, bool)
            or not isinstance(answer, (int, float))
            or float(answer) != int(answer)
        ):
            return f"Expected a whole number, got {answer!r}."
        if int(answer) == expected:
            return None
        return f"Not quite: {int(answer)} is too {'large' if answer > expected else 'small'}."

    return checker


def expect_close(
    expected: float, *, rtol: float = 0.01, atol: float = 0.0
) -> Callable[[object], str | None]:
    """A checker for a number within a relative tolerance.

    >>> expect_close(0.368, rtol=0.05)(0.37), expect_close(1.0)(2.0)
    (None, 'Not quite: 2 is too large (within 1% counts).')
    """

    def checker(answer):
        try:
            value = float(answer)
        except (TypeError, ValueError):
            return f"Expected a number, got {answer!r}."
        if not math.isfinite(value):
            return f"Expected a finite number, got {value}."
        if math.isclose(value, expected, rel_tol=rtol, abs_tol=atol):
            return None
        return f"Not quite: {value:g} is too {'large' if value > expected else 'small'} (within {rtol:.0%} counts)."

    return checker


def expect_choice(expected: str, choices: tuple[str, ...]) -> Callable[[object], str | None]:
    """A checker for one of a few named options (case and spaces ignored).

    >>> expect_choice("b", ("a", "b"))(" B "), expect_choice("b", ("a", "b"))("c")
    (None, "Choose one of 'a', 'b'; got 'c'.")
    """
    norm = {c.strip().lower(): c for c in choices}

    def checker(answer):
        key = str(answer).strip().lower()
        if key not in norm:
            return f"Choose one of {', '.join(repr(c) for c in choices)}; got {answer!r}."
        return (
            None
            if norm[key] == expected
            else f"{answer!r} is not it; think about what each option changes."
        )

    return checker
