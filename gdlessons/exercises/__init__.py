"""Exercises with ``check``, ``hint`` and ``solution`` (the Kaggle-learntools shape).

A student writes ``answer = ...`` (the placeholder) and calls ``q1.check(answer)``. The
placeholder runs and reports "not attempted", so the unedited notebook renders and tests clean;
a wrong answer gets a helpful message that does not give the solution away.
Each chapter defines its questions in ``gdlessons/exercises/chNN_name.py``: number and word
answers with :class:`Exercise`, code the student writes with
:class:`gdlessons.exercises.code.CodeExercise`. Every check remembers its last result, so
:func:`progress` can sum a chapter up at its end.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from types import ModuleType

import numpy as np
import torch

NOT_ATTEMPTED = "not attempted"
CORRECT = "correct"
INCORRECT = "incorrect"
_MARKS = {CORRECT: "✓", INCORRECT: "✗", NOT_ATTEMPTED: "…"}


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
        return f"{_MARKS[self.status]} {self.question}: {self.status}. {self.message}".rstrip()

    def _repr_pretty_(self, printer, cycle) -> None:
        printer.text(repr(self))


class Printed(str):
    """Text that was already printed: returned for tests and code, shown once in a notebook
    (IPython would otherwise display the returned string a second time).

    >>> Printed("x") == "x"
    True
    """

    def _ipython_display_(self) -> None:
        pass


class Question:
    """What every kind of question shares: a name, a prompt, ``hint()``, ``solution()`` and the
    result of its last check (``last_result``, None until checked)."""

    def __init__(self, name: str, prompt: str, *, hint: str, solution: str):
        for label, text in (("name", name), ("prompt", prompt), ("hint", hint), ("solution", solution)):  # fmt: skip
            if not isinstance(text, str) or not text.strip():
                raise TypeError(f"{label} must be a non-empty string, got {text!r}")
        self.name, self.prompt = name, prompt
        self._hint, self._solution = hint, solution
        self.last_result: Result | None = None

    def _record(self, status: str, message: str) -> Result:
        self.last_result = Result(self.name, status, message)
        return self.last_result

    def _stuck(self) -> str:
        return f" Try {self.name}.hint() if you are stuck."

    def hint(self) -> str:
        print(f"Hint for {self.name}: {self._hint}")
        return Printed(self._hint)

    def solution(self) -> str:
        print(f"Solution to {self.name}: {self._solution}")
        return Printed(self._solution)

    def __repr__(self) -> str:
        return f"{self.name}: {self.prompt}"


class Exercise(Question):
    """One question with a number or word answer. ``checker(answer)`` returns ``None`` when
    right, or a message saying what is wrong (without the solution). ``...`` (Ellipsis) or
    ``None`` means not attempted.

    >>> q = Exercise("q1", "2 + 2?", expect_int(4), hint="Count.", solution="4")
    >>> q.check(...).status, q.check(5).status, q.check(4).status
    ('not attempted', 'incorrect', 'correct')
    >>> q.last_result.correct
    True
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
        super().__init__(name, prompt, hint=hint, solution=solution)
        if not callable(checker):
            raise TypeError(
                f"checker must be a function answer -> message or None, got {checker!r}"
            )
        self.checker = checker

    def check(self, answer: object) -> Result:
        if answer is Ellipsis or answer is None:
            return self._record(
                NOT_ATTEMPTED, "Replace the ... with your answer, then run the cell again."
            )
        try:
            problem = self.checker(answer)
        except Exception as exc:  # a student's answer of the wrong shape is feedback, not a crash
            problem = f"Your answer could not be checked ({type(exc).__name__}: {exc})."
        if problem is None:
            return self._record(CORRECT, "Well done.")
        return self._record(INCORRECT, problem + self._stuck())


def as_number(answer: object) -> object:
    """A NumPy scalar, a 0-d array or a one-element tensor as the Python number it holds; any
    other answer unchanged. Booleans stay booleans, so checkers can refuse them.

    >>> as_number(np.int64(29)), as_number(torch.tensor(29)), as_number(np.array(0.5)), as_number("x")
    (29, 29, 0.5, 'x')
    """
    if isinstance(answer, torch.Tensor):
        return answer.item() if answer.numel() == 1 else answer
    if isinstance(answer, np.ndarray):
        return answer.item() if answer.size == 1 else answer
    if isinstance(answer, np.generic):
        return answer.item()
    return answer


def expect_int(expected: int) -> Callable[[object], str | None]:
    """A checker for an exact whole number (Python, NumPy or a one-element tensor).

    >>> expect_int(4)(4.0), expect_int(4)(5), expect_int(29)(np.int64(29)), expect_int(29)(torch.tensor(29))
    (None, 'Not quite: 5 is too large.', None, None)
    """

    def checker(answer):
        value = as_number(answer)
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or not math.isfinite(value)
            or float(value) != int(value)
        ):
            return f"Expected a whole number, got {answer!r}."
        if int(value) == expected:
            return None
        return f"Not quite: {int(value)} is too {'large' if value > expected else 'small'}."

    return checker


def expect_close(
    expected: float, *, rtol: float = 0.01, atol: float = 0.0
) -> Callable[[object], str | None]:
    """A checker for a number within a relative tolerance (Python, NumPy or a one-element tensor).

    >>> expect_close(0.368, rtol=0.05)(0.37), expect_close(1.0)(2.0), expect_close(0.5)(torch.tensor(0.5))
    (None, 'Not quite: 2 is too large (within 1% counts).', None)
    """

    def checker(answer):
        value = as_number(answer)
        if isinstance(value, bool):
            return f"Expected a number, got {answer!r}."
        try:
            value = float(value)
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
        key = str(as_number(answer)).strip().lower()
        if key not in norm:
            return f"Choose one of {', '.join(repr(c) for c in choices)}; got {answer!r}."
        return (
            None
            if norm[key] == expected
            else f"{answer!r} is not it; think about what each option changes."
        )

    return checker


def questions_in(source: ModuleType | Iterable[Question] | dict) -> list[Question]:
    """The questions of a chapter's exercise module (in the order it defines them), of a dict's
    values, or of a list.

    >>> [q.name for q in questions_in([Exercise("q1", "?", expect_int(1), hint="h", solution="1")])]
    ['q1']
    """
    if isinstance(source, ModuleType):
        items = vars(source).values()
    elif isinstance(source, dict):
        items = source.values()
    elif isinstance(source, Question):
        items = [source]
    else:
        try:
            items = list(source)
        except TypeError:
            raise TypeError(
                f"progress() takes an exercises module, a dict or a list of questions, got {source!r}"
            ) from None
    found, seen = [], set()
    for item in items:
        if isinstance(item, Question) and id(item) not in seen:
            seen.add(id(item))
            found.append(item)
    return found


def summary(source: ModuleType | Iterable[Question] | dict) -> dict[str, str]:
    """Each question's last status ("correct", "incorrect", "not attempted", or "not checked").

    >>> q = Exercise("q1", "?", expect_int(1), hint="h", solution="1"); _ = q.check(2)
    >>> summary([q])
    {'q1': 'incorrect'}
    """
    return {
        q.name: q.last_result.status if q.last_result else "not checked"
        for q in questions_in(source)
    }


def progress(source: ModuleType | Iterable[Question] | dict) -> None:
    """Print how far a student got: attempted and correct, then one line per question.

    ``source`` is a chapter's exercises module (``progress(ex)``) or a list of questions. A
    question counts as attempted once checked with something other than the placeholder.

    >>> q1 = Exercise("q1", "?", expect_int(1), hint="h", solution="1"); _ = q1.check(1)
    >>> q2 = Exercise("q2", "?", expect_int(2), hint="h", solution="2"); _ = q2.check(...)
    >>> progress([q1, q2])
    1 of 2 questions attempted, 1 correct.
      ✓ q1: correct
      … q2: not attempted
    """
    statuses = summary(source)
    if not statuses:
        print("No questions found.")
        return
    attempted = sum(s in (CORRECT, INCORRECT) for s in statuses.values())
    correct = sum(s == CORRECT for s in statuses.values())
    print(f"{attempted} of {len(statuses)} questions attempted, {correct} correct.")
    for name, status in statuses.items():
        print(f"  {_MARKS.get(status, '·')} {name}: {status}")
