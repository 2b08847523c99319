"""The benchmark scripts are plain files in benchmarks/, importing each other by name (as
``python benchmarks/x.py`` runs them): put that folder on the path for their tests."""

from __future__ import annotations

import sys
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
if str(BENCHMARKS) not in sys.path:
    sys.path.insert(0, str(BENCHMARKS))
