"""The package's module boundaries, read from its source with ``ast`` (nothing is imported).

An edge A -> B means module A runs an ``import`` of module B, written anywhere in A: at module
level or inside a function (a deferred import still makes A depend on B, only later). Edges
that are *not* counted:

- the parent packages Python runs on the way (importing ``gdlessons.display.plots`` runs
  ``gdlessons/__init__.py``, which imports ``gdlessons.session``): counting them would tie every
  module into one cycle through the root package, which Python resolves fine;
- names built at run time (``importlib.import_module``), which only the chapters registry
  ``gdlessons.chapters.all_explorers`` does, over its own package.

The rules: the module-level imports have no cycle; all imports together have none either, but
for the deferred imports named in :data:`DEFERRED`, each with its reason; and no shared module
(anything outside ``gdlessons/chapters`` and ``gdlessons/exercises``) imports a chapter or an
exercises module.
"""

from __future__ import annotations

import ast
from pathlib import Path

import gdlessons

ROOT = Path(gdlessons.__file__).parent

#: Deferred imports allowed to close a cycle, by (importer, imported), with the reason.
DEFERRED = {
    ("gdlessons.display.explorer", "gdlessons.display.frames"): (
        "frames draws an Explorer's slider states, so it imports Explorer; an explorer asks for "
        "its frames only while the static site is built (GDLESSONS_FRAMES set), from static_html"
    ),
}

#: Shared modules allowed to import a chapter or exercises module, with the reason. Empty: the
#: chapters registry (gdlessons.chapters.all_explorers) is used by the benchmarks and the tests,
#: not by display or book code.
SHARED_MAY_IMPORT: dict[tuple[str, str], str] = {
    ("gdlessons.book.build", "gdlessons.exercises"): "the site publishes every chapter's "
    "number and word questions as data (exercises.as_data), found by name, no chapter listed",
    ("gdlessons.render", "gdlessons.exercises.your_turn"): "an answer key fills each chapter's "
    "your-turn cells with that chapter's solutions, found by name, no chapter listed",
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(ROOT.rglob("*.py"))}


def _imported(node: ast.Import | ast.ImportFrom, importer: str) -> list[str]:
    """The gdlessons modules an import statement loads (a submodule when a name is one)."""
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    else:
        base = node.module or ""
        if node.level:  # relative: from the importer's package, up node.level - 1 packages
            package = (
                importer if MODULES[importer].name == "__init__.py" else importer.rpartition(".")[0]
            )
            parts = package.split(".")[: len(package.split(".")) - node.level + 1]
            base = ".".join(parts + ([base] if base else []))
        names = [f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base for a in node.names]
    found = []
    for name in names:
        while name and name not in MODULES:  # `import gdlessons.x.y` loads gdlessons.x.y
            name = name.rpartition(".")[0]
        if name.startswith("gdlessons"):
            found.append(name)
    return found


def import_edges() -> dict[tuple[str, str], bool]:
    """Every edge (importer, imported) between gdlessons modules -> whether it is deferred (all
    its import statements sit inside a function)."""
    edges: dict[tuple[str, str], bool] = {}

    def visit(node: ast.AST, importer: str, deferred: bool) -> None:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            for imported in _imported(node, importer):
                if imported != importer:
                    key = (importer, imported)
                    edges[key] = edges.get(key, True) and deferred
        inside = deferred or isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
        for child in ast.iter_child_nodes(node):
            visit(child, importer, inside)

    for name, path in MODULES.items():
        visit(ast.parse(path.read_text(encoding="utf-8")), name, False)
    return edges


def find_cycle(edges) -> list[str] | None:
    """One cycle of the directed graph ``edges`` as a path [a, b, ..., a], or None."""
    graph: dict[str, list[str]] = {}
    for a, b in edges:
        graph.setdefault(a, []).append(b)
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, [])):
            if state.get(nxt) == 1:
                return path[path.index(nxt) :] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (cycle := visit(start)):
            return cycle
    return None


def _chapter_side(name: str) -> bool:
    return name.split(".")[:2] in (["gdlessons", "chapters"], ["gdlessons", "exercises"])


def test_the_graph_is_read_from_every_module():
    edges = import_edges()
    assert {"gdlessons.training", "gdlessons.display.explorer", "gdlessons.chapters"} <= set(
        MODULES
    )
    assert edges[("gdlessons.training", "gdlessons.loop")] is False  # at module level
    assert edges[("gdlessons.display.explorer", "gdlessons.display.frames")] is True  # deferred


def test_module_level_imports_have_no_cycle():
    module_level = [edge for edge, deferred in import_edges().items() if not deferred]
    cycle = find_cycle(module_level)
    assert cycle is None, f"module-level import cycle: {' -> '.join(cycle)}"


def test_deferred_imports_close_no_cycle_but_the_named_ones():
    edges = import_edges()
    stale = [edge for edge in DEFERRED if edges.get(edge) is not True]
    assert not stale, f"DEFERRED names imports that are gone or no longer deferred: {stale}"
    cycle = find_cycle([edge for edge in edges if edge not in DEFERRED])
    assert cycle is None, (
        f"import cycle, function-level imports counted: {' -> '.join(cycle)}; break it, or "
        "name a deferred import on it in DEFERRED with the reason it must stay"
    )


def test_no_shared_module_imports_a_chapter_or_its_exercises():
    wrong = sorted(
        f"{a} imports {b}"
        for a, b in import_edges()
        if not _chapter_side(a) and _chapter_side(b) and (a, b) not in SHARED_MAY_IMPORT
    )
    assert not wrong, "shared modules must not depend on one chapter: " + "; ".join(wrong)


def test_every_module_opens_with_a_docstring_saying_what_it_owns():
    missing = [
        name
        for name, path in MODULES.items()
        if len((ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or "").strip()) < 20
    ]
    assert not missing, f"modules without an opening docstring: {missing}"
