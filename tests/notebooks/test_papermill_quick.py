"""Every chapter runs top to bottom under papermill with an off-default parameter set (other
seeds, odd sizes, other rates) that its author did not render with.

Its quick parameters are only checked here for being declared: the site test
(tests/browser/test_site.py) executes every chapter at them while it builds the site, so running
them again here would cost a whole pass over the course and check nothing more."""

from __future__ import annotations

import json
import re

import pytest

from gdlessons.render import execute
from tests.notebooks.conftest import NOTEBOOKS, notebook_ids, offdefault_params, quick_params


def _declared(notebook) -> str:
    cells = json.loads(notebook.read_text())["cells"]
    return "\n".join(
        "".join(c["source"]) for c in cells if "parameters" in c.get("metadata", {}).get("tags", [])
    )


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=notebook_ids())
@pytest.mark.parametrize("which", ["quick", "off-default"])
def test_parameter_sets_are_declared(notebook, which):
    params = quick_params(notebook) if which == "quick" else offdefault_params(notebook)
    declared = _declared(notebook)
    for name in params:  # `name = ...` or, annotated for papermill's help, `name: int = ...`
        assert re.search(rf"^{name}\s*(:[^=\n]*)?=", declared, re.M), (
            f"{which} parameter {name!r} is not declared in the parameters cell"
        )


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=notebook_ids())
def test_runs_with_off_default_parameters(notebook, tmp_path):
    params = offdefault_params(notebook)
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
