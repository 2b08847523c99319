"""Every chapter runs top to bottom under papermill with its quick parameters, and with a second,
off-default set (other seeds, odd sizes, other rates) that its author did not render with."""

from __future__ import annotations

import json
import re

import pytest

from gdlessons.render import execute
from tests.notebooks.conftest import NOTEBOOKS, notebook_ids, offdefault_params, quick_params


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=notebook_ids())
@pytest.mark.parametrize("which", ["quick", "off-default"])
def test_runs_with_quick_and_off_default_parameters(notebook, which, tmp_path):
    params = quick_params(notebook) if which == "quick" else offdefault_params(notebook)
    cells = json.loads(notebook.read_text())["cells"]
    declared = "\n".join(
        "".join(c["source"]) for c in cells if "parameters" in c.get("metadata", {}).get("tags", [])
    )
    for name in params:  # `name = ...` or, annotated for papermill's help, `name: int = ...`
        assert re.search(rf"^{name}\s*(:[^=\n]*)?=", declared, re.M), (
            f"quick parameter {name!r} is not declared in the parameters cell"
        )
    out = tmp_path / notebook.name
    execute(notebook, out, params, cwd=notebook.parent)
    executed = json.loads(out.read_text())
    errors = [
        o
        for c in executed["cells"]
        for o in c.get("outputs", [])
        if o.get("output_type") == "error"
    ]
    assert not errors, errors
