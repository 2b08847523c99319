"""How long does a student wait in JupyterLab, from a key press on an explorer's slider to the new
picture decoded in the browser? The whole path: keyboard, websocket, kernel redraw, image decode.

benchmarks/widgets.py times the kernel's side alone. This one starts JupyterLab and headless
Chromium (Debian's) with the browser test's machinery (``tests/lab_server.py``,
``tests/browser/test_jupyterlab.py``: its notebook with one cell per registered explorer, at the
explorer tests' small data), runs the notebook and waits until every explorer's picture is drawn.
Then, explorer by explorer in turn (interleaved, so load bursts hit all alike), it focuses the
handle of the explorer's slider with the most values and presses ArrowRight, or ArrowLeft back
from its end (``--moves`` presses each, 150 ms apart). In the page, a keydown listener notes
``performance.now()``; a MutationObserver on the ``<img>``'s ``src`` notes the new picture's
arrival and then ``await img.decode()`` its decoding (key -> picture); another on the readout
under the picture notes its text change (key -> readout). A press whose picture comes out
byte-identical leaves ``src`` as it was (the kernel sends nothing): the kernel sends the picture
before the readout, so a readout change with no new ``src`` within a grace period counts the press
as "picture unchanged", left out of key -> picture; likewise a readout that did not change.
Target: median key -> picture <= 100 ms for every explorer.

    .venv/bin/python benchmarks/lab.py               # 30 presses per explorer, ~2 minutes
    .venv/bin/python benchmarks/lab.py --moves 5     # quick look
    .venv/bin/python benchmarks/lab.py --only ch03   # one chapter's explorers, not saved
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from importlib.metadata import version
from pathlib import Path

import report
from report import LoadWatch, percentile

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the browser test's machinery lives in tests/

from tests.browser.test_jupyterlab import (  # noqa: E402
    CHROMIUM,
    EVERY_EXPLORER,
    FLAGS,
    JS_PANEL,
    PlaywrightError,
    RunStalled,
    _every_explorer_notebook,
    _open_and_run_all,
)
from tests.lab_server import jupyterlab  # noqa: E402

TARGET_MEDIAN_MS = 100.0
PAUSE_MS = 150  # between presses, as a reader moves
GRACE_MS = 2000  # after the picture or readout changed, how long the other may take
TIMEOUT_MS = 30_000  # a press that changes nothing in this long is lost
MIN_SAMPLES = 30  # below this, a p95 is about the maximum

# Every slider of an explorer: its label, how many values it has and where its handle is.
SLIDERS = """root => [...root.querySelectorAll('.widget-slider')].map(s => {
  const ui = s.querySelector('.noUi-target').noUiSlider;
  const {min, max} = ui.options.range, step = ui.options.step;
  return {label: s.querySelector('.widget-label').textContent,
          values: Math.round((max - min) / step) + 1,
          at: Math.round((Number(ui.get(true)) - min) / step)};
})"""

# Focus the slider's handle and watch the explorer for the next key press.
ARM = """([root, slider]) => {
  const img = root.querySelector('.gdl-figure'), text = root.querySelector('.gdl-readout');
  const before = {src: img.src, text: text.textContent};
  const m = {pressed: null, src: null, picture: null, readout: null, error: null};
  document.addEventListener('keydown', () => { m.pressed = performance.now(); },
                            {capture: true, once: true});
  const pictures = new MutationObserver(() => {
    if (m.src !== null || img.src === before.src) return;
    m.src = performance.now();
    pictures.disconnect();
    img.decode().then(() => { m.picture = performance.now(); }, e => { m.error = String(e); });
  });
  pictures.observe(img, {attributes: true, attributeFilter: ['src']});
  const texts = new MutationObserver(() => {
    if (m.readout !== null || text.textContent === before.text) return;
    m.readout = performance.now();
    texts.disconnect();
  });
  texts.observe(text, {childList: true, subtree: true, characterData: true});
  m.stop = () => { pictures.disconnect(); texts.disconnect(); };
  window.__gdl = m;
  root.querySelectorAll('.widget-slider')[slider].querySelector('.noUi-handle').focus();
}"""

# Wait until the press's picture is decoded and its readout shown, or one of them plus a grace
# period (the other did not change), or the time-out; the times are from the keydown.
SHOWN = """async ([grace, timeout]) => {
  const m = window.__gdl, now = () => performance.now(), start = now();
  let first = null;
  while (now() - start < timeout && m.error === null) {
    if (m.picture !== null && m.readout !== null) break;
    const decoding = m.src !== null && m.picture === null;
    if ((m.picture !== null || m.readout !== null) && !decoding) {
      first = first ?? now();
      if (now() - first > grace) break;
    }
    await new Promise(r => setTimeout(r, 5));
  }
  m.stop();
  const since = t => (t === null || m.pressed === null ? null
                      : Math.round((t - m.pressed) * 10) / 10);
  return {picture: since(m.picture), src: since(m.src), readout: since(m.readout),
          error: m.error, pressed: m.pressed !== null};
}"""

DRAWN = """n => {
  const figures = [...document.querySelectorAll('.gdl-explorer .gdl-figure')];
  return figures.length === n && figures.every(
    img => img.src.startsWith('blob:') && img.complete && img.naturalWidth > 0);
}"""


def keys_for(values: int, at: int, moves: int) -> list[str]:
    """``moves`` presses that each move a slider of ``values`` values from position ``at``: to
    the right, back left from its end, and so on.

    >>> keys_for(3, 1, 5)
    ['ArrowRight', 'ArrowLeft', 'ArrowLeft', 'ArrowRight', 'ArrowRight']
    """
    keys, step = [], 1 if at < values - 1 else -1
    for _ in range(moves if values > 1 else 0):
        if not 0 <= at + step < values:
            step = -step
        at += step
        keys.append("ArrowRight" if step > 0 else "ArrowLeft")
    return keys


def notebook(only: str) -> tuple[dict, list[str]]:
    """The browser test's every-explorer notebook, cut to the explorers whose name starts with
    ``only``, and those names in cell order."""
    from gdlessons.chapters import all_explorers

    names = [name for name in all_explorers() if name.startswith(only)]
    if not names:
        raise SystemExit(f"--only {only!r} names no explorer of {sorted(all_explorers())}")
    nb = _every_explorer_notebook()
    setup, cells = nb["cells"][0], nb["cells"][1:]
    nb["cells"] = [setup, *(c for c in cells if any(repr(n) in c["source"] for n in names))]
    return nb, names


def open_explorers(browser, base: str, token: str, count: int):
    """A page with the notebook run and all ``count`` explorers' pictures drawn."""
    page = browser.new_page(viewport={"width": 1280, "height": 1600})
    url = f"{base}/lab/workspaces/lab-bench/tree/{EVERY_EXPLORER}?reset&token={token}"
    try:
        status = _open_and_run_all(page, url)
    except (RunStalled, PlaywrightError) as first:  # a restart can drop its websocket
        print(f"retrying once after: {first}")
        status = _open_and_run_all(page, url)
    if status["errors"]:
        raise RuntimeError(f"the notebook failed: {status['errors']}")
    page.wait_for_function(DRAWN, arg=count, timeout=120_000)
    return page


def press(page, root, slider: int, key: str) -> dict:
    """One key press on the explorer ``root``'s slider, timed in the page."""
    root.scroll_into_view_if_needed()
    page.evaluate(ARM, [root, slider])
    page.keyboard.press(key)
    return page.evaluate(SHOWN, [GRACE_MS, TIMEOUT_MS])


def measure(page, names: list[str], moves: int) -> tuple[dict, dict]:
    """Every explorer's presses, interleaved explorer by explorer; raw samples and errors."""
    roots = page.query_selector_all(".gdl-explorer")
    plans, samples, errors = {}, {}, {}
    for name, root in zip(names, roots):
        sliders = root.evaluate(SLIDERS)
        if not sliders:
            errors[name] = "no slider"
            continue
        k = max(range(len(sliders)), key=lambda i: sliders[i]["values"])
        plans[name] = (root, k, keys_for(sliders[k]["values"], sliders[k]["at"], moves))
        samples[name] = {"slider": sliders[k], "presses": []}
    for j in range(moves):
        for name, (root, k, keys) in plans.items():
            if name in errors or j >= len(keys):
                continue
            page.wait_for_timeout(PAUSE_MS)
            shown = press(page, root, k, keys[j])
            samples[name]["presses"].append({"key": keys[j], **shown})
            if shown["error"] or not shown["pressed"]:
                errors[name] = f"press {j + 1}: {shown}"
            elif shown["picture"] is None and shown["readout"] is None:
                errors[name] = f"press {j + 1}: nothing changed in {TIMEOUT_MS / 1000:g} s"
    return samples, errors


def summary(name: str, sample: dict) -> dict:
    """Median, p95 and max of key -> picture and key -> readout over the presses that changed
    them, the picture's decode time (src set -> decoded), and whether the target is met."""
    presses = sample["presses"]
    row = {"explorer": name, "slider": sample["slider"], "moves": len(presses)}
    for what in ("picture", "readout"):
        ms = [p[what] for p in presses if p[what] is not None]
        row[f"{what}_unchanged"] = len(presses) - len(ms)
        row[what] = (
            {"n": len(ms), "median_ms": statistics.median(ms), "p95_ms": percentile(ms, 95),
             "max_ms": max(ms)} if ms else None
        )  # fmt: skip
    decode = [p["picture"] - p["src"] for p in presses if p["picture"] is not None]
    row["decode_median_ms"] = statistics.median(decode) if decode else None
    row["meets_target"] = bool(row["picture"]) and row["picture"]["median_ms"] <= TARGET_MEDIAN_MS
    return row


def print_table(rows: list[dict], errors: dict, header_line: str) -> None:
    print(header_line)
    width = max(len("explorer"), *(len(r["explorer"]) for r in rows))
    head = (
        f"{'explorer':<{width}} {'slider (values)':<22} {'moves':>5} {'pic med':>8} {'p95':>7}"
        f" {'max':>7} {'decode':>7} {'text med':>8} {'p95':>7} {'max':>7} {'ok':>3}"
    )
    print(head)
    print("-" * len(head))

    def ms(stat, key):
        return f"{stat[key]:>5.0f}ms" if stat else f"{'-':>7}"

    for r in rows:
        p, t, s = r["picture"], r["readout"], r["slider"]
        notes = [f"{r['picture_unchanged']} picture unchanged"] if r["picture_unchanged"] else []
        notes += [f"{r['readout_unchanged']} readout unchanged"] if r["readout_unchanged"] else []
        notes += ["n < 30"] if p and p["n"] < MIN_SAMPLES else []
        slider = f"{s['label'][:16]} ({s['values']})"
        decode = f"{r['decode_median_ms']:>5.1f}ms" if r["decode_median_ms"] is not None else "-"
        print(
            f"{r['explorer']:<{width}} {slider:<22} {r['moves']:>5} {ms(p, 'median_ms'):>8}"
            f" {ms(p, 'p95_ms')} {ms(p, 'max_ms')} {decode:>7} {ms(t, 'median_ms'):>8}"
            f" {ms(t, 'p95_ms')} {ms(t, 'max_ms')} {'yes' if r['meets_target'] else 'NO':>3}"
            + (f"  ({', '.join(notes)})" if notes else "")
        )
    for name, message in errors.items():
        print(f"ERROR {name}: {message}")


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--moves", type=int, default=30, help="key presses per explorer")
    parser.add_argument(
        "--only", default="", help="only the explorers whose name starts with this (not saved)"
    )
    args = parser.parse_args(argv)
    from playwright.sync_api import sync_playwright

    started = time.perf_counter()
    with LoadWatch() as load, tempfile.TemporaryDirectory(prefix="gdl-lab-") as tmp:
        nb, names = notebook(args.only)
        root, work = Path(tmp, "course"), Path(tmp, "lab")
        root.mkdir()
        (root / EVERY_EXPLORER).write_text(json.dumps(nb))
        with jupyterlab(root, work, expose_app=True) as (base, token), sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS, headless=True)
            try:
                page = open_explorers(browser, base, token, len(names))
                ready_s = time.perf_counter() - started
                samples, errors = measure(page, names, args.moves)
                page.evaluate(f"() => {{ {JS_PANEL}.sessionContext.shutdown(); }}")
                versions = {"chromium": browser.version}
            finally:
                browser.close()
    elapsed = time.perf_counter() - started

    versions |= {name: version(name) for name in ("jupyterlab", "ipywidgets", "playwright")}
    rows = [summary(name, s) for name, s in samples.items() if name not in errors]
    met = len(rows) == len(names) and all(r["meets_target"] for r in rows)
    print_table(
        rows,
        errors,
        f"{len(names)} explorers in JupyterLab {versions['jupyterlab']}, Chromium {versions['chromium']}:"
        f" key press -> picture decoded / readout shown, up to {args.moves} presses each "
        f"({ready_s:.0f} s to open and run, {elapsed:.0f} s in all, load {load.summary()['mean']})",
    )
    print(f"target: median key -> picture <= {TARGET_MEDIAN_MS:g} ms for every explorer -> "
          f"{'met' if met else 'NOT met'}")  # fmt: skip
    result = {
        "moves": args.moves,
        "elapsed_s": round(elapsed, 1),
        "ready_s": round(ready_s, 1),
        "versions": versions,
        "targets": {"picture_median_ms": TARGET_MEDIAN_MS},
        "targets_met": met,
        "rows": rows,
        "errors": errors,
        "raw": samples,
    }
    if not args.only:  # a partial run does not replace the course's figures
        print(f"saved {report.save('lab', result, load)}")
    return result


if __name__ == "__main__":
    main()
