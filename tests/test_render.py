"""Rendering is deterministic: chapter 00 re-rendered equals the committed notebook."""

import json
import shutil
from pathlib import Path

import pytest

from gdlessons.render import execute, strip_run_metadata

ROOT = Path(__file__).resolve().parents[1]


def _cells(path):
    nb = json.loads(Path(path).read_text())
    return [
        (c["cell_type"], c["source"], c.get("outputs"), c.get("execution_count"))
        for c in nb["cells"]
    ]


@pytest.mark.slow
def test_rerendering_chapter_00_changes_nothing(tmp_path):
    committed = ROOT / "notebooks" / "00_welcome.ipynb"
    copy = tmp_path / committed.name
    shutil.copy(committed, copy)
    execute(copy, copy, cwd=committed.parent)
    strip_run_metadata(copy)
    assert _cells(copy) == _cells(committed)
    meta = json.loads(copy.read_text())["metadata"]
    assert "papermill" not in meta and "widgets" not in meta
