"""The static site in headless Chromium (Debian's): every chapter page opens, every explorer's
controls move its picture and readout to the stored frame for that state, nothing is fetched
from outside localhost and the console stays clean.

The site is built from every chapter at its off-default parameters (tests/offdefault_params:
other seeds, odd sizes, other rates), every your-turn cell filled in with the course's solution
as a student would paste it, with at most 12 states per explorer (``GDLESSONS_FRAMES_MAX``),
served by a plain static file server. The build is also the test that every chapter runs top to
bottom under parameters it was not rendered with, and that each chapter's story goes on with the
student's functions: one execution per chapter serves all three. (The blank path is checked by
the stored chapters' own run and by chapter 01's tests in tests/notebooks/test_student_path.py.)
"""

from __future__ import annotations

import json
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gdlessons.book.build import build, repository_url
from gdlessons.exercises.your_turn import fill_in, solutions, your_turn_cells
from tests.browser.test_jupyterlab import CHROMIUM, FLAGS, require_browser
from tests.lab_server import free_port
from tests.notebooks.conftest import NOTEBOOKS, load, notebook_ids, offdefault_params, printed

pytestmark = pytest.mark.browser
OUTPUT = Path(__file__).resolve().parents[1] / "output" / "site"


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The site built from every chapter at its off-default parameters, its your-turn cells
    filled in with the course's solutions (no browser needed)."""
    reuse = os.environ.get("GDLESSONS_SITE_REUSE")  # a site this test built before (debugging)
    if reuse:
        return Path(reuse), json.loads((Path(reuse) / "report.json").read_text())
    # A relative folder, as `make book` passes one (build/book): the chapters' kernels run in
    # notebooks/, so a path left relative would put the frames there, not beside the pages.
    out = Path(os.path.relpath(tmp_path_factory.mktemp("book")))
    os.environ["GDLESSONS_FRAMES_MAX"] = "12"
    try:
        report = build(
            out, NOTEBOOKS, parameters=offdefault_params, prepare=solved_by_a_student, jobs=2
        )
    finally:
        os.environ.pop("GDLESSONS_FRAMES_MAX")
    return out, report


def solved_by_a_student(chapter: Path) -> dict:
    """``chapter`` with every your-turn cell holding the course's solution."""
    return fill_in(load(chapter), solutions(chapter))


def test_every_chapter_goes_on_with_the_students_functions(built):
    """Each your-turn check passes and hands the student's function on; the story after it ran
    with that function to the chapter's end (the build raises at a failing cell)."""
    out, _ = built
    for nb in NOTEBOOKS:
        executed = json.loads((out / "src" / nb.name).read_text())
        turns = your_turn_cells(executed)
        assert turns, f"{nb.name} has no your-turn cell"
        for turn in turns:
            assert "".join(executed["cells"][turn.index]["source"]) == solutions(nb)[
                turn.question
            ].strip("\n"), (nb.name, turn.question)
            shown = printed(executed["cells"][turn.index + 1])
            assert f"✓ {turn.question}: correct" in shown, (nb.name, shown)
            assert f"goes on with your `{turn.function}`" in shown, (nb.name, shown)


def test_every_chapter_runs_at_off_default_parameters(built):
    """The build executes each chapter and stops, naming it, at the first error a cell raises."""
    out, report = built
    assert [c["name"] for c in report["chapters"]] == [nb.stem for nb in NOTEBOOKS]
    for nb in NOTEBOOKS:
        executed = json.loads((out / "src" / nb.name).read_text())
        errors = [o for c in executed["cells"] for o in c.get("outputs", [])
                  if o.get("output_type") == "error"]  # fmt: skip
        assert not errors, f"{nb.name}: {errors}"


def test_frames_lie_beside_the_pages(built):
    out, report = built
    strays = [f for f in _untracked(NOTEBOOKS[0].parent) if "frames" in Path(f).parts]
    assert not strays, f"the build wrote frames inside notebooks/: {strays[:3]}"
    empty = [c["name"] for c in report["chapters"] if c["explorers"] and not c["frame_bytes"]]
    assert not empty, f"chapters whose explorers have no frames beside the pages: {empty}"


def test_every_chapters_questions_lie_beside_the_pages_as_data(built):
    out, _ = built
    for nb in NOTEBOOKS:
        data = json.loads((out / "html" / "questions" / f"{nb.stem}.json").read_text())
        rows = data["questions"]
        assert rows and all(r["answer"] is not None and r["hints"] for r in rows), nb.stem
        assert data["colab"].endswith(f"notebooks/{nb.name}") and "mybinder.org" in data["binder"]


@pytest.fixture(scope="module")
def site(built):
    require_browser("site test")
    out, report = built
    OUTPUT.mkdir(parents=True, exist_ok=True)
    (OUTPUT / "report.json").write_text(json.dumps(report, indent=1))
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1",
         "--directory", str(out / "html")],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.1)
    from playwright.sync_api import sync_playwright

    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS, headless=True)
            try:
                yield base, browser, report
            finally:
                browser.close()
    finally:
        server.terminate()
        server.wait(timeout=10)


def _untracked(folder: Path) -> set[str]:
    """Files under ``folder`` that git does not track (ignored ones included)."""
    listed = subprocess.run(
        ["git", "ls-files", "--others", str(folder)], capture_output=True, text=True, check=True
    )
    return set(listed.stdout.split())


def _open(browser, url):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    requests, problems = [], []
    page.on("request", lambda r: requests.append(r.url))
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on("requestfailed", lambda r: problems.append(f"failed: {r.url} ({r.failure})"))
    page.on(
        "response", lambda r: problems.append(f"{r.status}: {r.url}") if r.status >= 400 else None
    )
    # networkidle: the favicon and preloads finish before a test navigates on, so leaving the page
    # does not abort them and report a request that never had the chance to succeed.
    page.goto(url, wait_until="networkidle")
    return page, requests, problems


def _outside(requests, base):
    return [u for u in requests if not (u.startswith(base) or u.startswith("data:"))]


def test_contents_search_and_links(site):
    base, browser, _ = site
    page, requests, problems = _open(browser, f"{base}/index.html")
    links = page.eval_on_selector_all("a", "as => as.map(a => a.getAttribute('href'))")
    for nb in NOTEBOOKS:
        assert f"{nb.stem}.html" in links, f"the contents do not link {nb.stem}"
    for place in ("https://mybinder.org/v2/gh/", "https://colab.research.google.com/github/",
                  repository_url()):  # fmt: skip
        assert any(link and link.startswith(place) for link in links), f"no link to {place}"
    assert "make lab" in page.text_content("article"), "the contents do not say how to run locally"
    page.goto(f"{base}/search.html?q=momentum", wait_until="networkidle")
    page.wait_for_selector("#search-results li, .search li", timeout=20000)
    found = page.eval_on_selector_all("#search-results li a, .search li a", "as => as.length")
    assert found > 0, "the site's search finds nothing for 'momentum'"
    assert not _outside(requests, base) and not problems, (_outside(requests, base), problems)


MOVE = """async ([root, control, target]) => {
  const input = root.querySelector(`[data-control="${control}"]`);
  const start = performance.now();
  if (input.type === 'checkbox') input.checked = !input.checked;
  else input.value = String(target);
  input.dispatchEvent(new Event('input', {bubbles: true}));
  // the picture and the readout change together, once the new state's picture is decoded
  while (root.dataset.shown !== root.dataset.state) await new Promise(r => setTimeout(r, 5));
  const image = root.querySelector('img.gdl-figure');
  return {ms: performance.now() - start, state: root.dataset.state, src: image.src,
          readout: (root.querySelector('pre.gdl-readout') || {}).textContent || '',
          width: image.naturalWidth, alt: image.alt, url: location.href};
}"""


def _start_frames(page) -> set[str]:
    """The addresses of every explorer's start picture on the page."""
    return set(
        page.eval_on_selector_all(".gdl-explorer img.gdl-figure", "is => is.map(i => i.src)")
    )


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=notebook_ids())
def test_every_explorer_moves_through_its_stored_frames(site, notebook):
    base, browser, report = site
    page, requests, problems = _open(browser, f"{base}/{notebook.stem}.html")
    chapter = next(c for c in report["chapters"] if c["name"] == notebook.stem)
    roots = page.query_selector_all(".gdl-explorer")
    assert len(roots) == len(chapter["explorers"]) >= 1, "an explorer lost its frames"
    assert page.query_selector("a.next-page, a.prev-page"), "no previous/next link"
    times = []
    for root in roots:
        root.scroll_into_view_if_needed()
        root.hover()
        page.wait_for_timeout(100)
    starts = _start_frames(page)
    fetched = {u for u in requests if "/frames/" in u}
    assert fetched <= starts, f"frames fetched before any control moved: {sorted(fetched - starts)}"
    for root in roots:
        assert "gdl-live" in root.get_attribute("class"), "the explorer's script did not start"
        assert root.query_selector("pre.gdl-readout").get_attribute("aria-live") == "polite"
        manifest = json.loads(root.query_selector("script.gdl-frames").text_content())
        for control in manifest["controls"]:
            before = root.get_attribute("data-state")
            last = len(control["labels"]) - 1
            target = 0 if control["initial"] == last else last
            moved = page.evaluate(MOVE, [root, control["name"], target])
            assert moved["state"] != before, f"{control['label']} did not change the state"
            frame = manifest["frames"][moved["state"]]
            assert (
                moved["src"]
                == f"{base}/{notebook.stem}.html".rsplit("/", 1)[0] + "/" + frame["src"]
            ), f"moving {control['label']} did not show the stored frame"
            assert moved["readout"] == frame["readout"], f"{control['label']}: readout differs"
            assert moved["width"] > 0, f"{frame['src']} did not decode"
            value = control["labels"][
                int(moved["state"].split(",")[manifest["controls"].index(control)])
            ]
            assert f"{control['label']} {value}" in moved["alt"], "the alt text does not follow"
            assert (
                f"{root.get_attribute('data-explorer')}={moved['state'].replace(',', '%2C')}"
                in moved["url"]
            )
            times.append(moved["ms"])
    assert not _outside(requests, base), _outside(requests, base)
    assert not problems, problems
    OUTPUT.mkdir(parents=True, exist_ok=True)
    (OUTPUT / f"{notebook.stem}.moves.json").write_text(
        json.dumps({"median_ms": statistics.median(times), "max_ms": max(times)})
    )


def test_a_move_fetches_only_the_states_a_next_move_can_reach(site):
    """One move fetches its own picture and, ahead, the states one control away: up to two
    steps along the control moved, one along the others; never the whole grid."""
    base, browser, _ = site
    page, requests, problems = _open(browser, f"{base}/{NOTEBOOKS[1].stem}.html")
    root = page.query_selector(".gdl-explorer")
    manifest = json.loads(root.query_selector("script.gdl-frames").text_content())
    control = max(manifest["controls"], key=lambda c: len(c["labels"]))
    axis = manifest["controls"].index(control)
    target = len(control["labels"]) // 2
    target += target == control["initial"]
    starts = _start_frames(page)  # before the move replaces the pictures
    moved = page.evaluate(MOVE, [root, control["name"], target])
    page.wait_for_load_state("networkidle")
    page.wait_for_function("r => r.dataset.warm === 'done'", arg=root)
    state = [int(v) for v in moved["state"].split(",")]
    reach = set()
    for key, frame in manifest["frames"].items():
        steps = [abs(int(v) - s) for v, s in zip(key.split(","), state, strict=True)]
        away = [i for i, d in enumerate(steps) if d]
        if not away or (len(away) == 1 and steps[away[0]] <= (2 if away[0] == axis else 1)):
            reach.add(frame["src"])
    name = lambda address: address.rsplit("/", 1)[-1]  # noqa: E731 - frames are named by content
    fetched = {name(u) for u in requests if "/frames/" in u}
    allowed = {name(src) for src in reach} | {name(s) for s in starts}
    assert fetched <= allowed, f"fetched beyond reach: {sorted(fetched - allowed)[:5]}"
    # the page's own start pictures load with the page (lazily, once in view), not ahead
    neighbours = {name(src) for src in reach} - {name(s) for s in starts}
    assert neighbours <= fetched, f"not fetched ahead: {sorted(neighbours - fetched)[:5]}"
    every = {name(f["src"]) for f in manifest["frames"].values()}
    assert len(allowed & every) < len(every), "the grid is too small for this test to fail"
    assert not problems, problems


def test_a_shared_address_opens_an_explorer_in_its_state(site):
    """The address a reader copies after moving a control opens the page in that state."""
    base, browser, _ = site
    page, _, problems = _open(browser, f"{base}/{NOTEBOOKS[1].stem}.html")
    root = page.query_selector(".gdl-explorer")
    manifest = json.loads(root.query_selector("script.gdl-frames").text_content())
    control = manifest["controls"][0]
    target = 0 if control["initial"] else len(control["labels"]) - 1
    moved = page.evaluate(MOVE, [root, control["name"], target])
    other, _, more = _open(browser, moved["url"])
    again = other.query_selector(".gdl-explorer")
    other.wait_for_function("r => r.dataset.shown === r.dataset.state", arg=again)
    assert again.get_attribute("data-state") == moved["state"]
    assert again.query_selector(f'[data-control="{control["name"]}"]').input_value() == str(target)
    assert again.query_selector("pre.gdl-readout").text_content() == moved["readout"]
    assert not problems and not more, problems + more


AXE = (
    Path(__file__).resolve().parents[2]
    / "build"
    / "npm"
    / "node_modules"
    / "axe-core"
    / "axe.min.js"
)


@pytest.mark.parametrize("page_name", ["index"] + [nb.stem for nb in NOTEBOOKS])
def test_no_serious_accessibility_violation(site, page_name):
    """axe-core (from npm, installed by `make browser-deps`) over WCAG 2.1 A and AA; every
    figure's alt text says what it shows, not where its file is; and at 1280 px every code
    cell shows its lines whole (no sideways scroll)."""
    if not AXE.exists():
        pytest.fail(f"axe-core is missing: run `make browser-deps` (it installs {AXE})")
    base, browser, _ = site
    page, _, _ = _open(browser, f"{base}/{page_name}.html")
    page.add_script_tag(path=str(AXE))
    violations = page.evaluate(
        """async () => (await axe.run(document, {runOnly: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}))
             .violations.filter(v => ['serious', 'critical'].includes(v.impact))
             .map(v => `${v.id}: ${v.nodes.length} (${v.nodes[0].target.join(' ')})`)"""
    )
    assert not violations, violations
    alts = page.eval_on_selector_all(
        "article img", "is => is.map(i => i.getAttribute('alt') || '')"
    )
    bad = [a for a in alts if not a.strip() or a.endswith((".png", ".svg"))]
    assert not bad, f"figures without alt text that says what they show: {bad[:3]}"
    hidden = page.eval_on_selector_all(
        ".cell_input div.highlight pre",
        "ps => ps.filter(p => p.scrollWidth > p.clientWidth + 1).map(p => p.textContent.split('\\n')"
        ".reduce((a, b) => (b.length > a.length ? b : a), ''))",
    )
    assert not hidden, f"{len(hidden)} code cells hide their ends at 1280 px: {hidden[:2]}"


def test_readable_on_a_phone_and_in_the_dark(site):
    """At 390 px code wraps instead of hiding its ends and the explorer's targets are at least
    24 px; in the dark theme every figure sits on a light card."""
    base, browser, _ = site
    page = browser.new_page(viewport={"width": 390, "height": 844}, color_scheme="dark")
    page.goto(f"{base}/{NOTEBOOKS[1].stem}.html", wait_until="networkidle")
    hidden = page.eval_on_selector_all(
        ".cell_input div.highlight pre",
        "ps => ps.filter(p => p.scrollWidth > p.clientWidth + 1).length",
    )
    assert hidden == 0, f"{hidden} code blocks run off a phone's screen"
    small = page.eval_on_selector_all(
        ".gdl-explorer input, .gdl-explorer select",
        "es => es.map(e => e.getBoundingClientRect()).filter(r => r.height < 24).length",
    )
    assert small == 0, f"{small} explorer controls are under 24 px tall"
    backgrounds = page.eval_on_selector_all(
        ".cell_output img, img.gdl-figure", "is => is.map(i => getComputedStyle(i).backgroundColor)"
    )
    assert backgrounds and set(backgrounds) == {"rgb(255, 255, 255)"}, set(backgrounds)
    page.wait_for_timeout(300)
    scaled = page.eval_on_selector_all(
        ".cell_output img, img.gdl-figure",
        "is => is.filter(i => i.complete && i.getBoundingClientRect().width < 0.99 * i.width).length",
    )
    assert scaled == 0, f"{scaled} figures shrunk on a phone: their text would fall under 9 px"
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 390, "the page is wider"
    page.add_script_tag(path=str(AXE))
    violations = page.evaluate(
        """async () => (await axe.run(document, {runOnly: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}))
             .violations.filter(v => ['serious', 'critical'].includes(v.impact)).map(v => v.id)"""
    )
    assert not violations, violations


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=notebook_ids())
def test_every_question_is_answered_on_its_page_as_the_notebook_checks_it(site, notebook):
    """Each number and word question has a form on its page. The page's check agrees with the
    course's: the answer (as typed) is correct, each catalogued mistake gets its own message,
    hints come one at a time and the solution only after them; each code question links to where
    it runs. The stored "not attempted" output is hidden."""
    from gdlessons.exercises import questions_in
    from gdlessons.exercises.code import CodeExercise

    base, browser, _ = site
    page, requests, problems = _open(browser, f"{base}/{notebook.stem}.html")
    data = json.loads(
        page.evaluate(
            "async () => JSON.stringify(await (await fetch(`questions/${location.pathname.split('/').pop().replace('.html', '')}.json`)).json())"
        )
    )
    page.wait_for_function(
        "n => document.body.dataset.quizzes === String(n)", arg=len(data["questions"])
    )
    # The first question as a reader answers it (typing, clicking); then every answer of every
    # question through the page's own buttons in one call (a round trip per click took 8 s).
    first = data["questions"][0]
    form = page.query_selector(f'form.gdl-quiz[data-question="{first["name"]}"]')
    field = form.query_selector("input, select")
    typed = str(first["answer"])
    field.select_option(typed) if first["kind"] == "choice" else field.fill(typed)
    form.query_selector("button:text('Check')").click()
    assert form.get_attribute("data-status") == "correct", form.text_content()
    tried = page.evaluate(ANSWER_EVERY_QUESTION, data["questions"])
    for q, got in zip(data["questions"], tried, strict=True):
        assert got, f"{q['name']} has no form on its page"
        answers = [(str(q["answer"]), "correct")] + [
            (str(w), "incorrect") for w, _ in q["mistakes"]
        ]
        for (typed, status), (status_shown, shown) in zip(answers, got["tries"], strict=True):
            assert status_shown == status, (q["name"], typed, shown)
            if status == "incorrect":
                message = dict((str(w), m) for w, m in q["mistakes"])[typed]
                assert message in shown, (q["name"], typed, shown)
        assert all(got["solution_disabled"]), f"{q['name']}: the solution before the hints"
        assert got["solution_enabled_after"], f"{q['name']}: no solution after the hints"
        assert q["solution"] in got["solution"], (q["name"], got["solution"])
    code = [q for q in questions_in(_exercises(notebook)) if isinstance(q, CodeExercise)]
    links = page.query_selector_all("p.gdl-code-question a")
    assert len(links) == 2 * len(code), "each code question links to Colab and Binder"
    # A kernel's verdicts are hidden: a question's "not attempted", and a your-turn check's
    # "goes on with ..." (the course's function, or the student's in this filled-in build).
    stale = page.evaluate(
        "() => [...document.querySelectorAll('.cell_output')].filter(o => !o.closest('[hidden]')"
        " && /not attempted|goes on with/.test(o.textContent)).length"
    )
    assert stale == 0, f"{stale} outputs still show a kernel's verdict on the page"
    assert not _outside(requests, base) and not problems, problems


# Every question's answer and catalogued mistakes typed into its field and checked, then its
# hints asked for one at a time before the solution; what the page said each time.
ANSWER_EVERY_QUESTION = """questions => questions.map(q => {
  const form = document.querySelector(`form.gdl-quiz[data-question="${q.name}"]`);
  if (!form) return null;
  const field = form.querySelector("input, select");
  const button = word => [...form.querySelectorAll("button")].find(b => b.textContent.startsWith(word));
  const typed = [String(q.answer), ...q.mistakes.map(([wrong]) => String(wrong))];
  const tries = typed.map(text => {
    field.value = text;
    field.dispatchEvent(new Event(field.tagName === "SELECT" ? "change" : "input", {bubbles: true}));
    button("Check").click();
    return [form.dataset.status, form.querySelector(".gdl-result").textContent];
  });
  const solution = button("Solution");
  const disabled = q.hints.map(() => { const d = solution.disabled; button("Hint").click(); return d; });
  const enabled = !solution.disabled;
  solution.click();
  return {tries, solution_disabled: disabled, solution_enabled_after: enabled,
          solution: form.querySelector(".gdl-solution").textContent};
})"""


def _exercises(notebook):
    import importlib

    return importlib.import_module(f"gdlessons.exercises.ch{notebook.stem}")
