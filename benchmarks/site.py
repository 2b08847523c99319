"""What does the static site cost to build and weigh, and how fast does a slider move on it?

Builds the whole course's site as ``make book`` does (every chapter at its default parameters,
every explorer drawing its states; ``gdlessons.book.build``) into a temporary folder, or reads a
site built before (``--reuse build/book``). Then serves it with a plain static file server and
opens every chapter page in headless Chromium (Debian's), each in a fresh browser context (an
empty cache) on a link throttled to 20 Mbit/s with 40 ms latency, as a reader who has not hovered
anything first:

- the bytes of a first load: the page read top to bottom (scrolled through, so lazy pictures
  load), no control moved;
- key presses, as a keyboard reader moves: on each explorer, every control moved one step at a
  time (arrow keys; space for a checkbox), up to five presses each, 150 ms apart; each timed from
  the key press until the new state's picture and readout are shown together (``data-shown``).
  The explorer's first press is its first move, the others are later moves;
- the bytes after every control has been moved through its whole range.

Targets: all frames drawn in <= 5 minutes (the sum of every explorer's drawing time); first load
<= 1.5 MB and every control moved through its range <= 5 MB per chapter; the first move <= 150 ms
and later moves <= 50 ms (95th percentile).

    .venv/bin/python benchmarks/site.py                      # build and measure, ~5-12 minutes
    .venv/bin/python benchmarks/site.py --reuse build/book   # measure a site already built
"""

from __future__ import annotations

import argparse
import json
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from report import LoadWatch, percentile, save, spread

ROOT = Path(__file__).resolve().parents[1]
TARGET_FRAMES_S = 300.0
TARGET_FIRST_LOAD_MB = 1.5
TARGET_ALL_MOVED_MB = 5.0
TARGET_FIRST_MOVE_MS = 150.0
TARGET_MOVE_MS = 50.0
LINK = {"offline": False, "latency": 40, "downloadThroughput": 20e6 / 8,
        "uploadThroughput": 20e6 / 8}  # fmt: skip
CHROMIUM = "/usr/bin/chromium"
MOVES_PER_CONTROL = 5  # key presses per control
READER_PAUSE_MS = 150

MOVE = """async ([root, control, target]) => {
  const input = root.querySelector(`[data-control="${control}"]`);
  if (input.type === 'checkbox') input.checked = !input.checked;
  else input.value = String(target);
  input.dispatchEvent(new Event('input', {bubbles: true}));
  while (root.dataset.shown !== root.dataset.state) await new Promise(r => setTimeout(r, 2));
}"""

# Times a key press in the page itself, from its keydown to the moment the new state's picture and
# readout are shown together (an observer of the explorer's data-shown), so the round trips of the
# browser's automation are not counted.
ARM = """([root, control]) => {
  const input = root.querySelector(`[data-control="${control}"]`);
  input.focus();
  window.__pressed = null;
  window.__shown = null;
  input.addEventListener('keydown', () => (window.__pressed = performance.now()), {once: true});
  const seen = new MutationObserver(() => {
    if (window.__pressed !== null && root.dataset.shown === root.dataset.state) {
      window.__shown = performance.now();
      seen.disconnect();
    }
  });
  seen.observe(root, {attributes: true, attributeFilter: ['data-shown', 'data-state']});
}"""
SHOWN = """async () => {
  while (window.__shown === null) await new Promise(r => setTimeout(r, 1));
  return window.__shown - window.__pressed;
}"""


def keys_for(spec: dict) -> list[str]:
    """Up to five presses that move a control a step each, away from its start and back if it
    starts at its end.

    >>> keys_for({"kind": "slider", "labels": list("abc"), "initial": 2})
    ['ArrowLeft', 'ArrowLeft']
    >>> keys_for({"kind": "checkbox", "labels": ["off", "on"], "initial": 0})
    ['Space']
    """
    if spec["kind"] == "checkbox":
        return ["Space"]
    up, down = (
        ("ArrowDown", "ArrowUp") if spec["kind"] == "dropdown" else ("ArrowRight", "ArrowLeft")
    )
    last, at = len(spec["labels"]) - 1, spec["initial"]
    ahead = min(MOVES_PER_CONTROL, last - at)
    return [up] * ahead if ahead else [down] * min(MOVES_PER_CONTROL, at)


READ_THROUGH = """async () => {
  for (let y = 0; y < document.body.scrollHeight; y += window.innerHeight / 2) {
    window.scrollTo(0, y);
    await new Promise(r => setTimeout(r, 60));
  }
}"""


def measure_chapter(browser, url: str) -> dict:
    """One chapter page in a fresh context on the throttled link: bytes and move times."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    received = [0]
    cdp.on(
        "Network.loadingFinished",
        lambda e: received.__setitem__(0, received[0] + e["encodedDataLength"]),
    )
    cdp.send("Network.enable")
    cdp.send("Network.emulateNetworkConditions", LINK)
    page.goto(url, wait_until="load")
    page.evaluate(READ_THROUGH)
    page.wait_for_load_state("networkidle")
    first_load = received[0]
    first, later = [], []
    for root in page.query_selector_all(".gdl-explorer.gdl-live"):
        root.scroll_into_view_if_needed()
        manifest = json.loads(root.query_selector("script.gdl-frames").text_content())
        presses = 0
        for spec in manifest["controls"]:
            for key in keys_for(spec):
                page.evaluate(ARM, [root, spec["name"]])
                page.keyboard.press(key)
                (later if presses else first).append(page.evaluate(SHOWN))
                presses += 1
                page.wait_for_timeout(READER_PAUSE_MS)
        for spec in manifest["controls"]:  # every value of every control, one after another
            for target in range(len(spec["labels"])):
                page.evaluate(MOVE, [root, spec["name"], target])
    page.wait_for_load_state("networkidle")
    all_moved = received[0]
    context.close()
    return {"first_load_mb": first_load / 1e6, "all_moved_mb": all_moved / 1e6,
            "first_moves_ms": first, "later_moves_ms": later}  # fmt: skip


def measure_pages(html: Path, chapters: list[str]) -> dict[str, dict]:
    from playwright.sync_api import sync_playwright

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    # HTTP/1.1 with keep-alive, as a static host serves: python -m http.server speaks 1.0, a
    # new connection (one more round trip) per picture
    serve = ("import http.server as h, functools, sys; h.SimpleHTTPRequestHandler.protocol_version"
             " = 'HTTP/1.1'; h.ThreadingHTTPServer(('127.0.0.1', int(sys.argv[1])), functools.partial("
             "h.SimpleHTTPRequestHandler, directory=sys.argv[2])).serve_forever()")  # fmt: skip
    server = subprocess.Popen(
        [sys.executable, "-c", serve, str(port), str(html)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    time.sleep(1.0)
    measured = {}
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(
                executable_path=CHROMIUM, args=["--headless", "--no-sandbox", "--disable-gpu"]
            )
            for chapter in chapters:
                measured[chapter] = measure_chapter(
                    browser, f"http://127.0.0.1:{port}/{chapter}.html"
                )
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=10)
    return measured


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reuse", type=Path, help="a site built before (its folder)")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    start = time.perf_counter()
    with LoadWatch() as load:
        if args.reuse:
            out = args.reuse
            report = json.loads((out / "report.json").read_text())
        else:
            from gdlessons.book.build import build

            out = Path(tempfile.mkdtemp(prefix="gdl-site-"))
            notebooks = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
            report = build(out, notebooks, jobs=2)
        chapters = [c["name"] for c in report["chapters"]]
        pages = measure_pages(out / "html", chapters)
    frames_s = sum(e["seconds"] for c in report["chapters"] for e in c["explorers"])
    first = [t for m in pages.values() for t in m["first_moves_ms"]]
    later = [t for m in pages.values() for t in m["later_moves_ms"]]
    rows = []
    for c in report["chapters"]:
        m = pages[c["name"]]
        rows.append({
            "chapter": c["name"],
            "explorers": c["explorers"],
            "frames_mb": c["frame_bytes"] / 1e6,
            "frames_s": sum(e["seconds"] for e in c["explorers"]),
            "first_load_mb": m["first_load_mb"],
            "all_moved_mb": m["all_moved_mb"],
            "first_move_ms": max(m["first_moves_ms"]) if m["first_moves_ms"] else None,
            "later_moves": spread(m["later_moves_ms"]) if m["later_moves_ms"] else None,
            "later_p95_ms": percentile(m["later_moves_ms"], 95) if m["later_moves_ms"] else None,
        })  # fmt: skip
    largest = max(r["frames_mb"] for r in rows)
    heaviest_first = max(r["first_load_mb"] for r in rows)
    heaviest_all = max(r["all_moved_mb"] for r in rows)
    later_p95 = percentile(later, 95)
    result = {
        "targets": {
            "frames_s": TARGET_FRAMES_S,
            "first_load_mb": TARGET_FIRST_LOAD_MB,
            "all_moved_mb": TARGET_ALL_MOVED_MB,
            "first_move_ms": TARGET_FIRST_MOVE_MS,
            "move_p95_ms": TARGET_MOVE_MS,
            "link": "20 Mbit/s, 40 ms",
        },  # fmt: skip
        "totals": {
            "build_s": report["total_seconds"],
            "execute_s": report["execute_seconds"],
            "frames_s": frames_s,
            "largest_chapter_mb": largest,
            "first_load_mb": heaviest_first,
            "all_moved_mb": heaviest_all,
            "first_move_ms": max(first),
            "first_move_median_ms": percentile(first, 50),
            "move_p95_ms": later_p95,
            "move_median_ms": percentile(later, 50),
            "moves": len(later),
            "meets_targets": frames_s <= TARGET_FRAMES_S
            and heaviest_first <= TARGET_FIRST_LOAD_MB
            and heaviest_all <= TARGET_ALL_MOVED_MB
            and max(first) <= TARGET_FIRST_MOVE_MS
            and later_p95 <= TARGET_MOVE_MS,
        },
        "rows": rows,
        "elapsed_s": round(time.perf_counter() - start, 1),
        "raw_moves_ms": {
            k: {"first": m["first_moves_ms"], "later": m["later_moves_ms"]}
            for k, m in pages.items()
        },
    }
    save("site", result, load)
    print(json.dumps(result["totals"], indent=1))
    return result


if __name__ == "__main__":
    main()
