"""The rules every exercise keeps, tested once over every chapter's questions.

Each ``gdlessons/exercises/chNN_*.py`` is found here by itself, and its questions are the ones
:func:`questions_in` lists, so a new chapter or question is covered without editing this file,
except for its data: a number or word question needs its right answer and a typical wrong one in
``RIGHT_AND_WRONG`` of its chapter's test file (the tests fail until it has them). A code question
needs nothing here: its function is the one the chapter's notebook hands to the check. What one
chapter's answers, mistakes and feedback say is tested in that chapter's file.
"""

from __future__ import annotations

import ast
import functools
import importlib
import json
import pkgutil
import random
import re
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
import torch

import gdlessons.exercises
from gdlessons.exercises import Exercise, questions_in
from gdlessons.exercises.code import CodeExercise, _isolated, _run_compare
from gdlessons.exercises.your_turn import USE_LINE
from tests.exercises import shared

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"

CHAPTERS = {
    info.name: importlib.import_module(f"{gdlessons.exercises.__name__}.{info.name}")
    for info in pkgutil.iter_modules(gdlessons.exercises.__path__)
    if re.fullmatch(r"ch\d\d_\w+", info.name)
}

# (right, wrong) for every number or word question, by chapter.
ANSWERS = {
    chapter: importlib.import_module(f"tests.exercises.test_{chapter}").RIGHT_AND_WRONG
    for chapter in CHAPTERS
}

# Chapters that give every typical mistake a hint of its own (elsewhere some fall back on the
# question's hint).
EVERY_MISTAKE_HINTED = {
    "ch00_welcome",
    "ch02_epochs_batches_iterations",
    "ch03_three_variants",
    "ch04_gradient_accumulation",
    "ch06_momentum_and_schedules",
}


def questions(kind: type = object) -> list:
    """(chapter, question) for every question of that kind, with ids like ``ch05-q3``."""
    return [
        pytest.param(chapter, q, id=f"{chapter[:4]}-{q.name}")
        for chapter, module in CHAPTERS.items()
        for q in questions_in(module)
        if isinstance(q, kind)
    ]


MISTAKES = [
    pytest.param(chapter, q, m, id=f"{chapter[:4]}-{q.name}-{m.fn.__name__}")
    for chapter, q in (p.values for p in questions(CodeExercise))
    for m in q.mistakes
]


@functools.cache
def code_cells(chapter: str) -> list[dict]:
    """The code cells of the chapter's notebook (``ch05_x`` is ``notebooks/05_x.ipynb``)."""
    notebook = json.loads((NOTEBOOKS / f"{chapter[2:]}.ipynb").read_text())
    return [c for c in notebook["cells"] if c["cell_type"] == "code"]


def sources(chapter: str) -> list[str]:
    return ["".join(c["source"]).strip() for c in code_cells(chapter)]


def check_cell(chapter: str, q) -> tuple[int, str]:
    """The index of the one cell that checks ``q``, and the name it hands to the check: an
    exercise cell ends with ``ex.q5.check(he_uniform_)``, a story's your-turn check with
    ``sgd_step = ex.t1.use(sgd_step)``."""
    call = "use" if is_story(q) else "check"
    at = [i for i, s in enumerate(sources(chapter)) if f"ex.{q.name}.{call}(" in s]
    assert len(at) == 1, f"{q.name} is checked in {len(at)} cells"
    last = sources(chapter)[at[0]].splitlines()[-1].split("  #")[0]
    pattern = USE_LINE if is_story(q) else re.compile(rf"ex\.{q.name}\.check\((?P<function>\w+)\)")
    checked = pattern.fullmatch(last)
    assert checked, f"the cell that checks {q.name} ends with {last!r}, not with the check"
    return at[0], checked.group("function")


def is_story(q) -> bool:
    """A your-turn question of the story (t1, t2, ...), not an end-of-chapter exercise."""
    return re.fullmatch(r"t\d+", q.name) is not None


def defining_cell(chapter: str, q) -> int:
    """The cell that defines the function ``q`` checks: the your-turn cell above the check, or
    the exercise cell itself."""
    at, _ = check_cell(chapter, q)
    return at - 1 if is_story(q) else at


def imports_above(chapter: str, index: int) -> dict:
    """What the import statements in the notebook's cells above cell ``index`` define."""
    namespace: dict = {}
    for source in sources(chapter)[:index]:
        for node in ast.parse(source).body:
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                exec(compile(ast.Module([node], type_ignores=[]), chapter, "exec"), namespace)
    return namespace


# --- every question ---------------------------------------------------------------------------


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_questions_are_numbered_in_order_and_of_a_kind_these_rules_know(chapter):
    found = questions_in(CHAPTERS[chapter])
    assert found, "no questions"
    story = [q.name for q in found if is_story(q)]  # your-turn cells first, in story order
    exercises = [f"q{i}" for i in range(1, len(found) - len(story) + 1)]
    assert [q.name for q in found] == [f"t{i}" for i in range(1, len(story) + 1)] + exercises
    assert all(isinstance(q, CodeExercise) for q in found if is_story(q)), "a story's task is code"
    for q in found:
        assert isinstance(q, (Exercise, CodeExercise)), f"{q.name} is a {type(q).__name__}"


@pytest.mark.parametrize(("chapter", "q"), questions())
def test_hints_come_in_steps_then_the_solution(chapter, q, capsys):
    """Each hint() shows the next hint and says how to go on, as the notebook calls it
    (ex.qN); after the last, hint() shows the last again and points at the solution."""
    q._hints_shown = 0
    for k, text in enumerate(q.hints, start=1):
        assert q.hint() == text
        shown = capsys.readouterr().out
        assert text in shown and f"ex.{q.name}." in shown
        step = f"ex.{q.name}.solution()" if k == len(q.hints) else f"ex.{q.name}.hint() again"
        assert step in shown
    assert q.hint() == q.hints[-1]
    capsys.readouterr()
    q._hints_shown = 0
    assert q.solution() == q._solution
    printed = capsys.readouterr().out
    assert printed.startswith(f"Solution to {q.name}") and q._solution in printed


# --- in the notebook --------------------------------------------------------------------------


@pytest.mark.parametrize(("chapter", "q"), questions())
def test_notebook_checks_each_question_once_with_hint_and_solution_below(chapter, q):
    """The check is its cell's last line, so its result shows; uncommenting the hint in the cell
    after it keeps that result on screen; the unedited notebook shows "not attempted". A
    your-turn check says which function the story goes on with, and names hint() itself."""
    at, name = check_cell(chapter, q)
    shown = json.dumps(code_cells(chapter)[at]["outputs"])
    assert f"{q.name}: not attempted" in shown
    if is_story(q):
        assert (
            f"goes on with the course's `{name}`" in shown
            and f"ex.{q.name}.hint()" in sources(chapter)[at]
        )
    else:
        assert sources(chapter)[at + 1] == f"# ex.{q.name}.hint()\n# ex.{q.name}.solution()"


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_notebook_ends_with_progress(chapter):
    assert sources(chapter)[-1].endswith("progress(ex)")


# --- number and word questions ----------------------------------------------------------------


@pytest.mark.parametrize("chapter", sorted(CHAPTERS.keys() | ANSWERS.keys()))
def test_answers_are_given_for_exactly_the_number_and_word_questions(chapter):
    assert chapter in CHAPTERS, "ANSWERS names a chapter that has no exercise module"
    asked = [q.name for q in questions_in(CHAPTERS[chapter]) if isinstance(q, Exercise)]
    assert sorted(ANSWERS.get(chapter, {})) == asked, f"ANSWERS[{chapter!r}]"


@pytest.mark.parametrize(("chapter", "q"), questions(Exercise))
def test_right_wrong_and_missing_answers(chapter, q):
    assert q.name in ANSWERS.get(chapter, {}), f"add ({q.name}'s right, wrong) to ANSWERS"
    right, wrong = ANSWERS[chapter][q.name]
    assert q.check(right).correct
    if isinstance(right, (int, float)):  # as a notebook computes it, too
        assert q.check(np.float64(right)).correct and q.check(torch.tensor(right)).correct
    result = q.check(wrong)
    assert result.status == "incorrect"
    assert str(right) not in result.message.removesuffix(q._stuck()), "it gives the answer away"
    assert q.check(...).status == "not attempted"


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_the_data_a_page_checks_with_agrees_with_the_check(chapter):
    """as_data(): every number and word question, and what it says, agrees with check()."""
    from gdlessons.exercises import as_data

    rows = as_data(CHAPTERS[chapter])
    exercises = [q.name for q in questions_in(CHAPTERS[chapter]) if isinstance(q, Exercise)]
    assert [r["name"] for r in rows] == exercises
    for row in rows:
        q = getattr(CHAPTERS[chapter], row["name"])
        assert q.check(row["answer"]).correct, row["name"]
        for wrong, message in row["mistakes"]:
            assert q.check(wrong).message.startswith(message), (row["name"], wrong)
        assert row["hints"] == q.hints and json.loads(json.dumps(row)) == row


@pytest.mark.parametrize(("chapter", "q"), questions())
def test_hints_come_in_two_or_three_steps_none_of_them_the_solution(chapter, q):
    assert 2 <= len(q.hints) <= 3, f"{q.name}: a nudge, then a hint that points at the line"
    # a hint may name a loop's header; a line of the solution's working (over 25 characters) not
    lines = [line.strip() for line in q._solution.splitlines() if len(line.strip()) > 25]
    for hint in q.hints:
        assert hint.strip() != q._solution.strip(), f"{q.name}: a hint is the solution"
        assert not [line for line in lines if line in hint], (q.name, hint)


@pytest.mark.parametrize(("chapter", "q"), questions(Exercise))
def test_every_number_and_word_question_catalogues_its_mistakes(chapter, q):
    """At least two known mistakes each, or every wrong option of a choice with fewer."""
    catalogue = getattr(q.checker, "mistakes", {})
    wrong_options = len(_choices(q)) - 1 if _choices(q) else None
    assert len(catalogue) >= min(2, wrong_options if wrong_options is not None else 2), q.name


def _choices(q) -> tuple:
    """The options of a choice question (from the checker's closure), else ()."""
    cells = dict(zip(q.checker.__code__.co_freevars, q.checker.__closure__ or ()))
    norm = cells.get("norm")
    return tuple(set(norm.cell_contents.values())) if norm is not None else ()


@pytest.mark.parametrize(("chapter", "q"), questions(Exercise))
def test_each_catalogued_mistake_gets_its_own_message(chapter, q):
    """A wrong answer that a known mistake produces is answered by naming that mistake, and
    no two mistakes share a message (a catalogue too short is the chapter's own test's concern)."""
    catalogue = getattr(q.checker, "mistakes", {})
    messages = []
    for wrong, message in catalogue.items():
        result = q.check(wrong)
        assert result.status == "incorrect", f"{q.name}: the mistake {wrong!r} is accepted"
        assert result.message.startswith(message), (q.name, wrong, result.message)
        messages.append(message)
    assert len(set(messages)) == len(messages), f"{q.name}: two mistakes share a message"


# --- code questions ---------------------------------------------------------------------------


def generators() -> tuple:
    return random.getstate(), np.random.get_state()[1].tolist(), torch.get_rng_state().tolist()


@pytest.mark.parametrize(("chapter", "q"), questions(CodeExercise))
def test_reference_and_printed_solution_are_correct(chapter, q):
    """The printed solution, pasted into the exercise cell (below the notebook's imports),
    defines the function the cell checks, and passes; checks leave the generators alone."""
    at, name = check_cell(chapter, q)
    defined = sources(chapter)[defining_cell(chapter, q)]
    assert f"def {name}(" in defined, f"the cell checks {name} but does not define it"
    solution = shared.solution_of(q, name, imports_above(chapter, at))
    before = generators()
    assert q.check(q.reference).correct
    result = q.check(solution)
    assert result.correct, result.message
    assert generators() == before


@pytest.mark.parametrize(("chapter", "q"), questions(CodeExercise))
def test_placeholder_raising_and_endless_functions(chapter, q, monkeypatch):
    """The notebook's placeholder says "not attempted"; a ZeroDivisionError shows the student's
    own line and the hint; a function that never returns is stopped at the (shortened) limit."""
    args = ", ".join(q.cases()[0])
    namespace: dict = {}
    exec(
        textwrap.dedent(f"""
        def placeholder({args}):
            raise NotImplementedError  # as in the notebook

        def raising({args}):
            return 1 / 0

        def endless({args}):
            while True:
                pass
        """),
        namespace,
    )
    untouched = q.check(namespace["placeholder"])
    assert untouched.status == "not attempted" and "Traceback" not in untouched.message
    raised = q.check(namespace["raising"])
    assert raised.status == "incorrect" and "ZeroDivisionError" in raised.message
    assert "in raising" in raised.message and "Hint:" in raised.message
    monkeypatch.setattr(q, "time_limit", 0.3)
    start = time.monotonic()
    stopped = q.check(namespace["endless"])
    assert "stopped after 0.3 s" in stopped.message and time.monotonic() - start < 5


@pytest.mark.parametrize(("chapter", "q", "mistake"), MISTAKES)
def test_every_mistake_reaches_its_message(chapter, q, mistake):
    """A typical mistake is marked incorrect with its own message, ending with its own hint."""
    result = q.check(mistake.fn)
    if mistake.rounding_only and result.status == "correct":
        pytest.skip(f"{mistake.fn.__name__} rounds as the reference does on this CPU")
    assert result.status == "incorrect"
    assert result.message.startswith(mistake.message), result.message
    if chapter in EVERY_MISTAKE_HINTED:
        assert mistake.hint, "every typical mistake in this chapter has its own hint"
    assert result.message.endswith(f"Hint: {mistake.hint}" if mistake.hint else q._stuck())


@pytest.mark.parametrize(("chapter", "q"), questions(CodeExercise))
def test_every_mistake_is_wrong_and_told_apart_from_the_others(chapter, q):
    """As the check compares outputs: no mistake passes, and an output that matches one mistake
    matches no other, so the order of the mistakes does not matter; their messages differ."""
    messages = [m.message for m in q.mistakes]
    assert len(set(messages)) == len(messages)
    with _isolated():  # run as the check runs them: a private copy of each case, seeded alike
        cases = q.cases()
        reference = [q._call(q.reference, case, i) for i, case in enumerate(cases)]
        outputs = [[q._call(m.fn, case, i) for i, case in enumerate(cases)] for m in q.mistakes]

    def taken_for(got, want) -> bool:
        return all(_run_compare(q.compare, g, w, c) is None for g, w, c in zip(got, want, cases))

    names = [m.fn.__name__ for m in q.mistakes]
    for i, out in enumerate(outputs):
        if q.mistakes[i].rounding_only and taken_for(out, reference):
            continue  # on this CPU it rounds as the reference does: it is the reference
        assert not taken_for(out, reference), f"{names[i]} passes the check"
        also = [names[j] for j, other in enumerate(outputs) if j != i and taken_for(out, other)]
        assert not also, f"{names[i]} is also taken for {also}"
