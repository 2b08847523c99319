"""Build the static site: execute each chapter with frames export, then Sphinx + MyST-NB.

``python -m gdlessons.book [--out build/book] [--jobs 2] [NOTEBOOK ...]``. Layout of ``out``:
``src/`` (executed chapters, ``index.md``, ``conf.py``, the frames), ``html/`` (the site: open
``html/index.html`` or serve the folder) and ``report.json`` (times, sizes, frame counts).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

from gdlessons.render import RENDER_ENV

STATIC = Path(__file__).with_name("static")
FRAMES = "frames"  # the folder (and URL prefix) of the pictures, beside the pages

CONF = """\
# Written by gdlessons.book: Sphinx settings of the course's static site.
project = "gdlessons"
html_title = "gdlessons: how neural networks learn by gradient descent"
extensions = ["myst_nb"]
nb_execution_mode = "off"  # the chapters were executed by the build, with frames export
nb_ipywidgets_js = {{}}  # no widget manager from a CDN: explorers bring their own frames
html_theme = "furo"
html_favicon = "_static/favicon.svg"  # else browsers ask the server for a missing favicon.ico
copyright = "2026 the gdlessons contributors (MIT License)"
html_static_path = ["_static"]
html_js_files = ["explorer.js", "quiz.js"]
html_css_files = ["explorer.css"]
html_copy_source = False
html_show_sourcelink = False
exclude_patterns = ["{frames}", "**.ipynb_checkpoints"]
suppress_warnings = ["myst.header", "misc.highlighting_failure"]
"""

INDEX = """\
# gdlessons: how neural networks learn by gradient descent

An interactive, tested course on training neural networks with gradient descent in PyTorch.
Every chapter's numbers, figures and sliders come from running its code: on this site each
explorer's sliders move through pictures drawn ahead of time by that code, with no Python
needed. To write the code yourself (each chapter asks you to), run the chapters:

- **In the browser, nothing to install:** [on Binder]({binder}) (JupyterLab) or
  [in Colab]({colab}) (each chapter opens with its own Colab badge).
- **On your machine:** `git clone {repository}`, then `make lab` in the clone (it sets up
  a virtual environment with CPU PyTorch and opens JupyterLab); the
  [repository]({repository}) has the notebooks, the package, the tests and a README with
  the details.

```{{toctree}}
:maxdepth: 1
:caption: Chapters

{chapters}
```
"""


def repository_url() -> str:
    """The course's repository, as pyproject.toml declares it (the package's metadata)."""
    from importlib.metadata import metadata

    for entry in metadata("gdlessons").get_all("Project-URL") or []:
        label, _, url = entry.partition(",")
        if label.strip().lower() == "repository":
            return url.strip()
    raise RuntimeError("pyproject.toml declares no Repository URL under [project.urls]")


def index_page(chapters: list[str]) -> str:
    """The contents page: how to run the chapters (Binder, Colab, locally), then the chapters."""
    repository = repository_url()
    owner_name = repository.removeprefix("https://github.com/").strip("/")
    first = f"notebooks/{chapters[0]}.ipynb" if chapters else "notebooks"
    return INDEX.format(
        repository=repository,
        binder=f"https://mybinder.org/v2/gh/{owner_name}/HEAD?urlpath=lab/tree/{first}",
        colab=f"https://colab.research.google.com/github/{owner_name}/blob/main/{first}",
        chapters="\n".join(chapters),
    )


@dataclass
class ChapterReport:
    name: str
    seconds: float
    explorers: list[dict] = field(default_factory=list)  # per explorer: states, files, subset
    frame_bytes: int = 0
    page_bytes: int = 0


def chapter_title(notebook: Path) -> str:
    """The first Markdown heading of a chapter."""
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    for cell in cells:
        if cell["cell_type"] == "markdown":
            for line in "".join(cell["source"]).splitlines():
                if line.startswith("#"):
                    return line.lstrip("#").strip()
    return notebook.stem


def execute_with_frames(
    notebook: Path, output: Path, parameters: dict | None = None, *, cwd: Path | None = None
) -> float:
    """Run ``notebook`` into ``output`` in its own process (in ``cwd``, by default the notebook's
    folder), every explorer exporting its states into ``output``'s folder under
    ``frames/<chapter>/``. Returns the seconds taken."""
    # Absolute: the chapter's kernel runs in the notebook's folder, where a relative path
    # would put the frames inside the course instead of beside the pages.
    frames = output.parent.resolve() / FRAMES / notebook.stem
    shutil.rmtree(frames, ignore_errors=True)
    env = {
        **os.environ,
        **RENDER_ENV,
        "GDLESSONS_FRAMES": str(frames),
        "GDLESSONS_FRAMES_URL": f"{FRAMES}/{notebook.stem}",
    }
    code = (
        "import json, sys; from pathlib import Path; from gdlessons.render import execute; "
        "print(execute(Path(sys.argv[1]), Path(sys.argv[2]), json.loads(sys.argv[3]), "
        "cwd=Path(sys.argv[4])))"
    )
    folder = str(cwd or notebook.parent)
    args = [
        sys.executable,
        "-c",
        code,
        str(notebook),
        str(output),
        json.dumps(parameters or {}),
        folder,
    ]
    start = time.perf_counter()
    done = subprocess.run(args, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-15:])
        raise RuntimeError(f"{notebook.name} failed while building the site:\n{tail}")
    _clean(output)
    return time.perf_counter() - start


EXTERNAL_IMAGE = re.compile(r"!\[([^\]]*)\]\(https?://[^)\s]+\)")


def offline_markdown(text: str) -> str:
    """Markdown with every image from another site (a badge) replaced by its alt text, so a
    page loads nothing from outside; a link around it stays a link.

    >>> offline_markdown("[![Open In Colab](https://colab.example/badge.svg)](https://x.y/nb)")
    '[Open In Colab](https://x.y/nb)'
    """
    return EXTERNAL_IMAGE.sub(r"\1", text)


def _clean(notebook: Path) -> None:
    nb = json.loads(notebook.read_text(encoding="utf-8"))
    nb["metadata"].pop("widgets", None)
    for cell in nb["cells"]:
        if cell["cell_type"] == "markdown":
            cell["source"] = offline_markdown("".join(cell["source"]))
        alts = [o["metadata"]["image/png"]["alt"] for o in cell.get("outputs", [])
                if "alt" in o.get("metadata", {}).get("image/png", {})]  # fmt: skip
        if alts:  # MyST-NB takes an image's alt text from its cell (one for all its figures)
            cell["metadata"].setdefault("mystnb", {}).setdefault("image", {})["alt"] = " / ".join(
                alts
            )
    notebook.write_text(json.dumps(nb, ensure_ascii=False), encoding="utf-8")


def _explorer_stats(notebook: Path) -> list[dict]:
    stats = []
    nb = json.loads(notebook.read_text(encoding="utf-8"))
    for cell in nb["cells"]:
        for out in cell.get("outputs", []):
            html = "".join(out.get("data", {}).get("text/html", ""))
            marker = '<script type="application/json" class="gdl-frames">'
            if marker not in html:
                continue
            manifest = json.loads(html.split(marker, 1)[1].split("</script>", 1)[0])
            stats.append(
                {
                    "controls": {c["name"]: len(c["labels"]) for c in manifest["controls"]},
                    "states": len(manifest["frames"]),
                    "pictures": len({f["src"] for f in manifest["frames"].values()}),
                    "full_grid": manifest["full"],
                    "subset": manifest["subset"],
                    "seconds": manifest["seconds"],
                }
            )
    return stats


def _size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def build_pages(src: Path, chapters: list[str], *, jobs: int = 2) -> tuple[Path, list[str]]:
    """Sphinx over the executed chapters in ``src``: the site in ``src/../html``, with the
    frames beside the pages. Returns the site's folder and Sphinx's warnings."""
    (src / "_static").mkdir(exist_ok=True)
    for name in ("explorer.js", "quiz.js", "explorer.css", "favicon.svg"):
        shutil.copy(STATIC / name, src / "_static" / name)
    (src / "conf.py").write_text(CONF.format(frames=FRAMES), encoding="utf-8")
    (src / "index.md").write_text(index_page(chapters), encoding="utf-8")
    html = src.parent / "html"
    shutil.rmtree(html, ignore_errors=True)
    sphinx = subprocess.run(
        [sys.executable, "-m", "sphinx", "-b", "html", "-q", "-j", str(max(1, jobs)),
         str(src), str(html)],
        capture_output=True, text=True,
    )  # fmt: skip
    if sphinx.returncode != 0:
        raise RuntimeError(f"sphinx failed:\n{sphinx.stderr[-3000:]}")
    if (src / FRAMES).exists():
        shutil.copytree(src / FRAMES, html / FRAMES)
    renamed = as_webp(html / "_images", jobs=jobs)
    for page in html.glob("*.html"):
        text = accessible(page.read_text(encoding="utf-8"))
        for old, new in renamed.items():
            text = text.replace(f"_images/{old}", f"_images/{new}")
        page.write_text(text, encoding="utf-8")
    return html, [ln for ln in sphinx.stderr.splitlines() if "WARNING" in ln]


def as_webp(folder: Path, *, jobs: int = 2) -> dict[str, str]:
    """Every PNG figure in ``folder`` stored as lossless WebP instead (the same pixels in about
    0.4 of the bytes, as the explorers' frames); returns the old name → new name of each, for
    the pages that show them."""
    from PIL import Image

    from gdlessons.display.redraw import WEBP

    def convert(png: Path) -> tuple[str, str]:
        webp = png.with_suffix(".webp")
        with Image.open(png) as image:
            image.convert("RGB").save(webp, **WEBP)
        png.unlink()
        return png.name, webp.name

    if not folder.exists():
        return {}
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        return dict(pool.map(convert, sorted(folder.glob("*.png"))))


def accessible(page: str) -> str:
    """What the theme's HTML lacks for WCAG 2.1 AA: the sidebar caption that says it is a
    heading gets its level, and every code or output block, which scrolls sideways when its
    lines are long, can be reached and scrolled from the keyboard.

    >>> accessible('<p class="caption" role="heading"><pre>x = 1</pre>')
    '<p class="caption" role="heading" aria-level="2"><pre tabindex="0">x = 1</pre>'
    """
    page = page.replace('role="heading">', 'role="heading" aria-level="2">')
    return re.sub(
        r"<pre(?![^>]*tabindex)(\s[^>]*)?>", lambda m: f'<pre{m.group(1) or ""} tabindex="0">', page
    )


QUESTIONS = "questions"  # the folder of each chapter's questions as data, beside the pages


def write_questions(folder: Path, chapters: list[str]) -> list[Path]:
    """``<folder>/<chapter>.json``: the chapter's number and word questions with their answers,
    tolerances, mistake catalogues and hints (:func:`gdlessons.exercises.as_data`), for the page
    to check answers with no kernel (``static/quiz.js``), and where the chapter opens in Colab
    and on Binder, for its code questions. A chapter without an exercises module writes nothing."""
    import importlib

    from gdlessons.exercises import as_data

    folder.mkdir(parents=True, exist_ok=True)
    owner_name = repository_url().removeprefix("https://github.com/").strip("/")
    written = []
    for chapter in chapters:
        name = f"gdlessons.exercises.ch{chapter}"
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError:
            continue
        notebook = f"notebooks/{chapter}.ipynb"
        data = {
            "colab": f"https://colab.research.google.com/github/{owner_name}/blob/main/{notebook}",
            "binder": f"https://mybinder.org/v2/gh/{owner_name}/HEAD?urlpath=lab/tree/{notebook}",
            "questions": as_data(module),
        }
        path = folder / f"{chapter}.json"
        path.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
        written.append(path)
    return written


def build(
    out: Path,
    notebooks: list[Path],
    *,
    parameters: Callable[[Path], dict] | None = None,
    prepare: Callable[[Path], dict] | None = None,
    jobs: int = 2,
) -> dict:
    """Execute ``notebooks`` (``jobs`` at a time) with frames export and build the site in
    ``out/html``; return the report written to ``out/report.json``.

    ``parameters(notebook)`` gives a chapter's parameters (default: its own). ``prepare(notebook)``
    gives the notebook to execute in its place, still in its folder: the tests fill in every
    your-turn cell, so that one execution also checks a student's path."""
    out = Path(out).resolve()
    src = out / "src"
    shutil.rmtree(out, ignore_errors=True)
    (src / "_static").mkdir(parents=True)
    start = time.perf_counter()

    def run(notebook: Path) -> ChapterReport:
        target, source = src / notebook.name, notebook
        if prepare:
            source = out / "prepared" / notebook.name
            source.parent.mkdir(exist_ok=True)
            source.write_text(json.dumps(prepare(notebook)), encoding="utf-8")
        seconds = execute_with_frames(
            source, target, parameters(notebook) if parameters else None, cwd=notebook.parent
        )
        return ChapterReport(notebook.stem, round(seconds, 1), _explorer_stats(target))

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        chapters = list(pool.map(run, notebooks))
    executed = time.perf_counter() - start

    html, warnings = build_pages(src, [nb.stem for nb in notebooks], jobs=jobs)
    write_questions(html / QUESTIONS, [nb.stem for nb in notebooks])
    for chapter in chapters:
        chapter.frame_bytes = _size(html / FRAMES / chapter.name) if (html / FRAMES).exists() else 0
        chapter.page_bytes = _size(html / f"{chapter.name}.html")
    report = {
        "execute_seconds": round(executed, 1),
        "total_seconds": round(time.perf_counter() - start, 1),
        "sphinx_warnings": warnings,
        "chapters": [asdict(c) for c in chapters],
    }
    (out / "report.json").write_text(json.dumps(report, indent=1), encoding="utf-8")
    return report
