"""Every link to the course derives from the one repository URL in pyproject.toml: the README's
Binder and Colab badges, and each chapter's Colab badge and install cell (tools/colab_cells.py
writes them; after changing the URL, run it on every chapter)."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

from tools.colab_cells import install_cell_source

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
URL = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["urls"]["Repository"]
# A link to some GitHub repository through GitHub, Binder or Colab: group 1 is owner/name.
REPOSITORY_LINK = re.compile(
    r"(?:https://github\.com|mybinder\.org/v2/gh|colab\.research\.google\.com/github)/([\w.-]+/[\w.-]+)"
)
FIX = "run: .venv/bin/python tools/colab_cells.py"


def owner_name(url: str) -> str:
    match = re.fullmatch(r"https://github\.com/([\w.-]+/[\w.-]+)", url)
    assert match, (
        f"[project.urls] Repository must be https://github.com/<owner>/<name>, not {url!r}"
    )
    return match.group(1)


def test_readme_badges_open_chapter_00_of_the_declared_repository():
    readme = (ROOT / "README.md").read_text()
    repo = owner_name(URL)
    binder = f"https://mybinder.org/v2/gh/{repo}/HEAD?urlpath=lab/tree/notebooks/00_welcome.ipynb"
    colab = f"https://colab.research.google.com/github/{repo}/blob/main/notebooks/00_welcome.ipynb"
    assert f"[![Binder](https://mybinder.org/badge_logo.svg)]({binder})" in readme, FIX
    assert (
        f"[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]({colab})"
        in readme
    ), FIX
    assert set(REPOSITORY_LINK.findall(readme)) == {repo}, "the README links to another repository"


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[nb.stem for nb in NOTEBOOKS])
def test_chapter_badge_and_install_cell_use_the_declared_repository(notebook):
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    fix = f"{FIX} notebooks/{notebook.name}"
    title = next(c for c in cells if c["cell_type"] == "markdown")
    colab = f"https://colab.research.google.com/github/{owner_name(URL)}/blob/main/notebooks/{notebook.name}"
    assert (
        f"[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]({colab})"
        in "".join(title["source"])
    ), f"the first markdown cell has no Colab badge for this chapter: {fix}"

    code = [c for c in cells if c["cell_type"] == "code"]
    assert "".join(code[0]["source"]) == install_cell_source(URL), (
        f"the first code cell is not the Colab install cell for {URL}: {fix}"
    )
    assert "parameters" not in code[0]["metadata"].get("tags", [])
    markdown = "".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
    badges = re.findall(
        r"(?:mybinder\.org/v2/gh|colab\.research\.google\.com/github)/([\w.-]+/[\w.-]+)", markdown
    )
    assert set(badges) == {owner_name(URL)}, f"a badge opens another repository: {set(badges)}"
