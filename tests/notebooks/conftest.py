"""Shared pieces of the notebook tests: where the chapters are and their quick parameters."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
QUICK = ROOT / "tests" / "quick_params"
OFF_DEFAULT = ROOT / "tests" / "offdefault_params"


def quick_params(notebook: Path) -> dict:
    """The chapter's small, fast parameter set (tests/quick_params/<stem>.yaml)."""
    path = QUICK / f"{notebook.stem}.yaml"
    if not path.exists():
        pytest.fail(f"{notebook.name} has no quick parameters: add {path.relative_to(ROOT)}")
    return yaml.safe_load(path.read_text()) or {}


def offdefault_params(notebook: Path) -> dict:
    """A second small parameter set with other seeds, odd sizes and other rates
    (tests/offdefault_params/<stem>.yaml): the chapter must run under any legal values."""
    path = OFF_DEFAULT / f"{notebook.stem}.yaml"
    if not path.exists():
        pytest.fail(f"{notebook.name} has no off-default parameters: add {path.relative_to(ROOT)}")
    return yaml.safe_load(path.read_text()) or {}


def load(notebook: Path) -> dict:
    return json.loads(notebook.read_text(encoding="utf-8"))


def printed(cell: dict) -> str:
    """The text a code cell printed (its stream outputs)."""
    return "".join("".join(o.get("text", "")) for o in cell.get("outputs", []))


def notebook_ids() -> list[str]:
    return [nb.stem for nb in NOTEBOOKS]
