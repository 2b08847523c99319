"""What the exercise tests share: the function a code question's printed solution defines."""

from __future__ import annotations


def solution_of(q, function_name: str, namespace: dict | None = None):
    """The function that ``q.solution()`` prints, defined by running that code (in
    ``namespace``, for what the notebook has imported above the exercise cell)."""
    namespace = dict(namespace or {})
    exec(q._solution, namespace)
    return namespace[function_name]
