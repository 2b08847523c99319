"""Give chapters an "Open in Colab" badge and a Colab install cell; keep the README's badges.

    .venv/bin/python tools/colab_cells.py notebooks/00_welcome.ipynb notebooks/01_training_loop.ipynb

Every link is derived from the one repository URL in ``pyproject.toml`` (``[project.urls]
Repository``). For each notebook given, the script puts the Colab badge under the chapter's title
and, as the first code cell, a cell that installs the course only when it runs in Colab; it also
rewrites the README's Binder and Colab badges. Running it again changes nothing, so after moving
the repository, change the URL and run it once on every chapter.

Inserting the install cell into a rendered chapter numbers it 1 and shifts the other cells'
execution counts by one, exactly what a re-render gives: the cell prints nothing outside Colab.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
INSTALL_CELL_ID = "colab-install"
COLAB_BADGE = re.compile(r"^\[!\[Open In Colab\]\([^)]*\)\]\([^)]*\)$", re.M)
BINDER_LINE = re.compile(r"^\[!\[Binder\]\(.*$", re.M)
# The test every install cell makes; also how an existing one is recognised.
IN_COLAB = '"google.colab" in sys.modules'

INSTALL_CELL = """\
# Only in Google Colab: install this course's package (keeping Colab's PyTorch)
# unless it is there, and let Colab show the sliders. Elsewhere: does nothing.
import importlib.util
import subprocess
import sys

if {in_colab}:
    if importlib.util.find_spec("gdlessons") is None:
        url = "git+{url}"
        pip = [sys.executable, "-m", "pip", "install", "--quiet", url]
        subprocess.run(pip, check=True)
        importlib.invalidate_caches()  # so Python sees what pip just installed
    from google.colab import output

    output.enable_custom_widget_manager()"""


def repository_url(pyproject: Path = ROOT / "pyproject.toml") -> str:
    """The course's repository, ``[project.urls] Repository`` in ``pyproject.toml``."""
    project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
    try:
        return project["urls"]["Repository"].rstrip("/")
    except KeyError:
        raise ValueError(f"{pyproject} declares no [project.urls] Repository") from None


def github_path(url: str) -> str:
    """``owner/name`` of a GitHub repository URL (Colab and Binder open GitHub repositories).

    >>> github_path("https://github.com/gdlessons/gdlessons")
    'gdlessons/gdlessons'
    """
    match = re.fullmatch(r"https://github\.com/([\w.-]+)/([\w.-]+?)(\.git)?/?", url)
    if not match:
        raise ValueError(
            f"repository URL {url!r} is not https://github.com/<owner>/<name>: "
            "Colab and Binder badges need a GitHub repository"
        )
    return f"{match.group(1)}/{match.group(2)}"


def colab_url(url: str, notebook: str) -> str:
    """Where Colab opens ``notebooks/<notebook>`` of the repository's main branch.

    >>> colab_url("https://github.com/me/course", "00_welcome.ipynb")
    'https://colab.research.google.com/github/me/course/blob/main/notebooks/00_welcome.ipynb'
    """
    return (
        f"https://colab.research.google.com/github/{github_path(url)}"
        f"/blob/main/notebooks/{notebook}"
    )


def colab_badge(url: str, notebook: str) -> str:
    badge = "https://colab.research.google.com/assets/colab-badge.svg"
    return f"[![Open In Colab]({badge})]({colab_url(url, notebook)})"


def binder_badge(url: str, notebook: str) -> str:
    target = (
        f"https://mybinder.org/v2/gh/{github_path(url)}/HEAD?urlpath=lab/tree/notebooks/{notebook}"
    )
    return f"[![Binder](https://mybinder.org/badge_logo.svg)]({target})"


def install_cell_source(url: str) -> str:
    """The install cell's code for the repository at ``url``."""
    return INSTALL_CELL.format(in_colab=IN_COLAB, url=url)


def _lines(text: str) -> list[str]:
    return text.splitlines(keepends=True)


def add_badge(markdown: str, badge: str) -> str:
    """``markdown`` with ``badge`` on its own line under the title, replacing an older badge.

    >>> add_badge("# 01 · Title\\n\\nText.", "[![Open In Colab](b)](u)")
    '# 01 · Title\\n\\n[![Open In Colab](b)](u)\\n\\nText.'
    """
    if COLAB_BADGE.search(markdown):
        return COLAB_BADGE.sub(lambda _: badge, markdown, count=1)
    title, _, rest = markdown.partition("\n")
    if not title.startswith("# "):
        title, rest = "", markdown
    return "\n\n".join(part for part in (title, badge, rest.lstrip("\n")) if part)


def is_install_cell(cell: dict) -> bool:
    return cell["cell_type"] == "code" and (
        cell.get("id") == INSTALL_CELL_ID or IN_COLAB in "".join(cell["source"])
    )


def update_notebook(nb: dict, url: str, name: str) -> dict:
    """Put the Colab badge and the install cell into notebook ``nb`` (a dict, changed in place)."""
    cells = nb["cells"]
    first_md = next((i for i, c in enumerate(cells) if c["cell_type"] == "markdown"), None)
    if first_md is None:
        raise ValueError(f"{name} has no markdown cell to carry the Colab badge")
    md = cells[first_md]
    md["source"] = _lines(add_badge("".join(md["source"]), colab_badge(url, name)))

    source = _lines(install_cell_source(url))
    existing = [c for c in cells if is_install_cell(c)]
    if existing:
        cell = existing[0]
        for extra in existing[1:]:
            cells.remove(extra)
        cell["source"] = source
    else:
        cell = {"cell_type": "code", "execution_count": None, "id": INSTALL_CELL_ID,
                "metadata": {"tags": []}, "outputs": [], "source": source}  # fmt: skip
        code = [c for c in cells if c["cell_type"] == "code" and "".join(c["source"]).strip()]
        if code and all(c["execution_count"] for c in code):  # rendered: number it as a re-run
            for c in cells:
                for counted in [c, *c.get("outputs", [])]:  # execute_result outputs count too
                    if counted.get("execution_count"):
                        counted["execution_count"] += 1
            cell["execution_count"] = 1
    # First code cell, right under the title cell, so it runs before the parameters and imports.
    if cell in cells:
        cells.remove(cell)
    first_code = next((i for i, c in enumerate(cells) if c["cell_type"] == "code"), len(cells))
    cells.insert(min(first_code, first_md + 1), cell)
    return nb


def update_readme(readme: Path, url: str, notebook: str = "00_welcome.ipynb") -> bool:
    """Rewrite the README's badge line (Binder, then Colab, both opening ``notebook``).
    Returns whether the file changed."""
    text = readme.read_text(encoding="utf-8")
    if not BINDER_LINE.search(text):
        raise ValueError(f"{readme} has no line starting with a Binder badge to update")
    line = f"{binder_badge(url, notebook)} {colab_badge(url, notebook)}"
    new = BINDER_LINE.sub(lambda _: line, text, count=1)
    if new != text:
        readme.write_text(new, encoding="utf-8")
    return new != text


def write_notebook(path: Path, nb: dict) -> bool:
    """Write ``nb`` as the course stores notebooks (as ``gdlessons.render`` does); return whether
    the file changed."""
    text = json.dumps(nb, indent=1, ensure_ascii=False) + "\n"
    if path.read_text(encoding="utf-8") == text:
        return False
    path.write_text(text, encoding="utf-8")
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="chapters to update")
    parser.add_argument("--pyproject", type=Path, default=ROOT / "pyproject.toml")
    parser.add_argument("--readme", type=Path, default=ROOT / "README.md")
    args = parser.parse_args(argv)
    url = repository_url(args.pyproject)
    if update_readme(args.readme, url):
        print(f"updated {args.readme.name}")
    for path in args.notebooks:
        nb = json.loads(path.read_text(encoding="utf-8"))
        changed = write_notebook(path, update_notebook(nb, url, path.name))
        print(f"{'updated' if changed else 'unchanged'} {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
