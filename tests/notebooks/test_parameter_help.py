"""``papermill --help-notebook`` shows a type and a one-line help for every chapter parameter
(written by tools/parameter_help.py)."""

from __future__ import annotations

import ast
import doctest

import pytest
from papermill import inspect_notebook
from papermill.translators import PythonTranslator

from tests.notebooks.conftest import NOTEBOOKS, load, notebook_ids
from tools import parameter_help
from tools.parameter_help import ParameterError, document


def assigned_names(source: str) -> list[str]:
    names = []
    for node in ast.parse(source).body:
        targets = node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", None)]
        for target in targets:
            names += [t.id for t in ast.walk(target) if isinstance(t, ast.Name)] if target else []
    return names


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=notebook_ids())
def test_every_parameter_has_a_type_and_a_help(notebook):
    (cell,) = [c for c in load(notebook)["cells"] if "parameters" in c["metadata"].get("tags", [])]
    shown = inspect_notebook(notebook)
    fix = f"run: .venv/bin/python tools/parameter_help.py notebooks/{notebook.name}"
    assert list(shown) == assigned_names("".join(cell["source"])), (
        f"papermill cannot read every assignment (a tuple, or a second '=' on a line): {fix}"
    )
    untyped = [name for name, p in shown.items() if p["inferred_type_name"] == "None"]
    no_help = [name for name, p in shown.items() if not p["help"].strip()]
    assert not untyped and not no_help, f"no type: {untyped}; no help: {no_help}; {fix}"


def _inspect(source: str) -> list[tuple[str, str, str, str]]:
    return [tuple(p) for p in PythonTranslator.inspect({"source": source})]


def test_tool_output_reads_back_in_papermill():
    cell = "# sizes\nseed = 0\nw, b = -1.0, 2.5  # start\nsizes = [\n    32,\n    64,\n]  # the batch sizes\n"
    written = document(cell, {"w": "slope w at the start"})
    assert written.startswith("# sizes\nseed: int = 0  # seed of every random draw")
    assert _inspect(written)[1:] == [
        ("w", "float", "-1.0", "slope w at the start"),
        ("b", "float", "2.5", "start"),
        ("sizes", "list[int]", "[32,64,]", "the batch sizes"),
    ]
    assert document(written) == written  # running the tool again changes nothing


def test_doctests():
    assert doctest.testmod(parameter_help).failed == 0


def test_tool_keeps_an_annotation_written_by_hand():
    assert document("lr: float = 1  # rate") == "lr: float = 1  # rate"


@pytest.mark.parametrize(
    ("cell", "message"),
    [
        ("fan_in = 32", "no help for fan_in"),
        ("k = 4  # k = micro-batches", "second '='"),
        ("a = b = 1  # two names", "not 'name = value'"),
        ("model = make()  # not a literal", "model: "),
        ("x = None  # unknown", "cannot tell the type of None"),
        (f"sizes = [32, 64]  # {'the sizes ' * 10}", "longer than 80 characters"),
    ],
)
def test_tool_says_what_to_fix(cell, message):
    with pytest.raises(ParameterError, match=message):
        document(cell)
