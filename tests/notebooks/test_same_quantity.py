"""One quantity, one number, in every chapter that prints it.

Chapters print some of the same facts about the same model: the tutorial MLP's parameter count
is printed by chapters 00, 03, 04 and 05 (each with its own code) and written into chapter 00's
text. Two chapters that disagreed, or a sentence left behind when the model changed, fail here.
"""

from __future__ import annotations

import json
import re

import pytest

from gdlessons.models import tutorial_mlp
from tests.notebooks.conftest import ROOT, printed

TUTORIAL_MLP = sum(p.numel() for p in tutorial_mlp().parameters())

#: (chapter, what a stored output or sentence says about the tutorial MLP's parameter count)
PARAMETER_COUNT = [
    ("00_welcome", r"learned parameters in total: (\d+)"),
    ("00_welcome", r"\*\*(\d+)\*\* numbers in total"),
    ("00_welcome", r"the tutorial MLP has (\d+) of them"),
    ("03_three_variants", r"the tutorial MLP has (\d+) parameters"),
    ("04_gradient_accumulation", r"(\d+) gradient entries"),
    ("05_learning_rate", r"hidden width 32: d = ([\d,]+) parameters"),
]


def _texts(chapter: str) -> list[str]:
    """Every markdown cell's source and every code cell's printed output of a stored chapter."""
    cells = json.loads((ROOT / "notebooks" / f"{chapter}.ipynb").read_text())["cells"]
    return ["".join(c["source"]) if c["cell_type"] == "markdown" else printed(c) for c in cells]


@pytest.mark.parametrize(("chapter", "pattern"), PARAMETER_COUNT)
def test_every_chapter_gives_the_tutorial_mlp_the_same_parameter_count(chapter, pattern):
    said = [m for text in _texts(chapter) for m in re.findall(pattern, text)]
    assert said, f"{chapter} no longer says {pattern!r}: update PARAMETER_COUNT"
    assert {int(s.replace(",", "")) for s in said} == {TUTORIAL_MLP}, (chapter, said)
