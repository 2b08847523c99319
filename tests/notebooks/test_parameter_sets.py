"""Every chapter's two small parameter sets name parameters it declares: the quick set
(tests/quick_params, run whole in JupyterLab for the first chapter) and the off-default set
(tests/offdefault_params: other seeds, odd sizes, other rates), at which the site test
(tests/browser/test_site.py) executes every chapter while it builds the site."""

from __future__ import annotations

import json
import re

import pytest

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
