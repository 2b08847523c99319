"""tools/colab_cells.py: the install cell does nothing outside Colab, installs the course in a
Colab-like environment without touching its torch, and the tool can be run again safely."""

from __future__ import annotations

import copy
import doctest
import importlib.metadata as md
import json
import os
import shutil
import subprocess
import sys
import types
from pathlib import Path

import pytest

from tools import colab_cells

ROOT = Path(__file__).resolve().parents[1]
URL = colab_cells.repository_url()
CELL = colab_cells.install_cell_source(URL)


def _code(source: str, count: int | None, tags: tuple[str, ...] = ()) -> dict:
    return {"cell_type": "code", "execution_count": count, "id": source[:4],
            "metadata": {"tags": list(tags)}, "outputs": [], "source": [source]}  # fmt: skip


def _rendered_chapter() -> dict:
    markdown = {
        "cell_type": "markdown",
        "id": "title",
        "metadata": {},
        "source": ["# 07 · Title\n", "Text."],
    }
    shown = _code("seed", 2)
    shown["outputs"] = [
        {"output_type": "execute_result", "execution_count": 2, "data": {}, "metadata": {}}
    ]
    cells = [markdown, _code("seed = 0", 1, ("parameters",)), shown]
    return {"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}


def test_tool_adds_badge_and_first_code_cell_and_is_idempotent():
    nb = colab_cells.update_notebook(_rendered_chapter(), URL, "07_x.ipynb")
    title, install, params, shown = nb["cells"]
    assert "".join(title["source"]) == (
        f"# 07 · Title\n\n{colab_cells.colab_badge(URL, '07_x.ipynb')}\n\nText."
    )
    assert "".join(install["source"]) == CELL and "parameters" not in install["metadata"]["tags"]
    # numbered as a re-render would number it: the cell prints nothing outside Colab
    assert [c["execution_count"] for c in (install, params, shown)] == [1, 2, 3]
    assert shown["outputs"][0]["execution_count"] == 3
    again = colab_cells.update_notebook(copy.deepcopy(nb), URL, "07_x.ipynb")
    assert again == nb


def test_tool_moves_the_url_everywhere():
    nb = colab_cells.update_notebook(_rendered_chapter(), URL, "07_x.ipynb")
    moved = colab_cells.update_notebook(nb, "https://github.com/someone/fork", "07_x.ipynb")
    text = json.dumps(moved)
    assert URL not in text and text.count("someone/fork") == 2  # the badge and the install cell
    assert len(moved["cells"]) == 4


def test_tool_updates_the_readme_badges(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text(
        "# Course\n\n[![Binder](https://mybinder.org/badge_logo.svg)](old)\n\nText.\n"
    )
    assert colab_cells.update_readme(readme, "https://github.com/someone/fork")
    line = readme.read_text().splitlines()[2]
    assert (
        "mybinder.org/v2/gh/someone/fork/HEAD" in line and "github/someone/fork/blob/main" in line
    )
    assert not colab_cells.update_readme(readme, "https://github.com/someone/fork")


def test_doctests():
    assert doctest.testmod(colab_cells).failed == 0


def test_tool_refuses_a_repository_off_github():
    with pytest.raises(ValueError, match="gitlab.com/me/course"):
        colab_cells.colab_url("https://gitlab.com/me/course", "00_welcome.ipynb")


def _run_cell(monkeypatch, colab: types.ModuleType | None):
    def no_pip(*args, **kwargs):
        raise AssertionError(f"the cell ran {args}")

    monkeypatch.setattr(subprocess, "run", no_pip)
    if colab is None:
        monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    else:
        monkeypatch.setitem(sys.modules, "google.colab", colab)
    exec(compile(CELL, "install-cell", "exec"), {"__name__": "__main__"})


def test_cell_does_nothing_and_prints_nothing_outside_colab(monkeypatch, capsys):
    _run_cell(monkeypatch, colab=None)
    assert capsys.readouterr() == ("", "")


def test_cell_in_colab_with_the_course_installed_only_turns_widgets_on(monkeypatch, capsys):
    calls = []
    colab = types.ModuleType("google.colab")
    colab.output = types.SimpleNamespace(enable_custom_widget_manager=lambda: calls.append(1))
    _run_cell(monkeypatch, colab)  # gdlessons is importable here: pip must not run
    assert calls == [1] and capsys.readouterr() == ("", "")


STUB_OUTPUT = "calls = []\n\ndef enable_custom_widget_manager():\n    calls.append('enabled')\n"
RUNNER = """\
import importlib.metadata as md, json, sys
from pathlib import Path

import google.colab  # the stub: from here on the cell believes it runs in Colab
import google.colab.output

def torch_state():
    dist = md.distribution("torch")
    return [dist.version, str(Path(dist.locate_file("torch/__init__.py")).resolve()),
            Path(dist.locate_file("torch/__init__.py")).stat().st_mtime_ns]

before = torch_state()
exec(compile(Path(sys.argv[1]).read_text(), "install-cell", "exec"), {"__name__": "__main__"})
result = {"torch_before": before, "torch_after": torch_state(),
          "widgets": google.colab.output.calls, "installed": md.version("gdlessons"),
          "distributions": sorted(d.metadata["Name"].lower() for d in md.distributions())}
import gdlessons, gdlessons.display.explorer  # the package and its widgets import
result["imported_from"] = gdlessons.__file__
Path(sys.argv[2]).write_text(json.dumps(result))
"""
# What a Colab runtime has before the cell runs (with what they need), taken from this
# environment; ipywidgets is left out: Colab's is older than the course needs, so pip must add it.
COLAB_HAS = ("torch", "numpy", "matplotlib", "scikit-learn", "tqdm", "ipython", "pip")
NOT_FOR_COLAB = {
    "jupyterlab",
    "papermill",
    "ipykernel",
    "notebook",
    "pytest",
    "nbval",
    "playwright",
}


def _with_requirements(names) -> set[str]:
    """``names`` and every distribution they need here, recursively (extras left out)."""
    from packaging.requirements import Requirement

    found, todo = set(), list(names)
    while todo:
        dist = md.distribution(todo.pop())
        name = dist.metadata["Name"].lower()
        if name in found:
            continue
        found.add(name)
        for req in map(Requirement, dist.requires or []):
            if req.marker is None or req.marker.evaluate({"extra": ""}):
                todo.append(req.name)
    return found


def _link_site(names, target: Path) -> None:
    """Symlink the files of distributions ``names`` of this environment into ``target``: a
    site folder that shows exactly those, as if installed, without copying or downloading."""
    target.mkdir()
    for name in names:
        dist = md.distribution(name)
        tops = {f.parts[0] for f in dist.files or [] if f.parts[0] not in ("..", "__pycache__")}
        for top in tops:
            source = Path(dist.locate_file(top))
            if source.exists() and not (target / top).exists():
                (target / top).symlink_to(source)


def _wheel(tmp_path: Path) -> Path:
    """The course as a wheel, built from a copy so that nothing is written into the checkout."""
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, src)
    shutil.copytree(
        ROOT / "gdlessons", src / "gdlessons", ignore=shutil.ignore_patterns("__pycache__")
    )
    pip = [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation"]
    subprocess.run([*pip, "-w", str(tmp_path / "dist"), str(src)], check=True)
    (wheel,) = (tmp_path / "dist").glob("gdlessons-*.whl")
    return wheel


@pytest.mark.slow
def test_cell_installs_the_course_in_a_fresh_colab_like_environment(tmp_path):
    """A fresh virtual environment that sees only what Colab brings (torch, numpy, ... linked from
    this environment), a stub google.colab, and the cell's repository URL swapped for a wheel of
    this checkout (GitHub is not reachable from the tests)."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    (site,) = venv.glob("lib/python*/site-packages")
    _link_site(_with_requirements(COLAB_HAS), tmp_path / "colab-site")
    (site / "colab.pth").write_text(str(tmp_path / "colab-site") + "\n")

    stub = tmp_path / "stub" / "google" / "colab"
    stub.mkdir(parents=True)
    (stub.parent / "__init__.py").write_text("")
    (stub / "__init__.py").write_text("")
    (stub / "output.py").write_text(STUB_OUTPUT)
    assert CELL.count(f'"git+{URL}"') == 1
    cell = tmp_path / "cell.py"
    cell.write_text(CELL.replace(f'"git+{URL}"', repr(str(_wheel(tmp_path)))))
    (tmp_path / "run.py").write_text(RUNNER)
    out = tmp_path / "result.json"
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "stub"), "PYTHONNOUSERSITE": "1"}
    env.pop("VIRTUAL_ENV", None)
    python = str(venv / "bin" / "python")
    subprocess.run(
        [python, str(tmp_path / "run.py"), str(cell), str(out)], env=env, cwd=tmp_path, check=True
    )

    result = json.loads(out.read_text())
    assert result["widgets"] == ["enabled"]
    assert (
        result["installed"]
        == colab_cells.tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    )
    assert result["imported_from"].startswith(str(site)), result
    assert result["torch_after"] == result["torch_before"], "the cell replaced Colab's torch"
    added = set(result["distributions"]) - _with_requirements(COLAB_HAS)
    assert {"gdlessons", "ipywidgets"} <= added, "the cell did not install the course's widgets"
    assert not NOT_FOR_COLAB & set(result["distributions"]), "the cell installed lab or dev tools"
