"""A student's exercise results kept on this machine (a JSON file, no network): the best status
of every question by chapter, so ``gdlessons progress`` can sum the course up across sessions
and ``gdlessons progress --clear`` can start it afresh. Where the file is:
:func:`gdlessons.settings.progress_file`."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from gdlessons.settings import progress_file

RANK = {"not attempted": 0, "incorrect": 1, "correct": 2}


def load(path: Path | None = None) -> dict[str, dict[str, str]]:
    """Every chapter's questions and their best status; empty when nothing is kept.

    >>> load(Path("/nonexistent/progress.json"))
    {}
    """
    path = path or progress_file()
    if path is None or not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}  # a damaged file: start afresh rather than stop a student's check
    return data if isinstance(data, dict) else {}


def record(chapter: str, question: str, status: str, path: Path | None = None) -> None:
    """Keep ``status`` for ``chapter``'s ``question`` unless a better one is kept already.
    Silent when results are not kept, or the file cannot be written (a read-only home)."""
    if status not in RANK:
        raise ValueError(f"status must be one of {sorted(RANK)}, got {status!r}")
    path = path or progress_file()
    if path is None or not chapter:
        return
    data = load(path)
    kept = data.setdefault(chapter, {})
    if RANK[status] >= RANK.get(kept.get(question, ""), -1):
        kept[question] = status
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(
                "w", dir=path.parent, delete=False, suffix=".tmp"
            ) as f:
                json.dump(data, f, indent=1, sort_keys=True)
            os.replace(f.name, path)
        except OSError:
            pass


def clear(path: Path | None = None) -> int:
    """Forget every kept result; returns how many were kept."""
    path = path or progress_file()
    kept = sum(len(v) for v in load(path).values())
    if path is not None and path.exists():
        path.unlink()
    return kept


def report(path: Path | None = None) -> str:
    """One line per chapter: correct of kept, then the questions not yet solved."""
    data = load(path)
    if not data:
        return "No exercise results kept yet: check an answer in a chapter first."
    lines = []
    for chapter in sorted(data):
        statuses = data[chapter]
        correct = [q for q, s in statuses.items() if s == "correct"]
        left = sorted(set(statuses) - set(correct), key=lambda q: (len(q), q))
        todo = f"; not yet: {', '.join(left)}" if left else ""
        lines.append(f"{chapter}: {len(correct)} of {len(statuses)} checked correct{todo}")
    return "\n".join(lines)
