"""The course as a student meets it: JupyterLab in headless Chromium (Debian's, no download).

The first chapter (a copy, with its quick parameters, so the committed notebooks are never
touched) is run whole: restart the kernel, run all cells, check there is no error and every
explorer rendered, then move one slider with the keyboard and check that its figure and readout
changed. Every explorer the course registers is then shown in one notebook, each at the small
data of tests/display/test_every_explorer.py, and each one's slider is moved the same way. The
chapters themselves run elsewhere (nbval, papermill, the site build), so no chapter's training
is repeated here only to reach its explorer.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import pytest

from gdlessons.display.sizes import DENSITY
from tests.lab_server import jupyterlab

try:
    from playwright.sync_api import Error as PlaywrightError
except ImportError:  # the tests skip (or fail in CI) without it
    PlaywrightError = RuntimeError
from tests.notebooks.conftest import NOTEBOOKS, quick_params

CHROMIUM = Path("/usr/bin/chromium")
OUTPUT = Path(__file__).resolve().parents[1] / "output" / "browser"
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
]  # fmt: skip
RUN_TIMEOUT_S = 180
IN_LAB = NOTEBOOKS[:1]  # run whole in the browser: the chapter a student opens first
EVERY_EXPLORER = "every_explorer.ipynb"

pytestmark = pytest.mark.browser


def _unavailable() -> str | None:
    if not CHROMIUM.exists():
        return f"Chromium not found at {CHROMIUM} (install Debian's chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the Python package playwright is not installed"
    return None


def require_browser(test: str) -> None:
    """Skip ``test`` where Chromium or playwright is missing; in CI, fail instead."""
    reason = _unavailable()
    if reason:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{test} cannot run in CI: {reason}")
        pytest.skip(reason)


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    require_browser("browser test")
    from papermill.iorw import load_notebook_node, write_ipynb
    from papermill.parameterize import parameterize_notebook

    root = tmp_path_factory.mktemp("course")
    for nb in IN_LAB:
        node = parameterize_notebook(load_notebook_node(str(nb)), quick_params(nb))
        write_ipynb(node, str(root / nb.name))
    (root / EVERY_EXPLORER).write_text(json.dumps(_every_explorer_notebook()))
    work = tmp_path_factory.mktemp("lab")
    from playwright.sync_api import sync_playwright

    with jupyterlab(root, work, expose_app=True) as (base, token), sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS, headless=True)
        try:
            yield base, token, browser
        finally:
            browser.close()


JS_PANEL = "window.jupyterapp.shell.currentWidget"

# Every promise is bounded: a kernel or websocket that breaks must fail the test, not hang CI.
RUN_ALL = f"""async () => {{
  const panel = {JS_PANEL};
  const limit = (p, ms, what) => Promise.race([p, new Promise((_, no) =>
      setTimeout(() => no(new Error(what + ' took over ' + ms / 1000 + ' s')), ms))]);
  await limit(Promise.all([panel.context.ready, panel.sessionContext.ready]), 60000, 'opening');
  await limit(panel.sessionContext.restartKernel(), 60000, 'restarting the kernel');
  window.jupyterapp.commands.execute('notebook:run-all-cells');  // not awaited: polled below
}}"""

STATUS = f"""() => {{
  const panel = {JS_PANEL};
  const cells = panel.content.widgets.filter(c => c.model.type === 'code' && c.model.sharedModel.getSource().trim());
  const done = cells.every(c => c.model.executionCount !== null && c.promptNode.textContent.indexOf('*') < 0);
  const errors = [];
  for (const c of cells) for (const o of c.model.outputs.toJSON())
    if (o.output_type === 'error') errors.push(o.ename + ': ' + o.evalue);
  const kernel = panel.sessionContext.session && panel.sessionContext.session.kernel;
  return {{done, errors, idle: kernel && kernel.status === 'idle', cells: cells.length}};
}}"""

IMAGE_HASH = """async (el) => {
  const img = el.querySelector('.gdl-figure');
  const buf = await (await fetch(img.src)).arrayBuffer();
  const bytes = new Uint8Array(buf); let h = 0;
  for (let i = 0; i < bytes.length; i++) h = (h * 31 + bytes[i]) >>> 0;
  return bytes.length + ':' + h;
}"""


def _wait_until_run(page):
    deadline = time.monotonic() + RUN_TIMEOUT_S
    while time.monotonic() < deadline:
        status = page.evaluate(STATUS)
        if status["errors"]:
            return status
        if status["done"] and status["idle"]:
            return status
        page.wait_for_timeout(500)
    raise RunStalled(f"cells still running after {RUN_TIMEOUT_S} s: {page.evaluate(STATUS)}")


class RunStalled(Exception):
    """The kernel or its connection stopped answering (not an error in the chapter)."""


def _open_and_run_all(page, url: str) -> dict:
    page.goto(url, wait_until="domcontentloaded")
    page.wait_for_function("window.jupyterapp && window.jupyterapp.shell.currentWidget "
                           "&& window.jupyterapp.shell.currentWidget.sessionContext", timeout=60_000)  # fmt: skip
    page.locator(".jp-Notebook").first.wait_for(timeout=60_000)
    page.evaluate(RUN_ALL)
    return _wait_until_run(page)


@pytest.mark.parametrize("notebook", IN_LAB, ids=lambda nb: nb.stem)
def test_chapter_runs_and_its_sliders_work(lab, notebook):
    _run_in_lab(lab, notebook.name, _explorer_cells(notebook), move=1)


def test_every_explorer_renders_and_moves(lab):
    from gdlessons.chapters import all_explorers

    _run_in_lab(lab, EVERY_EXPLORER, len(all_explorers()), move=len(all_explorers()))


def _every_explorer_notebook() -> dict:
    """One cell per registered explorer, built by the same small-data factory as the explorer
    tests (its source is copied in, so the kernel needs only the package)."""
    import inspect

    from gdlessons.chapters import all_explorers
    from tests.display.test_every_explorer import _quick

    setup = (
        "import torch\n\nfrom gdlessons.chapters import all_explorers\n\n"
        "torch.set_num_threads(1)\nEXPLORERS = all_explorers()\n\n\n" + inspect.getsource(_quick)
    )
    sources = [setup, *(f"_quick({name!r})" for name in all_explorers())]
    cells = [
        {"cell_type": "code", "execution_count": None, "id": f"cell-{i}", "metadata": {},
         "outputs": [], "source": source}
        for i, source in enumerate(sources)
    ]  # fmt: skip
    kernel = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return {"cells": cells, "metadata": {"kernelspec": kernel}, "nbformat": 4, "nbformat_minor": 5}


def _run_in_lab(lab, name: str, expected: int, *, move: int) -> None:
    """Run notebook ``name`` in JupyterLab: no error output, ``expected`` explorers each shown at
    its natural size with its labels whole, and the first ``move`` of them answering a slider."""
    base, token, browser = lab
    page = browser.new_page(viewport={"width": 1280, "height": 1600})
    OUTPUT.mkdir(parents=True, exist_ok=True)
    stem = Path(name).stem
    try:
        url = f"{base}/lab/workspaces/{stem}/tree/{name}?reset&token={token}"  # one tab only
        try:
            status = _open_and_run_all(page, url)
        except (RunStalled, PlaywrightError) as first:
            # A kernel restart can drop its websocket (seen here); one fresh try, then fail.
            print(f"{name}: retrying once after: {first}")
            status = _open_and_run_all(page, url)
        assert not status["errors"], f"error outputs: {status['errors']}"
        page.wait_for_timeout(1000)  # let widget views attach
        body = page.locator(".jp-Notebook").inner_text()
        assert "Error displaying widget" not in body
        explorers = page.locator(".gdl-explorer")
        assert explorers.count() == expected, (
            f"{explorers.count()} explorers rendered, {expected} expected"
        )
        for i in range(expected):
            figure = explorers.nth(i).locator(".gdl-figure")
            src = figure.get_attribute("src")
            assert src and src.startswith("blob:"), f"explorer {i}'s figure did not render"
            _shown_at_natural_size(figure)
            _labels_not_cut(explorers.nth(i))
        for i in range(min(move, expected)):
            _move_a_slider(page, explorers.nth(i))
        page.screenshot(path=str(OUTPUT / f"{stem}.png"), full_page=False)
    finally:
        try:
            page.evaluate(f"() => {{ {JS_PANEL}.sessionContext.shutdown(); }}")  # not awaited
        except Exception:  # noqa: BLE001 (the page may be gone; the server is killed anyway)
            pass
        page.close()


def _shown_at_natural_size(figure):
    """The picture is not scaled: its CSS width is its pixel width over the density, so its text
    keeps the size it was drawn at."""
    figure.scroll_into_view_if_needed()
    figure.page.wait_for_function(
        "el => el.complete && el.naturalWidth > 0", arg=figure.element_handle()
    )
    shown, pixels = figure.evaluate("el => [el.getBoundingClientRect().width, el.naturalWidth]")
    assert abs(shown - pixels / DENSITY) <= 1, (
        f"an explorer picture of {pixels} px is shown {shown:.0f} px wide, not {pixels / DENSITY:.0f}"
    )


def _labels_not_cut(explorer):
    cut = explorer.evaluate(
        "el => [...el.querySelectorAll('.widget-label')]"
        ".filter(l => l.textContent && l.scrollWidth > l.clientWidth + 1).map(l => l.textContent)"
    )
    assert not cut, f"slider labels cut off: {cut}"


def _move_a_slider(page, explorer):
    slider = explorer.locator(".widget-slider").first
    readout = slider.locator(".widget-readout")
    before_text, before_image = readout.inner_text(), explorer.evaluate(IMAGE_HASH)
    handle = slider.locator(".noUi-handle").first
    handle.focus()
    handle.press("ArrowRight")
    if readout.inner_text() == before_text:  # at its maximum: move the other way
        handle.press("ArrowLeft")
        handle.press("ArrowLeft")
    after_text = readout.inner_text()
    assert after_text != before_text, f"the slider readout did not change from {before_text!r}"
    explorer.scroll_into_view_if_needed()
    deadline = time.monotonic() + 30
    while explorer.evaluate(IMAGE_HASH) == before_image:
        assert time.monotonic() < deadline, "the figure did not change after moving the slider"
        page.wait_for_timeout(200)


def _explorer_cells(notebook: Path) -> int:
    """Cells whose committed output is an explorer (its static note says so)."""
    from gdlessons.display.explorer import STATIC_NOTE

    cells = json.loads(notebook.read_text())["cells"]
    return sum(
        any(
            STATIC_NOTE in "".join(o.get("data", {}).get("text/plain", ""))
            for o in c.get("outputs", [])
        )
        for c in cells
        if c["cell_type"] == "code"
    )


def test_output_folder_is_ignored_by_git():
    assert "tests/output/" in (Path(__file__).resolve().parents[2] / ".gitignore").read_text()
    shutil.rmtree(OUTPUT / "nothing", ignore_errors=True)
