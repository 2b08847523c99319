"""Test tiers: chapter runs (papermill, nbval), the JupyterLab server and the browser are slow.

``pytest -m "not slow"`` is the unit tier (package, doctests, chapter modules); ``make test``
runs everything.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("GDLESSONS_PROGRESS", "off")  # a test's answers are not a student's progress

ROOT = Path(__file__).parent
SLOW_PLACES = (ROOT / "notebooks", ROOT / "tests" / "notebooks", ROOT / "tests" / "browser")


def pytest_collection_modifyitems(items):
    for item in items:
        if any(Path(item.path).is_relative_to(place) for place in SLOW_PLACES):
            item.add_marker(pytest.mark.slow)
