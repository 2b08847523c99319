"""What every chapter's code-exercise tests check the same way: the printed solution runs, and an
untouched placeholder, a raising function and an endless one each get their own feedback."""

from __future__ import annotations

import textwrap
import time


def solution_of(q, function_name: str):
    """The function that ``q.solution()`` prints, defined by running that code."""
    namespace: dict = {}
    exec(q._solution, namespace)
    return namespace[function_name]


def check_placeholder_raising_and_endless(q, monkeypatch) -> None:
    """The placeholder says "not attempted"; a ZeroDivisionError shows the student's own line and
    the hint; a function that never returns is stopped at the (shortened) time limit."""
    args = ", ".join(q.cases()[0])
    namespace: dict = {}
    exec(
        textwrap.dedent(f"""
        def placeholder({args}):
            raise NotImplementedError

        def raising({args}):
            return 1 / 0

        def endless({args}):
            while True:
                pass
        """),
        namespace,
    )
    assert q.check(namespace["placeholder"]).status == "not attempted"
    raised = q.check(namespace["raising"])
    assert raised.status == "incorrect" and "ZeroDivisionError" in raised.message
    assert "in raising" in raised.message and "Hint:" in raised.message
    monkeypatch.setattr(q, "time_limit", 0.3)
    start = time.monotonic()
    stopped = q.check(namespace["endless"])
    assert "stopped after 0.3 s" in stopped.message and time.monotonic() - start < 5


def check_reference_and_solution(q, function_name: str, capsys) -> None:
    """The reference passes, and so does the code ``q.solution()`` prints, which it does print."""
    assert q.check(q.reference).correct
    fn = solution_of(q, function_name)
    assert q.check(fn).correct, q.check(fn)
    assert q.solution() == q._solution and "def " in capsys.readouterr().out


def check_mistake_message(q, mistake, *, hint_required: bool = False) -> None:
    """A typical mistake is marked incorrect with its own message, ending with its own hint."""
    result = q.check(mistake.fn)
    assert result.status == "incorrect"
    assert result.message.startswith(mistake.message), result.message
    if hint_required:
        assert mistake.hint, "every typical mistake has its own hint"
    if mistake.hint:
        assert result.message.endswith(f"Hint: {mistake.hint}")
