"""Exercises with ``check``, ``hint`` and ``solution`` (the Kaggle-learntools shape).

A student writes ``answer = ...`` (the placeholder) and calls ``ex.q1.check(answer)`` (every
chapter imports its exercises as ``ex``). The placeholder runs and reports "not attempted", so
the unedited notebook renders and tests clean; a wrong answer gets a message that names the
mistake when it is a known one (each question keeps a catalogue of them) and never gives the
solution away. Hints come in steps: each ``hint()`` call shows the next, and only then
``solution()``.
Each chapter defines its questions in ``gdlessons/exercises/chNN_name.py``: number and word
answers with :class:`Exercise`, code the student writes with
:class:`gdlessons.exercises.code.CodeExercise`. Every check remembers its best result (correct
beats incorrect beats not attempted), so :func:`progress` can sum a chapter up at its end.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import ModuleType

import numpy as np
import torch

from gdlessons import exercise_results as saved

NOT_ATTEMPTED = "not attempted"
CORRECT = "correct"
INCORRECT = "incorrect"
_MARKS = {CORRECT: "✓", INCORRECT: "✗", NOT_ATTEMPTED: "…"}
_RANK = {NOT_ATTEMPTED: 0, INCORRECT: 1, CORRECT: 2}
NOTEBOOK_NAME = "ex"  # every chapter imports its exercises module under this name


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
    """What every kind of question shares: a name, a prompt, hints in steps, ``solution()``, and
    the results of its checks (``last_result`` and ``best_result``, None until checked).

    ``hint`` is one hint or a list of them, from a nudge to pointing at the line: each call of
    ``hint()`` shows the next, the last one says that ``solution()`` comes after it.
    """

    def __init__(self, name: str, prompt: str, *, hint: str | Sequence[str], solution: str):
        hints = (
            [hint]
            if isinstance(hint, str)
            else list(hint)
            if isinstance(hint, Sequence)
            else [hint]
        )
        for label, text in (("name", name), ("prompt", prompt), ("solution", solution)):
            if not isinstance(text, str) or not text.strip():
                raise TypeError(f"{label} must be a non-empty string, got {text!r}")
        if not hints or not all(isinstance(h, str) and h.strip() for h in hints):
            raise TypeError(f"hint must be a non-empty string or a list of them, got {hint!r}")
        self.name, self.prompt = name, prompt
        self.hints, self._solution = hints, solution
        self._hints_shown = 0
        self.last_result: Result | None = None
        self.best_result: Result | None = None
        self.chapter = _defining_chapter()

    @property
    def _hint(self) -> str:
        """The first hint (the nudge), for messages that quote one."""
        return self.hints[0]

    @property
    def call(self) -> str:
        """How the notebook names this question: ``ex.q1``."""
        return f"{NOTEBOOK_NAME}.{self.name}"

    def _record(self, status: str, message: str) -> Result:
        self.last_result = Result(self.name, status, message)
        if self.best_result is None or _RANK[status] >= _RANK[self.best_result.status]:
            self.best_result = self.last_result
        saved.record(self.chapter, self.name, status)  # across sessions: gdlessons progress
        return self.last_result

    def _stuck(self) -> str:
        return f" Try {self.call}.hint() if you are stuck."

    def hint(self) -> str:
        """Print the next hint (the last one again once all are shown) and return it."""
        k = min(self._hints_shown, len(self.hints) - 1)
        self._hints_shown = k + 1
        step = f" {k + 1} of {len(self.hints)}" if len(self.hints) > 1 else ""
        after = (
            f" (the last hint: {self.call}.solution() shows the answer)"
            if k == len(self.hints) - 1
            else f" ({self.call}.hint() again for the next)"
        )
        print(f"Hint{step} for {self.name}: {self.hints[k]}{after}")
        return Printed(self.hints[k])

    def solution(self) -> str:
        print(f"Solution to {self.name}: {self._solution}")
        return Printed(self._solution)

    def __repr__(self) -> str:
        return f"{self.name}: {self.prompt}"


def _defining_chapter() -> str:
    """The chapter whose exercises module is defining a question ("ch01_training_loop"), or ""."""
    frame = sys._getframe(1)
    while frame is not None:
        name = frame.f_globals.get("__name__", "")
        if name.startswith(f"{__name__}.ch"):
            return name.rsplit(".", 1)[-1]
        frame = frame.f_back
    return ""


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
        hint: str | Sequence[str],
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


def tolerance_text(rtol: float, atol: float = 0.0) -> str:
    """A tolerance as it is: "1%", "0.1%", "a relative 1e-06", with an absolute part if any.

    >>> tolerance_text(0.01), tolerance_text(1e-3), tolerance_text(1e-6), tolerance_text(0.0, 1e-6)
    ('1%', '0.1%', 'a relative 1e-06', '1e-06')
    """
    parts = []
    if rtol:
        parts.append(f"{rtol * 100:g}%" if rtol >= 1e-3 else f"a relative {rtol:.0e}")
    if atol or not parts:
        parts.append(f"{atol:g}")
    return " or ".join(parts)


def _number(answer) -> float | str:
    """The answer as a finite float, or the message saying why it is not one."""
    value = as_number(answer)
    if isinstance(value, bool):
        return f"Expected a number, got {answer!r}."
    try:
        value = float(value)
    except (TypeError, ValueError):
        return f"Expected a number, got {answer!r}."
    if not math.isfinite(value):
        return f"Expected a finite number, got {value}."
    return value


def _known_mistake(value: float, expected: float, mistakes: Mapping, close) -> str | None:
    """The message of the catalogued mistake ``value`` is the signature of, else of the
    mistakes every number question shares: the sign, a percentage for a fraction."""
    for wrong, message in mistakes.items():
        if close(value, wrong):
            return message
    if expected and close(value, -expected):
        return "Right size, wrong sign: the question asks for the amount, not its direction."
    if expected and close(value, 100 * expected) and abs(expected) <= 1:
        return "That looks like a percentage: give it as a fraction (0.25, not 25)."
    if expected and close(value, expected / 100) and abs(expected) > 1:
        return "That looks like a fraction: give it as a percentage (25, not 0.25)."
    return None


def _check_mistakes(mistakes, expected) -> dict:
    if not isinstance(mistakes, Mapping):
        raise TypeError(f"mistakes must map a wrong answer to its message, got {mistakes!r}")
    for wrong, message in mistakes.items():
        if not isinstance(message, str) or not message.strip():
            raise TypeError(f"mistakes[{wrong!r}] must be a message, got {message!r}")
        if wrong == expected:
            raise ValueError(f"mistakes[{wrong!r}] is the right answer itself")
    return dict(mistakes)


def expect_int(
    expected: int, *, mistakes: Mapping[int, str] | None = None
) -> Callable[[object], str | None]:
    """A checker for an exact whole number (Python, NumPy or a one-element tensor). ``mistakes``
    maps the answers known mistakes give to the message that names each.

    >>> c = expect_int(29, mistakes={28: "That drops the short last batch: without drop_last it counts."})
    >>> c(29.0), c(30), c(28), c(np.int64(29)), c(torch.tensor(29))
    (None, 'Not quite: 30 is too large.', 'That drops the short last batch: without drop_last it counts.', None, None)
    """
    mistakes = _check_mistakes(mistakes or {}, expected)

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
        known = _known_mistake(int(value), expected, mistakes, lambda a, b: a == b)
        if known:
            return known
        return f"Not quite: {int(value)} is too {'large' if value > expected else 'small'}."

    checker.mistakes = mistakes  # the catalogue, for the tests that try each mistake
    checker.spec = {"kind": "int", "answer": int(expected)}  # what as_data() exports
    return checker


def expect_close(
    expected: float,
    *,
    rtol: float = 0.01,
    atol: float = 0.0,
    mistakes: Mapping[float, str] | None = None,
) -> Callable[[object], str | None]:
    """A checker for a number within a tolerance (Python, NumPy or a one-element tensor).
    ``mistakes`` maps the answers known mistakes give to the message naming each (matched within
    the same tolerance); a wrong sign or a percentage for a fraction is named without being listed.

    >>> c = expect_close(0.01, rtol=0.05, mistakes={0.0316: "That is Adam's step without bias correction."})
    >>> c(0.0101), c(0.0316), c(-0.01), c(0.5)
    (None, "That is Adam's step without bias correction.", 'Right size, wrong sign: the question asks for the amount, not its direction.', 'Not quite: 0.5 is too large (within 5% counts).')
    """
    mistakes = _check_mistakes(mistakes or {}, expected)

    def close(a, b):
        return math.isclose(a, b, rel_tol=rtol, abs_tol=atol)

    def checker(answer):
        value = _number(answer)
        if isinstance(value, str):
            return value
        if close(value, expected):
            return None
        known = _known_mistake(value, expected, mistakes, close)
        if known:
            return known
        side = "large" if value > expected else "small"
        return f"Not quite: {value:g} is too {side} (within {tolerance_text(rtol, atol)} counts)."

    checker.mistakes = mistakes
    checker.spec = {"kind": "number", "answer": float(expected), "rtol": rtol, "atol": atol}
    return checker


SYNONYMS = {
    "overfit": "over-fit",
    "underfit": "under-fit",
    "over fit": "over-fit",
    "under fit": "under-fit",
}


def normalise_word(text: object) -> str:
    """A word answer as the course compares it: case, surrounding spaces, hyphens and
    underscores ignored (``"Over-Fit"``, ``"over_fit"`` and ``" over fit "`` are one answer).

    >>> normalise_word(" Over-Fit "), normalise_word("samples_seen"), normalise_word("GOOD  FIT")
    ('over fit', 'samples seen', 'good fit')
    """
    words = str(as_number(text)).strip().lower().replace("-", " ").replace("_", " ")
    return " ".join(words.split())


def expect_choice(
    expected: str,
    choices: tuple[str, ...],
    *,
    mistakes: Mapping[str, str] | None = None,
    synonyms: Mapping[str, str] | None = None,
) -> Callable[[object], str | None]:
    """A checker for one of a few named options, compared by :func:`normalise_word`.
    ``mistakes`` maps each wrong option a known mistake picks to the message naming it;
    ``synonyms`` maps other words for an option to it (``{"overfit": "over-fit"}``).

    >>> c = expect_choice("b", ("a", "b"), mistakes={"a": "a only counts the batches."})
    >>> c(" B "), c("A"), c("c")
    (None, 'a only counts the batches.', "Choose one of 'a', 'b'; got 'c'.")
    """
    norm = {normalise_word(c): c for c in choices}
    for word, option in (synonyms or {}).items():
        if normalise_word(option) not in norm:
            raise ValueError(f"synonyms[{word!r}] must be one of {choices}, got {option!r}")
        norm[normalise_word(word)] = norm[normalise_word(option)]
    if normalise_word(expected) not in norm:
        raise ValueError(f"expected must be one of {choices}, got {expected!r}")
    caught = {normalise_word(k): v for k, v in _check_mistakes(mistakes or {}, expected).items()}
    for key in caught:
        if key not in norm:
            raise ValueError(f"mistakes must be keyed by the choices {choices}, got {key!r}")

    def checker(answer):
        key = normalise_word(answer)
        if key not in norm:
            return f"Choose one of {', '.join(repr(c) for c in choices)}; got {answer!r}."
        if norm[key] == expected:
            return None
        chosen = normalise_word(norm[key])
        return caught.get(chosen) or f"{answer!r} is not it; think about what each option changes."

    checker.mistakes = {norm[k]: v for k, v in caught.items()}
    checker.spec = {"kind": "choice", "answer": expected, "choices": list(choices),
                    "synonyms": {word: norm[normalise_word(word)] for word in synonyms or {}}}  # fmt: skip
    return checker


def as_data(source: ModuleType | Iterable[Question] | dict) -> list[dict]:
    """Every number and word question of a chapter as plain data (prompt, answer, tolerance,
    choices, the mistake catalogue, hints, solution), so a page with no kernel can check them
    the way :meth:`Exercise.check` does. Code questions need Python and are left out.

    >>> q = Exercise("q1", "2 + 2?", expect_int(4, mistakes={22: "You joined the digits."}), hint="Count.", solution="4")
    >>> as_data([q])[0]["mistakes"], as_data([q])[0]["answer"]
    ([[22, 'You joined the digits.']], 4)
    """
    rows = []
    for q in questions_in(source):
        spec = getattr(getattr(q, "checker", None), "spec", None)
        if not isinstance(q, Exercise) or spec is None:
            continue
        mistakes = [[wrong, message] for wrong, message in q.checker.mistakes.items()]
        rows.append({"name": q.name, "prompt": q.prompt, **spec, "mistakes": mistakes,
                     "hints": list(q.hints), "solution": q._solution})  # fmt: skip
    return rows


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
    """Each question's best status so far ("correct", "incorrect", "not attempted", or "not
    checked"): a question once solved stays solved when another answer is tried.

    >>> q = Exercise("q1", "?", expect_int(1), hint="h", solution="1"); _ = q.check(2)
    >>> summary([q])
    {'q1': 'incorrect'}
    >>> _ = q.check(1); _ = q.check(3); summary([q])
    {'q1': 'correct'}
    """
    return {
        q.name: q.best_result.status if q.best_result else "not checked"
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
