"""Your-turn cells: where a chapter's story stops and the student writes the mechanism.

A your-turn cell is a code cell tagged ``your-turn`` that defines one function, with ``...``
where the student's lines go. The code cell right below it checks that function and hands the
story what it goes on with, the student's function once it passes and the course's until then::

    sgd_step = ex.t1.use(sgd_step)

So a chapter runs top to bottom whatever its your-turn cells hold. An instructor renders the
chapters with them left blank (what students get) or filled with the course's solutions (an
answer key, ``python -m gdlessons.render --answers``); a test fills them with answers of its own.
"""

from __future__ import annotations

import copy
import importlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

TAG = "your-turn"
USE_LINE = re.compile(r"(?P<function>\w+) = ex\.(?P<question>t\d+)\.use\((?P=function)\)")


@dataclass(frozen=True)
class YourTurn:
    """The your-turn cell at ``index`` (among all the notebook's cells), the question that checks
    it (``t1``) and the function it defines."""

    index: int
    question: str
    function: str


def _source(cell: dict) -> str:
    source = cell.get("source", "")
    return source if isinstance(source, str) else "".join(source)


def your_turn_cells(notebook: dict) -> list[YourTurn]:
    """Every your-turn cell of ``notebook`` (parsed JSON), in order; a cell whose next cell does
    not hand its function to ``ex.tN.use`` is an error naming both.

    >>> cells = [{"cell_type": "code", "metadata": {"tags": [TAG]}, "source": "def f(x):\\n    ..."},
    ...          {"cell_type": "code", "metadata": {}, "source": "f = ex.t1.use(f)"}]
    >>> your_turn_cells({"cells": cells})
    [YourTurn(index=0, question='t1', function='f')]
    """
    cells = notebook["cells"]
    found = []
    for i, cell in enumerate(cells):
        if TAG not in cell.get("metadata", {}).get("tags", []):
            continue
        after = cells[i + 1] if i + 1 < len(cells) else {}
        lines = [ln for ln in _source(after).splitlines() if ln.strip() and not ln.startswith("#")]
        use = USE_LINE.fullmatch(lines[-1].split("  #")[0].strip()) if lines else None
        if after.get("cell_type") != "code" or use is None:
            raise ValueError(
                f"the your-turn cell {i} must be followed by a code cell that ends with "
                f"`name = ex.tN.use(name)`, got {_source(after)[:80]!r}"
            )
        if f"def {use['function']}(" not in _source(cell):
            raise ValueError(f"the your-turn cell {i} does not define {use['function']}()")
        found.append(YourTurn(i, use["question"], use["function"]))
    return found


def fill_in(notebook: dict, answers: Mapping[str, str]) -> dict:
    """A copy of ``notebook`` with each your-turn cell's code replaced by ``answers[question]``
    (code defining the same function). Every your-turn cell needs an answer, and every answer a
    cell."""
    turns = your_turn_cells(notebook)
    asked = {t.question for t in turns}
    missing, unknown = sorted(asked - set(answers)), sorted(set(answers) - asked)
    if missing or unknown:
        raise ValueError(
            f"answers must fill exactly the your-turn cells {sorted(asked)}: "
            f"missing {missing}, unknown {unknown}"
        )
    filled = copy.deepcopy(notebook)
    for turn in turns:
        code = answers[turn.question].strip("\n")
        if f"def {turn.function}(" not in code:
            raise ValueError(f"the answer to {turn.question} does not define {turn.function}()")
        cell = filled["cells"][turn.index]
        cell["source"] = code
        cell["outputs"], cell["execution_count"] = [], None
    return filled


def solutions(notebook: Path) -> dict[str, str]:
    """The course's solution to each your-turn cell of a chapter (``01_training_loop.ipynb``
    takes them from ``gdlessons.exercises.ch01_training_loop``)."""
    module = importlib.import_module(f"gdlessons.exercises.ch{Path(notebook).stem}")
    return {
        name: getattr(module, name)._solution for name in dir(module) if re.fullmatch(r"t\d+", name)
    }
